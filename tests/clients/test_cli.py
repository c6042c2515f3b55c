"""The `latchkey` command as a person runs it: log in (with and without two-factor), keys, apps, sharing."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import latchkey
import pyotp
import pytest
from latchkey import Client

from tests.clients.conftest import ON_MOTO, Cli, CliFactory, MailServer, free_port_url, signed_up, unique_name
from tests.clients.terminal import run_in_terminal
from tests.conftest import PASSWORD

pytestmark = ON_MOTO


def with_two_factor(url: str) -> tuple[str, pyotp.TOTP]:
    """A new account with two-factor on (set up as an authenticator app would), and its authenticator."""
    name = unique_name("tfa")
    with Client(url, "") as client:
        client.signup(name, f"{name}@example.com", PASSWORD)
        setup = client.setup_two_factor()
        authenticator = pyotp.TOTP(setup.secret)
        assert len(client.enable_two_factor(authenticator.now())) == 10
    return name, authenticator


def next_code(authenticator: pyotp.TOTP) -> str:
    """The next step's code: later than the one that enabled two-factor, accepted one step early."""
    return authenticator.at(time.time() + 30)


def log_in(cli: Cli, name: str, password: str = PASSWORD, *extra: str) -> None:
    done = cli("login", "--username", name, "--password-stdin", *extra, input=password + "\n")
    assert done.code == 0, done.stderr


def stored_token(cli: Cli) -> str:
    servers = json.loads(cli.credentials_file.read_text())["servers"]
    (record,) = servers.values()
    return str(record["token"])


def bearer(url: str, credential: str, path: str = "/v1/user") -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {credential}"}, timeout=10)


def files_containing(root: Path, text: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


# ---- logging in ----


def test_login_in_a_terminal_asks_for_the_name_and_the_password_without_echoing_it(
    cli: Cli, clients_server: MailServer
) -> None:
    name, _ = signed_up(clients_server.url)
    screen = run_in_terminal(cli.argv("login"), cli.env, [("Username or email: ", name), ("Password: ", PASSWORD)])
    assert screen.code == 0, screen.text
    assert name in screen.text  # the name is echoed as typed...
    assert PASSWORD not in screen.text  # ...the password is not
    assert f"Logged in to {clients_server.url} as {name}." in screen.text
    assert f"Session token stored in {cli.credentials_file}" in screen.text  # where it went, as gh says

    whoami = cli("whoami")
    assert whoami.code == 0 and whoami.stdout.startswith(f"{name} <{name}@example.com>")
    assert "Two-factor authentication: off" in whoami.stdout
    assert bearer(clients_server.url, stored_token(cli)).json()["username"] == name


def test_the_stored_credential_is_only_its_users_and_holds_no_password(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    log_in(cli, name)
    mode = stat.S_IMODE(cli.credentials_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert stat.S_IMODE(cli.credentials_file.parent.stat().st_mode) == 0o700
    assert files_containing(cli.home, PASSWORD) == []  # the password is in no file of the home
    assert [p.name for p in cli.credentials_file.parent.iterdir()] == ["credentials.json"]  # no temporary left
    # A second login rewrites the file: still 0600.
    log_in(cli, name)
    assert stat.S_IMODE(cli.credentials_file.stat().st_mode) == 0o600


def test_a_password_is_never_taken_from_the_arguments(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    refused = cli("login", "--username", name, "--password", PASSWORD)
    assert refused.code == 2 and "No such option" in refused.stderr
    assert not cli.credentials_file.exists()
    help_text = cli("login", "--help").stdout
    assert "--password-stdin" in help_text and "--password " not in help_text
    # Without a terminal and without --password-stdin it says how, instead of reading the arguments or echoing.
    no_terminal = cli("login", "--username", name)
    assert no_terminal.code == 2 and "--password-stdin" in no_terminal.stderr
    # --password-stdin needs the name (standard input holds the password).
    assert cli("login", "--password-stdin", input=PASSWORD + "\n").code == 2
    log_in(cli, name)


def test_login_with_two_factor_takes_the_code_from_the_option(cli: Cli, clients_server: MailServer) -> None:
    name, authenticator = with_two_factor(clients_server.url)
    without_code = cli("login", "--username", name, "--password-stdin", input=PASSWORD + "\n")
    assert without_code.code == 2 and "--code" in without_code.stderr
    assert not cli.credentials_file.exists()

    log_in(cli, name, PASSWORD, "--code", next_code(authenticator))
    whoami = cli("whoami")
    assert whoami.code == 0 and "Two-factor authentication: on" in whoami.stdout
    status = cli("2fa", "status")
    assert status.code == 0 and "on; 10 recovery codes remain" in status.stdout
    assert cli("2fa", "status", "--json").json() == {"enabled": True, "pending": False, "recovery_codes_remaining": 10}


def test_login_with_two_factor_asks_for_the_code_again_when_it_is_wrong(cli: Cli, clients_server: MailServer) -> None:
    name, authenticator = with_two_factor(clients_server.url)
    wrong = "000000" if authenticator.now() != "000000" else "111111"
    screen = run_in_terminal(
        cli.argv("login"),
        cli.env,
        [
            ("Username or email: ", name),
            ("Password: ", PASSWORD),
            ("Authenticator code (or a recovery code): ", wrong),
            ("Authenticator code (or a recovery code): ", next_code(authenticator)),
        ],
    )
    assert screen.code == 0, screen.text
    assert "That code was not accepted" in screen.text and f"as {name}." in screen.text
    assert cli("whoami").code == 0


def test_a_recovery_code_also_logs_in(cli: Cli, clients_server: MailServer) -> None:
    name = unique_name("rc")
    with Client(clients_server.url, "") as client:
        client.signup(name, f"{name}@example.com", PASSWORD)
        authenticator = pyotp.TOTP(client.setup_two_factor().secret)
        recovery = client.enable_two_factor(authenticator.now())
    log_in(cli, name, PASSWORD, "--code", recovery[0])
    assert "9 recovery codes remain" in cli("2fa", "status").stdout
    # Spent: the same recovery code fails the next time (exit 1, the API's Code on stderr).
    again = cli("login", "--username", name, "--password-stdin", "--code", recovery[0], input=PASSWORD + "\n")
    assert again.code == 1 and "InvalidCredentialsError" in again.stderr


def test_login_with_a_token_stores_it_as_it_is(cli: Cli, clients_server: MailServer) -> None:
    name, token = signed_up(clients_server.url)
    with Client(clients_server.url, token) as client:
        key = client.create_api_key("for the cli").key
    stored = cli("login", "--token", "-", input=key + "\n")
    assert stored.code == 0, stored.stderr
    assert "API key stored in" in stored.stdout
    whoami = cli("whoami")
    assert f"{name} <" in whoami.stdout and "Credential: API key" in whoami.stdout
    # An API key may not manage keys: the error says what to do instead.
    refused = cli("api-key", "generate", "more")
    assert refused.code == 1
    assert "ForbiddenError" in refused.stderr and "run `latchkey login` with your password" in refused.stderr
    assert cli("api-key", "list").code == 0  # but it may list them

    assert cli("login", "--token", token).code == 0
    assert "Credential: session token" in cli("whoami").stdout
    bogus = cli("login", "--token", "lk_not_a_real_key")
    assert bogus.code == 1 and "UnauthorizedError" in bogus.stderr


# ---- API keys ----


def test_generate_list_use_and_revoke_api_keys(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    log_in(cli, name)

    generated = cli("api-key", "generate", "ci", "--description", "deploys", "--expires", "2031-01-01")
    assert generated.code == 0, generated.stderr
    key = generated.stdout.strip()
    assert generated.stdout == key + "\n" and key.startswith("lk_")  # the key alone on stdout: KEY=$(latchkey ...)
    warnings = [line for line in generated.stderr.splitlines() if "will not be shown again" in line]
    assert len(warnings) == 1
    assert bearer(clients_server.url, key).json()["username"] == name  # it works as a bearer, with any client

    listed = cli("api-key", "list")
    assert listed.code == 0
    row = next(line for line in listed.stdout.splitlines() if " ci " in line)
    assert key[:8] in row and "deploys" in row and "2031-01-01T00:00:00Z" in row  # piped: exact times
    assert key not in listed.stdout
    as_json = cli("api-key", "list", "--json").json()
    assert isinstance(as_json, dict) and as_json["next_cursor"] is None
    (ci,) = as_json["api_keys"]
    assert ci["name"] == "ci" and ci["expires_at"] == "2031-01-01T00:00:00Z" and key not in json.dumps(as_json)

    others = [cli("api-key", "generate", f"k{i}", "--json").json() for i in range(3)]
    ids = [o["id"] for o in others]
    revoked = cli("api-key", "revoke", f"{ids[0]},{ids[1]}")
    assert revoked.code == 0 and revoked.stdout.strip() == f"Revoked 2 API keys: {ids[0]}, {ids[1]}"
    assert bearer(clients_server.url, others[0]["key"]).status_code == 401
    assert bearer(clients_server.url, others[2]["key"]).status_code == 200

    partly = cli("api-key", "revoke", f"{ids[2]},no-such-key", ci["id"])
    assert partly.code == 1
    assert "NotFoundError" in partly.stderr and "no-such-key" in partly.stderr
    assert f"Revoked 2 API keys: {ids[2]}, {ci['id']}" in partly.stdout  # the others went all the same
    assert bearer(clients_server.url, key).status_code == 401
    assert "No API keys" in cli("api-key", "list").stdout


def test_generate_a_scoped_key_and_rotate_keys(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    log_in(cli, name)
    fleet = cli("app", "create", "fleet", "--json").json()
    other = cli("app", "create", "other", "--json").json()
    scoped = cli("api-key", "generate", "fleet-ci", "--app", fleet["id"], "--permission", "read", "--json")
    assert scoped.code == 0, scoped.stderr
    created = scoped.json()
    assert created["scope"] == {"applications": [fleet["id"]], "permissions": ["read"]}
    key = created["key"]
    assert bearer(clients_server.url, key, f"/v1/applications/{fleet['id']}").json()["permissions"] == ["read"]
    assert bearer(clients_server.url, key, f"/v1/applications/{other['id']}").status_code == 404
    row = next(line for line in cli("api-key", "list").stdout.splitlines() if "fleet-ci" in line)
    assert f"apps: {fleet['id']}" in row and "read" in row

    rotated = cli("api-key", "rotate", created["id"], "--grace", "600")
    assert rotated.code == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key.startswith("lk_") and new_key != key and "will not be shown again" in rotated.stderr
    assert bearer(clients_server.url, key).status_code == 200  # the old one works through the grace period
    assert bearer(clients_server.url, new_key, f"/v1/applications/{fleet['id']}").json()["permissions"] == ["read"]
    listed = cli("api-key", "list", "--json").json()["api_keys"]
    assert sorted(k["name"] for k in listed) == ["fleet-ci", "fleet-ci"]

    plain = cli("api-key", "generate", "plain", "--json").json()
    now = cli("api-key", "rotate", plain["id"], "--json")
    assert now.code == 0 and now.json()["name"] == "plain"
    assert bearer(clients_server.url, plain["key"]).status_code == 401  # no grace: gone at once
    assert cli("api-key", "rotate", "no-such-key").code == 1


# ---- applications and sharing ----


def test_create_an_application_and_share_it(cli_for: CliFactory, clients_server: MailServer) -> None:
    alice, bob = cli_for(), cli_for()
    owner, _ = signed_up(clients_server.url, "owner")
    helper, helper_token = signed_up(clients_server.url, "helper")
    log_in(alice, owner)
    assert bob("login", "--token", helper_token).code == 0

    created = alice("app", "create", "fleet", "--description", "Our devices")
    assert created.code == 0 and created.stdout.startswith("Created application fleet (id ")
    app_id = created.stdout.split("(id ")[1].rstrip(").\n")
    apps = alice("apps").stdout
    assert app_id in apps and "Our devices" in apps and " owner " in apps

    shared = alice("app", "share", app_id, helper, "--role", "developer")
    assert shared.code == 0 and shared.stdout.strip() == f"Shared application {app_id} with {helper} as developer."
    changed = alice("app", "share", app_id, helper, "--role", "operator")
    assert changed.code == 0 and changed.stdout.strip() == f"{helper} is now operator on application {app_id}."
    collaborators = alice("app", "collaborators", app_id)
    assert helper in collaborators.stdout and "operator" in collaborators.stdout
    assert alice("app", "collaborators", app_id, "--json").json()["collaborators"][0]["role"] == "operator"
    bobs = bob("apps", "--json").json()["applications"]
    assert [(a["id"], a["role"], a["owner"]) for a in bobs] == [(app_id, "operator", owner)]

    unknown = alice("app", "share", app_id, unique_name("nobody"), "--role", "developer")
    assert unknown.code == 1 and "NotFoundError" in unknown.stderr
    assert alice("app", "share", app_id, helper, "--role", "owner").code == 2  # not a role one can give

    unshared = alice("app", "unshare", app_id, helper)
    assert unshared.code == 0 and unshared.stdout.strip() == f"Removed {helper} from application {app_id}."
    assert "No applications" in bob("apps").stdout
    assert "No collaborators" in alice("app", "collaborators", app_id).stdout
    assert alice("app", "unshare", app_id, helper).code == 1  # not a collaborator any more


def test_people_at_a_terminal_get_a_table(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    screen = run_in_terminal(cli.argv("login", "--username", name), cli.env, [("Password: ", PASSWORD)])
    assert screen.code == 0 and PASSWORD not in screen.text, screen.text  # asked only for what was missing
    key = cli("api-key", "generate", "ci", "--description", "deploys", "--json").json()
    for columns, shown in ((80, ("ID", "NAME", "PREFIX", "CREATED", "EXPIRES")), (120, ("SCOPE", "DESCRIPTION"))):
        table = run_in_terminal(cli.argv("api-key", "list"), cli.env, [], columns=columns)
        assert table.code == 0, table.text
        lines = [line for line in table.plain.splitlines() if line.strip()]
        assert all(len(line) <= columns for line in lines), table.plain  # one line per row, within the width
        assert len(lines) == 3 and "─" in lines[1], table.plain  # a header, a rule, the key
        assert all(word in lines[0] for word in shown), table.plain
        assert key["id"] in lines[2] and key["prefix"] in lines[2] and "just now" in lines[2]  # ids whole
        assert key["key"] not in table.text
    assert "deploys" in table.plain


def test_text_from_the_server_cannot_drive_the_terminal(cli: Cli, clients_server: MailServer) -> None:
    name, token = signed_up(clients_server.url)
    log_in(cli, name)
    with Client(clients_server.url, token) as client:
        client.create_application("fleet", description="\x1b]0;pwned\x07\x1b[2J red \x1b[31mtext")
    listed = cli("apps")
    assert listed.code == 0 and "red" in listed.stdout
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout


# ---- sessions, events, logout ----


def test_sessions_and_logout(cli_for: CliFactory, clients_server: MailServer) -> None:
    laptop, desktop = cli_for(), cli_for()
    name, _ = signed_up(clients_server.url)
    log_in(laptop, name)
    log_in(desktop, name)

    listed = laptop("sessions", "--json").json()["sessions"]
    assert len(listed) == 3  # sign-up's, the laptop's, the desktop's
    assert [s["current"] for s in listed].count(True) == 1
    table = laptop("sessions").stdout
    current = [line for line in table.splitlines() if line.startswith("*")]
    assert len(current) == 1 and "latchkey-cli/" in current[0]  # the CLI says who it is (User-Agent)

    token = stored_token(laptop)
    out = laptop("logout")
    assert out.code == 0, out.stderr
    assert "The session is ended on the server" in out.stdout
    assert bearer(clients_server.url, token).status_code == 401  # ended on the server, not only forgotten
    assert not laptop.credentials_file.exists() or token not in laptop.credentials_file.read_text()
    after = laptop("whoami")
    assert after.code == 1 and "not logged in" in after.stderr and "latchkey login" in after.stderr
    assert desktop("whoami").code == 0  # the other session goes on
    assert len(desktop("sessions", "--json").json()["sessions"]) == 2
    assert laptop("logout").code == 0  # nothing to do: still fine


def test_the_device_token_is_kept_across_logout_and_sent_at_login(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    log_in(cli, name)
    record = next(iter(json.loads(cli.credentials_file.read_text())["servers"].values()))
    device = record["devices"][name.lower()]
    assert len(device) >= 22  # at least 128 random bits
    assert cli("logout").code == 0
    kept = next(iter(json.loads(cli.credentials_file.read_text())["servers"].values()))
    assert kept["token"] is None and kept["devices"][name.lower()] == device
    log_in(cli, name)  # sent the device token: the server answers with the same one
    again = next(iter(json.loads(cli.credentials_file.read_text())["servers"].values()))
    assert again["devices"][name.lower()] == device


def test_the_cli_is_a_known_device_while_someone_hammers_the_account(
    cli_for: CliFactory, clients_server: MailServer
) -> None:
    cli = cli_for()
    name, _ = signed_up(clients_server.url)
    log_in(cli, name)  # the CLI keeps the device token of this login
    assert cli("logout").code == 0
    with Client(clients_server.url, "", max_retry_wait=0) as attacker:
        for _ in range(10):
            with pytest.raises(latchkey.InvalidCredentialsError):
                attacker.login(name, "a guess at the password")
        with pytest.raises(latchkey.TooManyRequestsError):
            attacker.login(name, PASSWORD)  # locked out: even the right password, without a device token
    stranger = cli_for()  # another machine, no device token: locked out, told for how long
    refused = stranger("login", "--username", name, "--password-stdin", input=PASSWORD + "\n")
    assert refused.code == 1 and "TooManyRequestsError" in refused.stderr
    assert "Hint: try again in 15 minutes" in refused.stderr
    log_in(cli, name)  # the owner's CLI sends its device token: judged by its own failures alone
    assert cli("whoami").code == 0


def test_events_show_what_happened_to_the_account(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    bad = cli("login", "--username", name, "--password-stdin", input="not the password\n")
    assert bad.code == 1 and "InvalidCredentialsError" in bad.stderr
    log_in(cli, name)
    shown = cli("events")
    assert shown.code == 0
    for kind in ("signup", "login", "login.failed"):
        assert f" {kind} " in shown.stdout
    events = cli("events", "--json").json()["events"]
    assert [e["type"] for e in events][:2] == ["login", "login.failed"]  # newest first
    assert cli("events", "--limit", "1", "--json").json()["events"][0]["type"] == "login"


def test_logging_out_of_an_api_key_forgets_it_and_leaves_the_key_alone(cli: Cli, clients_server: MailServer) -> None:
    _, token = signed_up(clients_server.url)
    with Client(clients_server.url, token) as client:
        key = client.create_api_key("ci").key
    assert cli("login", "--token", key).code == 0
    out = cli("logout")
    assert out.code == 0 and "is forgotten" in out.stdout and "ended on the server" not in out.stdout
    assert not cli.credentials_file.exists()  # nothing else was kept: no device token for a key
    assert bearer(clients_server.url, key).status_code == 200  # a key ends by revoking it, not by logout
    assert cli("whoami").code == 1


def test_the_server_can_be_given_by_option_or_environment(cli: Cli, clients_server: MailServer) -> None:
    name, token = signed_up(clients_server.url)
    elsewhere = free_port_url()
    by_option = cli("--url", clients_server.url + "/", "whoami", "--json", LATCHKEY_URL=elsewhere, LATCHKEY_TOKEN=token)
    assert by_option.code == 0 and by_option.json()["username"] == name
    assert cli("whoami", LATCHKEY_URL=elsewhere, LATCHKEY_TOKEN=token).code == 1  # the environment's, unreachable
    module = subprocess.run(
        [sys.executable, "-m", "latchkey", "whoami", "--json"],
        capture_output=True,
        text=True,
        env=cli.env | {"LATCHKEY_TOKEN": token},
        timeout=60,
        check=False,
    )
    assert module.returncode == 0 and json.loads(module.stdout)["username"] == name  # python -m latchkey


# ---- output and exit statuses ----


def test_json_at_the_end_of_every_command_is_the_apis_json(cli: Cli, clients_server: MailServer) -> None:
    name, _ = signed_up(clients_server.url)
    log_in(cli, name)
    app = cli("app", "create", "fleet", "--json").json()
    assert isinstance(app, dict) and app["role"] == "owner" and app["owner"] == name
    key = cli("api-key", "generate", "ci", "--json").json()
    assert isinstance(key, dict) and key["key"].startswith("lk_")
    commands = [
        ["whoami"],
        ["api-key", "list"],
        ["2fa", "status"],
        ["apps"],
        ["app", "collaborators", app["id"]],
        ["app", "share", app["id"], signed_up(clients_server.url)[0], "--role", "observer"],
    ]
    for command in commands:
        done = cli(*command, "--json")
        assert done.code == 0, (command, done.stderr)
        assert isinstance(done.json(), dict), command
    assert cli("whoami", "--json").json()["username"] == name
    assert cli("api-key", "revoke", key["id"], "--json").json() == {"deleted": [key["id"]], "not_found": []}


def test_exit_statuses(cli: Cli, clients_server: MailServer) -> None:
    assert cli("--help").code == 0
    assert cli("--version").stdout.startswith("latchkey, version ")
    # 2: bad usage.
    for args in (
        ["no-such-command"],
        ["api-key", "generate"],
        ["api-key", "generate", "ci", "--expires", "someday"],
        ["api-key", "rotate", "id", "--grace", "-1"],
        ["api-key", "generate", "ci", "--permission", "everything"],
        ["login", "--token", "x", "--username", "y"],
    ):
        done = cli(*args)
        assert done.code == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
    # 1: the API said no, with its Code and what to do next.
    nobody = cli("whoami")
    assert nobody.code == 1 and "not logged in" in nobody.stderr and "latchkey login" in nobody.stderr
    forged = cli("whoami", LATCHKEY_TOKEN="not-a-token")
    assert forged.code == 1 and "UnauthorizedError" in forged.stderr and "LATCHKEY_TOKEN is set" in forged.stderr
    name, _ = signed_up(clients_server.url)
    wrong = cli("login", "--username", name, "--password-stdin", input="wrong password\n")
    assert wrong.code == 1 and "InvalidCredentialsError" in wrong.stderr and "Traceback" not in wrong.stderr
    log_in(cli, name)
    taken = cli("app", "create", "fleet")
    assert taken.code == 0
    again = cli("app", "create", "fleet")
    assert again.code == 1 and again.stderr.startswith("Error: ConflictError: ")
    unreachable = cli("whoami", LATCHKEY_URL=free_port_url(), LATCHKEY_TOKEN="some-token")
    assert unreachable.code == 1 and "cannot reach" in unreachable.stderr and "Traceback" not in unreachable.stderr
    # 0 again, with the stored credential.
    assert cli("whoami").code == 0


def test_a_working_keyring_is_used_instead_of_the_file(cli: Cli, clients_server: MailServer, tmp_path: Path) -> None:
    keyring_file = tmp_path / "fake-keyring.json"
    env = {
        "LATCHKEY_KEYRING": "1",
        "PYTHON_KEYRING_BACKEND": "tests.clients.fake_keyring.FileBackedKeyring",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "FAKE_KEYRING_FILE": str(keyring_file),
    }
    name, _ = signed_up(clients_server.url)
    done = cli("login", "--username", name, "--password-stdin", input=PASSWORD + "\n", **env)
    assert done.code == 0, done.stderr
    assert "Session token stored in the system keyring" in done.stdout
    assert not cli.credentials_file.exists()
    assert json.loads(keyring_file.read_text())["latchkey"][clients_server.url]
    assert cli("whoami", **env).code == 0
    assert cli("whoami").code == 1  # the file store (the keyring off) has nothing
    assert cli("logout", **env).code == 0
    assert cli("whoami", **env).code == 1


@pytest.mark.parametrize("command", [["--help"], ["api-key", "--help"], ["no-such-command"]])
def test_help_and_usage_errors_do_not_load_http_or_tables(cli: Cli, command: list[str]) -> None:
    probe = (
        "import sys, runpy; sys.argv = ['latchkey', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('latchkey', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('httpx', 'rich', 'keyring') if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *command], capture_output=True, text=True, env=cli.env, timeout=30, check=False
    )
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


# ---- passkeys ----


def test_passkeys_list_and_delete(cli: Cli, clients_server: MailServer) -> None:
    from tests.clients.test_sdk import add_passkey

    name, token = signed_up(clients_server.url)
    log_in(cli, name)
    empty = cli("passkeys", "list")
    assert empty.code == 0 and "No passkeys" in empty.stdout
    with Client(clients_server.url, token) as client:
        laptop = add_passkey(client, clients_server.url, "work laptop")
    table = cli("passkeys", "list")
    assert table.code == 0 and laptop.id in table.stdout and "work laptop" in table.stdout
    listed = cli("passkeys", "list", "--json").json()
    assert [p["name"] for p in listed["passkeys"]] == ["work laptop"] and listed["next_cursor"] is None
    deleted = cli("passkeys", "delete", laptop.id)
    assert deleted.code == 0 and laptop.id in deleted.stdout, deleted.stderr
    assert cli("passkeys", "list", "--json").json()["passkeys"] == []
    again = cli("passkeys", "delete", laptop.id)
    assert again.code == 1 and "PasskeyNotFoundError" in again.stderr
    assert cli("passkeys", "delete").code == 2  # no id: bad usage
