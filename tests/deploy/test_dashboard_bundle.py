"""The dashboard's files travel in the Lambda bundle, and it serves them from there."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

from tests.deploy.conftest import Package

DASHBOARD = Path(__file__).resolve().parents[2] / "chalicelib" / "dashboard"


def test_every_dashboard_file_is_in_the_bundle(dev: Package) -> None:
    names = set(dev.zip_names())
    files = sorted(path.name for path in DASHBOARD.iterdir() if path.is_file())
    assert "index.html" in files and "app.js" in files
    assert {f"chalicelib/dashboard/{name}" for name in files} <= names


def test_the_bundled_module_reads_the_bundled_files(dev: Package, tmp_path: Path) -> None:
    """Unzipped (as Lambda does), the dashboard module finds its files beside itself."""
    with zipfile.ZipFile(dev.zip_path) as bundle:
        bundle.extractall(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        # A fresh import of the bundle's own copy of the dashboard module, not the working tree's.
        spec = importlib.util.spec_from_file_location(
            "bundled_dashboard", tmp_path / "chalicelib" / "routes" / "dashboard.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert tmp_path / "chalicelib" / "dashboard" == module.ASSETS
        assets = module.assets()
    finally:
        sys.path.remove(str(tmp_path))
    assert assets["index.html"].startswith("<!doctype html>")
    assert set(assets) == {path.name for path in DASHBOARD.iterdir() if path.suffix in module.CONTENT_TYPES}
