"""Known vulnerabilities in the installed packages: pip-audit, read and judged.

Fails (exit 1) when pip-audit finds a known vulnerability in any installed package.
pip-audit asks PyPI's JSON API (``/pypi/<name>/<version>/json``) for each package; a
package it cannot look up is *skipped*, not passed. On a machine without that access
(offline, or behind a mirror that lacks the per-version pages) every package is
skipped and pip-audit still says "No known vulnerabilities found": this script says
instead that nothing could be audited, and why, without failing the build, since
that says nothing about the packages. Set ``ATELIER_REQUIRE_AUDIT=1`` to make an
unaudited package fail the build too (a CI runner with network should).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main() -> int:
    run = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--progress-spinner", "off", "--skip-editable",
         "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        found = json.loads(run.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(f"pip-audit did not run: {run.stderr.strip()[-2000:]}", file=sys.stderr)
        return 1
    vulnerable = [d for d in found if d.get("vulns")]
    skipped = [d for d in found if "skip_reason" in d]
    audited = len(found) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    print(f"pip-audit: {audited} packages audited, {len(vulnerable)} vulnerable, "
          f"{len(skipped)} could not be audited")  # fmt: skip
    if skipped:
        print(f"  not audited, e.g. {skipped[0]['skip_reason']}")
        if not audited:
            print("  WARNING: nothing could be audited: PyPI's vulnerability data is not "
                  "reachable from this machine.")  # fmt: skip
    if vulnerable:
        return 1
    if skipped and os.environ.get("ATELIER_REQUIRE_AUDIT") == "1":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
