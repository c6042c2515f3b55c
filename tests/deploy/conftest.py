"""The deployment artefacts, built once per test session: `chalice package` for each stage."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import deploy_template
import pytest


@dataclass(frozen=True)
class Package:
    stage: str
    template: dict[str, Any]
    zip_path: Path

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def zip_names(self) -> list[str]:
        with zipfile.ZipFile(self.zip_path) as bundle:
            return bundle.namelist()


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Package]:
    """dev and prod, packaged as `make package` does (chalice reuses its dependency cache for the second)."""
    root = tmp_path_factory.mktemp("dist")
    built = {}
    for stage in deploy_template.stages():
        sam = deploy_template.package(stage, root / stage)
        built[stage] = Package(stage, json.loads(sam.read_text()), sam.parent / "deployment.zip")
    return built


@pytest.fixture(scope="session")
def dev(packages: dict[str, Package]) -> Package:
    return packages["dev"]


@pytest.fixture(scope="session")
def prod(packages: dict[str, Package]) -> Package:
    return packages["prod"]
