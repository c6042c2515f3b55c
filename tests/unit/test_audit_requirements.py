"""`make security`'s reading of pip-audit's report: a vulnerability fails, "could not audit" is no pass."""

from __future__ import annotations

import pytest
from audit_requirements import summarize


def test_a_known_vulnerability_fails(capsys: pytest.CaptureFixture[str]) -> None:
    report = {
        "dependencies": [
            {"name": "pyjwt", "version": "2.15.1", "vulns": []},
            {"name": "segno", "version": "1.6.6", "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["1.6.7"]}]},
        ]
    }
    assert summarize(report) == 1
    assert "VULNERABLE segno 1.6.6: PYSEC-0000-1 (fixed in 1.6.7)" in capsys.readouterr().out


def test_packages_that_could_not_be_audited_are_a_skip_not_a_pass(capsys: pytest.CaptureFixture[str]) -> None:
    skipped = {"name": "pyotp", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    report = {"dependencies": [skipped]}
    assert summarize(report) == 0
    out = capsys.readouterr().out
    assert "SKIPPED, not a pass: 1 of 1 packages could not be audited" in out and "pyotp" in out


def test_a_clean_audit_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert summarize({"dependencies": [{"name": "pyotp", "version": "2.12.1", "vulns": []}]}) == 0
    assert "1 packages audited, no known vulnerabilities" in capsys.readouterr().out
