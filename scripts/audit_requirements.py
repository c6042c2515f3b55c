"""`make security`: pip-audit over the runtime requirements, telling "could not audit" from "clean".

pip-audit answers "No known vulnerabilities found" and exits 0 even when it could look up none of
the packages (a vulnerability service that is unreachable, or that does not know them): it only
lists them as skipped. This wrapper reads its JSON report and says which case it is:

- a known vulnerability in any package: exit 1, with the package, the advisory and the fix;
- some or all packages could not be audited: a loud SKIPPED line naming them, exit 0, because
  this machine cannot reach the data (it is not a pass, and the output says so);
- every package audited and none vulnerable: exit 0.

Usage: audit_requirements.py requirements.txt
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

UNREACHABLE_HINTS = ("ConnectionError", "Max retries", "Name or service not known", "timed out", "ServiceError")


def main(requirements: str) -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "audit.json"
        command = [str(pip_audit), "-r", requirements, "-f", "json", "-o", str(report), "--progress-spinner", "off"]
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        if not report.exists():
            stderr = run.stderr.strip()
            if any(hint in stderr for hint in UNREACHABLE_HINTS):
                reason = stderr.splitlines()[-1]
                print(f"pip-audit: SKIPPED, not a pass: the vulnerability data is unreachable ({reason})")
                return 0
            print(stderr, file=sys.stderr)
            print(f"pip-audit: FAILED to run (exit {run.returncode})")
            return 1
        return summarize(json.loads(report.read_text()))


def summarize(data: dict) -> int:
    """Print what pip-audit's JSON report says; 1 if any package has a known vulnerability."""
    dependencies = data.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            print(f"pip-audit: VULNERABLE {dep['name']} {dep.get('version', '')}: {vuln['id']} (fixed in {fixes})")
    if vulnerable:
        return 1
    audited = len(dependencies) - len(skipped)
    if skipped:
        names = ", ".join(f"{d['name']}" for d in skipped)
        print(
            f"pip-audit: SKIPPED, not a pass: {len(skipped)} of {len(dependencies)} packages could not be audited "
            f"(the vulnerability service did not know them or could not be reached): {names}"
        )
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        print(f"pip-audit: reason given: {'; '.join(reasons)}")
    print(f"pip-audit: {audited} packages audited, no known vulnerabilities among them")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt"))
