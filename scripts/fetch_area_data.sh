#!/usr/bin/env bash
# Re-fetch the Kemendagri area codes (npm package idn-area-data) into participation/data/.
# Run by hand when upgrading; the app itself never fetches anything at run time.
#   scripts/fetch_area_data.sh 4.0.1
# Then set DATA_VERSION in participation/places.py and the version in participation/data/README.md,
# run `flask match-places` to see which stored places the new list no longer knows, and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/fetch_area_data.sh VERSION (see npm view idn-area-data versions)}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v npm >/dev/null; then
  (cd "$tmp" && npm pack "idn-area-data@$version" >/dev/null)
else  # the registry's tarball URL, for a machine without Node
  curl -fsSL -o "$tmp/idn-area-data-$version.tgz" "https://registry.npmjs.org/idn-area-data/-/idn-area-data-$version.tgz"
fi
tar xzf "$tmp/idn-area-data-$version.tgz" -C "$tmp"
dest="participation/data/idn-area-data-$version"
mkdir -p "$dest"
for name in regencies districts villages; do
  gzip -9 -n -c "$tmp/package/data/$name.csv" > "$dest/$name.csv.gz"
done
cp "$tmp/package/data/LICENSE.md" "$dest/LICENSE-ODbL.md"
cp "$tmp/package/LICENSE" "$dest/LICENSE-MIT"
echo "idn-area-data $version -> $dest"
sha256sum "$tmp"/package/data/{regencies,districts,villages}.csv
