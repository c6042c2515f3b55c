"""The built deployment.zip: small, built for Lambda's platform, and it serves the API on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import deploy_template
import lambda_env
import pytest

from tests.deploy.conftest import Package

SMOKE = Path(__file__).with_name("bundle_smoke.py")
AUTHENTICATOR = Path(__file__).parent.parent / "passkey_authenticator.py"
MB = 1024 * 1024
# The bundle ships its bytecode (compiling it at every cold start cost more than unzipping it), which
# with the second stage's code took it past 1 MB; passkeys' webauthn brings cryptography (4.8 MB
# zipped, its Rust core) and cbor2 (0.5 MB), which took it to 7.8 MB. Lambda's own limit is 50 MB zipped. Nothing of
# webauthn or cryptography is imported at a cold start (test_cold_start_imports_no_passkey_library).
BUNDLE_LIMIT = 8 * MB


def test_the_bundle_is_under_eight_megabytes(dev: Package) -> None:
    assert dev.zip_path.stat().st_size < BUNDLE_LIMIT


def test_the_bundle_holds_the_app_and_its_requirements_but_no_boto3_scripts_or_tests(dev: Package) -> None:
    tops = {name.split("/")[0] for name in dev.zip_names()}
    assert {"app.py", "chalicelib", "chalice", "jwt", "pyotp", "segno", "argon2", "_argon2_cffi_bindings"} <= tops
    assert not tops & {"boto3", "botocore", "scripts", "tests", "moto"}
    # The clients (clients/python: the SDK, the CLI, their httpx, click, rich and keyring) are never deployed.
    assert not tops & {"clients", "latchkey", "httpx", "click", "rich", "keyring"}


def test_argon2s_compiled_bindings_are_manylinux_x86_64_wheels_for_python_311(dev: Package) -> None:
    names = dev.zip_names()
    with zipfile.ZipFile(dev.zip_path) as bundle:
        for dist in ("argon2_cffi_bindings", "cffi"):
            [wheel] = [n for n in names if n.startswith(f"{dist}-") and n.endswith(".dist-info/WHEEL")]
            lines = bundle.read(wheel).decode().splitlines()
            tags = [line.split(": ", 1)[1].split("-") for line in lines if line.startswith("Tag:")]
            assert tags, wheel
            for _python, abi, platform in tags:
                assert abi in ("cp311", "abi3") and platform.startswith("manylinux"), (wheel, tags)
                assert platform.endswith("_x86_64"), (wheel, tags)
        binaries = [n for n in names if n.endswith(".so")]
        assert any(n.startswith("_argon2_cffi_bindings/") for n in binaries)
        for name in binaries:
            assert bundle.read(name)[:4] == b"\x7fELF"


@pytest.fixture(scope="module")
def smoke_report(dev: Package, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    bundle = tmp_path_factory.mktemp("bundle")
    assert not any(bundle.iterdir())
    shipped = lambda_env.unpack(dev.zip_path, bundle)
    # boto3, botocore and moto (the test's AWS), and what they need, minus what the bundle ships.
    libs = lambda_env.link_libraries(
        tmp_path_factory.mktemp("aws-libs"), ["boto3", "moto", "py-partiql-parser"], exclude=shipped
    )
    function_env = dev.template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    env = {k: v for k, v in function_env.items() if isinstance(v, str)}  # JWT_SECRET_ARN is the stack's Ref
    env |= {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "JWT_SECRET_NAME": deploy_template.secret_name("dev"),
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(SMOKE), str(bundle), str(libs), str(AUTHENTICATOR)],
        capture_output=True,
        text=True,
        env=env,
        cwd=bundle,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    report["bundle"], report["libs"] = str(bundle), str(libs)
    return report


def test_the_bundle_serves_signup_login_and_the_user_through_the_lambda_handler(smoke_report: dict[str, Any]) -> None:
    signup, login, wrong, user = smoke_report["replies"]
    assert signup["status"] == 201, signup
    assert login["status"] == 200 and login["body"]["token"], login
    assert wrong["status"] == 401, wrong
    assert user["status"] == 200, user
    assert user["body"]["username"] == "alice" and user["body"]["email"] == "alice@example.com"
    assert user["headers"]["Cache-Control"] == "no-store"


def test_the_bundle_registers_a_passkey_and_signs_in_with_it(smoke_report: dict[str, Any]) -> None:
    """webauthn's cbor2 is a compiled module chalice once left out of the bundle: passkeys failed."""
    assert smoke_report["passkey"] == [200, 201, 200, 200]


def test_cbor2s_compiled_module_is_in_the_bundle_and_needs_no_newer_glibc_than_lambdas(dev: Package) -> None:
    """Its wheel is tagged manylinux_2_28; its one 2.28 need is weak (package() refuses the rest)."""
    name = "cbor2/_cbor2.cpython-311-x86_64-linux-gnu.so"
    with zipfile.ZipFile(dev.zip_path) as bundle:
        assert deploy_template.glibc_needed(bundle.read(name)) <= deploy_template.LAMBDA_GLIBC


def test_the_glibc_check_finds_a_module_that_needs_a_newer_glibc(tmp_path: Path) -> None:
    """This machine's own libraries are built for its glibc; one needing more than 2.26 must be found."""
    newer = None
    for library in sorted(Path("/usr/lib/x86_64-linux-gnu").glob("lib*.so*")):
        if library.is_file() and deploy_template.glibc_needed(library.read_bytes()) > deploy_template.LAMBDA_GLIBC:
            newer = library
            break
    if newer is None:
        pytest.skip("no library on this machine needs a glibc newer than 2.26")
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as zipped:
        zipped.write(newer, f"somelib/{newer.name}")
    [problem] = deploy_template.check_glibc(bundle)
    assert problem.startswith(f"somelib/{newer.name} needs glibc 2.")


def test_the_scheduled_purge_runs_from_the_bundle(smoke_report: dict[str, Any]) -> None:
    assert set(smoke_report["purge"]) == {t.name for t in deploy_template.TABLES if t.expires}
    assert all(name.startswith("latchkey-dev-") for name in smoke_report["tables"])


def test_the_app_and_its_libraries_came_from_the_bundle_alone(smoke_report: dict[str, Any]) -> None:
    bundle = smoke_report["bundle"]
    for module, origin in smoke_report["origins"].items():
        assert origin.startswith(bundle + os.sep), (module, origin)
    project = str(deploy_template.ROOT)
    assert not [p for p in smoke_report["sys_path"] if p.startswith(project) or "site-packages" in p]


def test_the_bundle_carries_bytecode_that_loads_from_a_read_only_copy(
    dev: Package, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Lambda's /var/task is read-only: without bytecode in the bundle, every cold start compiles."""
    import importlib.util
    import stat

    names = set(dev.zip_names())
    modules = [
        n
        for n in names
        if n.startswith("chalicelib/") and n.endswith(".py") and not n.startswith(deploy_template.NO_BYTECODE)
    ]
    assert modules and [m for m in modules if importlib.util.cache_from_source(m) not in names] == []
    with zipfile.ZipFile(dev.zip_path) as bundle:
        header = bundle.read(importlib.util.cache_from_source("chalicelib/config.py"))[:8]
    assert header[:4] == importlib.util.MAGIC_NUMBER  # this interpreter's, Python 3.11's
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: no source times

    copy = tmp_path_factory.mktemp("read-only-bundle")
    shipped = lambda_env.unpack(dev.zip_path, copy)
    libs = lambda_env.link_libraries(tmp_path_factory.mktemp("boto3"), ["boto3"], exclude=shipped)
    paths = [copy, *copy.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        loaded = subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                "-B",
                "-v",
                "-c",
                f"import sys; sys.path[:0] = [{str(copy)!r}, {str(libs)!r}]; import app",
            ],
            capture_output=True,
            text=True,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"},
            check=True,
        )
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    prefix = "# code object from "
    from_bytecode = {line[len(prefix) :].strip("'") for line in loaded.stderr.splitlines() if line.startswith(prefix)}
    chalicelib = [p for p in from_bytecode if f"{copy}/chalicelib/" in p]
    assert chalicelib and all(p.endswith(".cpython-311.pyc") for p in chalicelib)
    assert f"{copy}/chalicelib/__pycache__/web.cpython-311.pyc" in from_bytecode
    assert not any(copy.rglob("*.pyc.*"))  # nothing was written beside the bundle's own
