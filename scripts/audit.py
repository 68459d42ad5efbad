"""`make audit`: pip-audit over the pinned requirements, tolerant of having no network.

Exit status: 0 when no known vulnerability was found, and also when the advisory database could
not be reached or answered for none of the packages (then it says so plainly: nothing was
audited); 1 when a pinned package has a known vulnerability; pip-audit's own status for any
other failure. PIP_AUDIT names the pip-audit command (default: the one beside this Python).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
# What requests, urllib3 and the resolver say when the advisory service is out of reach.
NETWORK_ERRORS = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries exceeded", "NameResolutionError",
                  "Temporary failure in name resolution", "Name or service not known", "Network is unreachable",
                  "Connection refused", "ProxyError", "SSLError", "timed out")
NOT_FOUND = "Dependency not found on PyPI"


def pip_audit_command() -> list[str]:
    if os.environ.get("PIP_AUDIT"):
        return os.environ["PIP_AUDIT"].split()
    return [str(Path(sys.executable).with_name("pip-audit"))]


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        # Every line is pinned: no resolution, no pip, nothing installed; only the advisories are fetched.
        command = [*pip_audit_command(), "--no-deps", "--disable-pip", "--progress-spinner", "off",
                   "--format", "json", "--output", str(report)]
        for name in REQUIREMENTS:
            command += ["--requirement", str(ROOT / name)]
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        data = json.loads(report.read_text()) if report.exists() and report.stat().st_size else None
    return judge(result.returncode, data, result.stderr)


def judge(returncode: int, data: dict | None, stderr: str) -> int:
    """Print what the audit found and return the exit status (see the module docstring)."""
    dependencies = (data or {}).get("dependencies", [])
    vulnerable = [item for item in dependencies if item.get("vulns")]
    if vulnerable:
        print(f"make audit: {len(vulnerable)} pinned package(s) with known vulnerabilities:")
        for item in vulnerable:
            for vuln in item["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
                print(f"  {item['name']} {item.get('version', '?')}: {vuln['id']} (fixed in: {fixes})")
        print("Upgrade the pins in requirements*.txt (a patch release where there is one) and run the tests.")
        return 1
    if data is None:
        if any(marker in stderr for marker in NETWORK_ERRORS):
            last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
            print("make audit: the advisory database (PyPI's vulnerability service) cannot be reached from here, "
                  "so NOTHING WAS AUDITED; run it again with network access.")
            print(f"  ({last[:300]})")
            return 0
        sys.stderr.write(stderr)
        print(f"make audit: pip-audit failed (exit status {returncode}); see above.")
        return returncode or 1
    audited = [item for item in dependencies if "skip_reason" not in item]
    skipped = [item for item in dependencies if "skip_reason" in item]
    if not audited:
        not_found = sum(NOT_FOUND in item["skip_reason"] for item in skipped)
        print(f"make audit: the advisory database answered for none of the {len(skipped)} pinned packages "
              f"({not_found} 'not found'): it is out of reach or not PyPI's, so NOTHING WAS AUDITED; "
              "run it again with access to pypi.org.")
        return 0
    for item in skipped:
        print(f"  not audited: {item['name']}: {item['skip_reason']}")
    print(f"make audit: no known vulnerabilities in {len(audited)} pinned packages"
          + (f" ({len(skipped)} could not be audited, listed above)." if skipped else "."))
    return returncode if returncode not in (0, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
