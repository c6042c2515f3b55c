"""The API reference is good enough for a client generator: openapi-python-client turns
GET /v1/openapi.json into a package that signs up, logs in and calls authenticated routes against
the dev server."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e.conftest import DevServer
from tests.e2e.test_http import unique

pytestmark = pytest.mark.e2e


# What the browser or a client sees does not depend on the DynamoDB behind the API: moto only.
@pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)
def test_a_generated_client_works(server: DevServer, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(requests.get(f"{server.url}/v1/openapi.json", timeout=10).json()))
    tools = Path(sys.executable).parent
    run = subprocess.run(
        [str(tools / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none"],
        cwd=tmp_path,
        env=os.environ | {"PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0 and "Warning" not in run.stdout, run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        client_module = importlib.import_module("latchkey_client")
        default = "latchkey_client.api.default."
        signup = importlib.import_module(default + "signup")
        get_user = importlib.import_module(default + "get_user")
        create_application = importlib.import_module(default + "create_application")
        models = importlib.import_module("latchkey_client.models")

        anonymous = client_module.Client(base_url=server.url)
        name = unique("gen")
        body = models.SignupBody(username=name, email=f"{name}@example.com", password=PASSWORD)
        created = signup.sync(client=anonymous, body=body)
        assert isinstance(created, models.SignupReply), created
        authed = client_module.AuthenticatedClient(base_url=server.url, token=created.token)
        me = get_user.sync(client=authed)
        assert isinstance(me, models.User) and me.username == name
        app = create_application.sync(client=authed, body=models.CreateApplicationBody(name="fleet"))
        assert isinstance(app, models.Application) and app.role == "owner"
        refused = get_user.sync_detailed(client=client_module.AuthenticatedClient(base_url=server.url, token="x"))
        assert refused.status_code == 401 and isinstance(refused.parsed, models.Error)
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.startswith("latchkey_client")]:
            del sys.modules[module]
