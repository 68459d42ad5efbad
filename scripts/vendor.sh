#!/usr/bin/env bash
# Re-vendor the front-end libraries from the npm registry into static/vendor/.
# Run by hand when upgrading; the app itself never fetches anything at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-5.3.9}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "bootstrap@$version" >/dev/null && tar xzf "bootstrap-$version.tgz")
dest="static/vendor/bootstrap-$version"
mkdir -p "$dest/css" "$dest/js"
cp "$tmp/package/dist/css/bootstrap.min.css" "$tmp/package/dist/css/bootstrap.min.css.map" "$dest/css/"
cp "$tmp/package/dist/js/bootstrap.bundle.min.js" "$tmp/package/dist/js/bootstrap.bundle.min.js.map" "$dest/js/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "bootstrap $version: $(npm view "bootstrap@$version" dist.integrity)"
echo "Update static/vendor/VERSIONS and the paths in templates/base.html."
