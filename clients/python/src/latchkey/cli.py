"""The ``latchkey`` command: log in, manage API keys, applications and collaborators from a terminal.

People get tables; ``--json`` at the end of any command prints the API's JSON instead. Exit status 0
on success, 1 on an API error (its Code and message on stderr, with what to do next), 2 on bad
usage. Rich (tables) and httpx are imported only by the commands that use them, so that ``--help``
and a mistyped command answer at once.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from latchkey import credentials
from latchkey.constants import COLLABORATOR_ROLES, DEFAULT_URL, PERMISSIONS, __version__
from latchkey.errors import (
    AccessDeniedError,
    ApiError,
    ExpiredTokenError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidGrantError,
    LatchkeyError,
    NetworkError,
    ReauthenticationRequiredError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)

if TYPE_CHECKING:
    from latchkey.client import Client
    from latchkey.models import ApiKey, Login, NewApiKey

T = TypeVar("T")
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
LOGIN_HINT = "run `latchkey login`"
FROM_ENV = "LATCHKEY_TOKEN"
CODE_ATTEMPTS = 3
FREE_TEXT_COLUMNS = {"DESCRIPTION", "DETAILS", "USER AGENT"}  # cut short at a narrow terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# ---- state: the server, the credential, where it is stored ----


@dataclass
class State:
    url: str
    token_source: str | None = None  # "LATCHKEY_TOKEN" or where the stored credential is
    kind: str | None = None  # "session" or "api_key"
    _client: Client | None = None

    def client(self, *, credential: bool = True) -> Client:
        """A client of the server with the credential (LATCHKEY_TOKEN, else the stored one).
        Exits 1 saying how to log in when there is none and one is needed."""
        from latchkey.client import Client

        token: str | None = None
        if credential:
            token = os.environ.get("LATCHKEY_TOKEN") or None
            if token:
                self.token_source, self.kind = FROM_ENV, _kind_of(token)
            else:
                record, store = credentials.load(self.url)
                if record is None or not record.token:
                    fail(f"not logged in to {self.url}", f"{LOGIN_HINT} (or set LATCHKEY_TOKEN)")
                token = record.token
                self.token_source, self.kind = store.where(), record.kind or _kind_of(token)
        self._client = Client(self.url, token or "", user_agent=f"latchkey-cli/{__version__}")
        return self._client


def _kind_of(token: str) -> str:
    return "api_key" if token.startswith("lk_") else "session"


def fail(message: str, hint: str | None = None) -> NoReturn:
    """Print ``Error: message`` (and what to do next) on stderr and exit 1."""
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"Hint: {hint}", err=True)
    raise click.exceptions.Exit(1)


def _hint(error: ApiError, state: State) -> str | None:
    from_env = state.token_source == FROM_ENV
    if isinstance(error, UnauthorizedError):
        if from_env:
            return "LATCHKEY_TOKEN is set: check it, or unset it to use the stored credential"
        return LOGIN_HINT
    if isinstance(error, ReauthenticationRequiredError):
        return "this needs a recent login: run `latchkey login` again"
    if isinstance(error, ForbiddenError):
        if error.no_route:
            return f"the server at {state.url} has no such route: check LATCHKEY_URL and the server's version"
        if state.kind == "api_key":
            return "an API key may not do this: run `latchkey login` with your password for a session token"
    if isinstance(error, (AccessDeniedError, ExpiredTokenError, InvalidGrantError)):
        return "run `latchkey login --web` again for a new code"
    if isinstance(error, (TooManyRequestsError, ServiceUnavailableError)) and error.retry_after is not None:
        return f"try again in {_duration(error.retry_after)}"
    return None


def _duration(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    if whole < 120:
        return f"{whole} second{'s' if whole != 1 else ''}"
    if whole < 7200:
        return f"{math.ceil(whole / 60)} minutes"
    return f"{math.ceil(whole / 3600)} hours"


class LatchkeyGroup(click.Group):
    """The root command: turns the API's errors into exit status 1 with a message and a hint."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as error:
            state = ctx.find_object(State) or State(url=DEFAULT_URL)
            fail(f"{error.code}: {clean(error.message)}", _hint(error, state))
        except NetworkError as error:
            fail(clean(error.message), "is the server running, and is LATCHKEY_URL (or --url) right?")
        except LatchkeyError as error:
            fail(clean(str(error)))


# ---- output ----


def clean(value: Any) -> str:
    """Text from the server as it may be shown in a terminal: no control characters (no escape sequences)."""
    return _CONTROL.sub("", "" if value is None else str(value))


def _stamp(value: datetime) -> str:
    """The API's form of a timestamp (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(value: datetime | None, empty: str = "never") -> str:
    """A time in a sentence: UTC to the minute."""
    if value is None:
        return empty
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


@dataclass(frozen=True)
class At:
    """A time in a table: relative for people at a terminal ("3h ago", "in 30d"), exact when piped."""

    value: datetime | None
    empty: str = "never"

    def show(self, terminal: bool, now: datetime) -> str:
        if self.value is None:
            return self.empty
        if not terminal:
            return _stamp(self.value)
        seconds = (self.value - now).total_seconds()
        size = abs(seconds)
        if size < 60:
            return "just now"
        if size >= 60 * 86400:
            return self.value.astimezone(UTC).strftime("%Y-%m-%d")
        if size < 3600:
            amount = f"{round(size / 60)}m"
        elif size < 86400:
            amount = f"{round(size / 3600)}h"
        else:  # to the nearest: a token issued a moment ago expires "in 7d", not "in 6d"
            amount = f"{round(size / 86400)}d"
        return f"in {amount}" if seconds > 0 else f"{amount} ago"


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(columns: list[str], rows: Iterable[list[Any]], empty: str) -> None:
    """A table for people (Rich, imported only now); ``empty`` instead when there are no rows.

    At a terminal: one line per row at the terminal's width, free text (descriptions, user agents,
    details) cut short with an ellipsis, ids kept whole, times relative. Piped into another
    program: whole lines, exact times.
    """
    rows = list(rows)
    if not rows:
        click.echo(empty)
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    terminal = console.is_terminal
    if not terminal:
        console = Console(highlight=False, width=max(console.width, 1000))
    now = datetime.now(UTC)
    cells = [[cell.show(terminal, now) if isinstance(cell, At) else clean(cell) for cell in row] for row in rows]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 1, 0, 0))
    for index, column in enumerate(columns):
        if column in FREE_TEXT_COLUMNS:
            table.add_column(column, no_wrap=True, overflow="ellipsis", ratio=1)
        else:  # never narrower than its widest cell: ids stay whole, to be copied
            widest = max([len(column), *(len(row[index]) for row in cells)])
            table.add_column(column, no_wrap=True, min_width=widest)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")


def collect(items: Iterator[T]) -> list[T]:
    return list(items)


def raw_list(key: str, items: Iterable[Any]) -> dict[str, Any]:
    """A whole list in the API's shape: every page's items, and no next page."""
    return {key: [item.raw for item in items], "next_cursor": None}


# ---- the commands ----


@click.group(cls=LatchkeyGroup, context_settings=CONTEXT)
@click.option(
    "--url",
    envvar="LATCHKEY_URL",
    default=DEFAULT_URL,
    show_default=True,
    metavar="URL",
    help="The Latchkey server (also $LATCHKEY_URL).",
)
@click.version_option(__version__, prog_name="latchkey")
@click.pass_context
def cli(ctx: click.Context, url: str) -> None:
    """Latchkey from the command line: log in, then manage API keys, applications and collaborators.

    The credential comes from $LATCHKEY_TOKEN where set, else from what `latchkey login` stored.
    """
    ctx.obj = State(url=url.rstrip("/"))


pass_state = click.make_pass_decorator(State)


def _read_line(prompt_name: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError(f"--{prompt_name}-stdin: nothing on standard input")
    return line.rstrip("\r\n")


def _terminal() -> bool:
    """Whether there is a terminal to ask on (getpass reads /dev/tty, never the arguments)."""
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return sys.stdin.isatty()


def _ask_password() -> str:
    import getpass

    if not _terminal():
        raise click.UsageError("no terminal to ask for the password: pipe it in with --password-stdin")
    password = getpass.getpass("Password: ")
    if not password:
        raise click.UsageError("no password given")
    return password


def _ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise click.UsageError(f"no terminal to ask for the {prompt.lower()}")
    return str(click.prompt(prompt, err=True)).strip()


def _code_fields(value: str) -> dict[str, str]:
    """A 6-digit authenticator code, or else a recovery code."""
    compact = value.replace(" ", "")
    return {"code": compact} if compact.isdigit() and len(compact) <= 8 else {"recovery_code": value.strip()}


@cli.command(context_settings=CONTEXT)
@click.option("--username", "-u", metavar="NAME", help="Your username or email (asked for if not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--code", metavar="CODE", help="The authenticator code (or a recovery code), if two-factor is on.")
@click.option(
    "--token",
    metavar="TOKEN",
    help="Store an existing session token or API key instead of logging in ('-' reads it from standard input).",
)
@click.option("--web", is_flag=True, help="Log in through the browser: approve a code in the dashboard.")
@click.option("--no-browser", is_flag=True, help="With --web: print the link, do not open a browser.")
@json_option
@pass_state
def login(
    state: State,
    username: str | None,
    password_stdin: bool,
    code: str | None,
    token: str | None,
    web: bool,
    no_browser: bool,
    as_json: bool,
) -> None:
    """Log in and store the session token (in the system keyring where one works).

    Asks for the username, the password (never echoed, never in the arguments) and, only when
    two-factor authentication is on, the authenticator code. With --web, asks for nothing: it
    shows a code to approve in the dashboard, where you are signed in (with a passkey, say).
    """
    if no_browser and not web:
        raise click.UsageError("--no-browser goes with --web")
    if web:
        if username or password_stdin or code or token is not None:
            raise click.UsageError("--web asks for nothing here: no --username, --password-stdin, --code or --token")
        _login_on_the_web(state, not no_browser, as_json)
        return
    if token is not None:
        if username or password_stdin or code:
            raise click.UsageError("--token stores a credential as it is: no --username, --password-stdin or --code")
        from_stdin = token == "-"  # noqa: S105 - "-" means standard input
        _login_with_token(state, _read_line("token") if from_stdin else token.strip(), as_json)
        return
    if password_stdin and not username:
        raise click.UsageError("--password-stdin needs --username (standard input holds the password)")
    name = username or _ask("Username or email")
    if not name:
        raise click.UsageError("no username given")
    password = _read_line("password") if password_stdin else _ask_password()

    record, _ = credentials.load(state.url)
    record = record or credentials.Record()
    client = state.client(credential=False)
    reply = client.login(name, password, device_token=record.devices.get(name.lower()))
    del password
    attempts = 0
    while reply.two_factor_required:
        attempts += 1
        given = code if code is not None else _ask_code()
        try:
            reply = client.login_totp(**_code_fields(given))
        except InvalidCredentialsError:
            if code is not None or attempts >= CODE_ATTEMPTS:
                raise
            click.echo("That code was not accepted; try the next one.", err=True)
    if code is not None and attempts == 0:
        click.echo("Note: two-factor authentication is off for this account; --code was not needed.", err=True)

    _store_session(state, client, record, reply, as_json, name)


def _store_session(
    state: State, client: Client, record: credentials.Record, reply: Login, as_json: bool, typed: str | None = None
) -> None:
    """Keep a completed login's session token (and its device token under the account's names)."""
    user = client.get_user()
    record.token, record.kind, record.username = reply.token, "session", user.username
    record.expires_at = _stamp(reply.expires_at)
    if client.device_token:
        for alias in {typed.lower() if typed else None, user.username.lower(), user.email.lower()} - {None}:
            record.devices[str(alias)] = client.device_token
    store = credentials.save(state.url, record)
    _warn_if_overridden()
    if as_json:
        print_json(user.raw)
        return
    click.echo(f"Logged in to {state.url} as {clean(user.username)}.")
    click.echo(f"Session token stored in {store.where()}; it expires {when(reply.expires_at)}.")


def _login_on_the_web(state: State, open_browser: bool, as_json: bool) -> None:
    """RFC 8628's device login: show the code and the link, open the browser where there is one,
    poll at the server's interval (a spinner on a terminal), and store the session."""
    import socket

    from rich.console import Console

    client = state.client(credential=False)
    name = clean(f"latchkey CLI on {socket.gethostname() or 'this computer'}")[:64]
    started = client.start_device_login(name)
    click.echo("To log in, open this page in a browser where you are signed in to Latchkey:", err=True)
    click.echo(f"  {started.verification_uri_complete}", err=True)
    click.echo(f"and check that it shows this code: {started.user_code}", err=True)
    click.echo(f"(Or open {started.verification_uri} and type the code.)", err=True)
    if open_browser and _browser_available():
        import webbrowser

        if webbrowser.open(started.verification_uri_complete):
            click.echo("Opened it in your browser.", err=True)
    minutes = max(1, started.expires_in // 60)
    console = Console(file=sys.stderr, highlight=False)
    with console.status(f"Waiting for the approval in the browser (the code expires in {minutes} minutes)…"):
        reply = client.poll_device_login(started)
    assert reply is not None  # poll_device_login waits
    record, _ = credentials.load(state.url)
    _store_session(state, client, record or credentials.Record(), reply, as_json)


def _browser_available() -> bool:
    """Whether ``webbrowser`` would open a graphical browser, not take this terminal over with a
    text one (on a server over SSH): $BROWSER set, a display, or macOS and Windows."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _warn_if_overridden() -> None:
    if os.environ.get("LATCHKEY_TOKEN"):
        click.echo("Note: LATCHKEY_TOKEN is set in this environment and takes precedence over it.", err=True)


def _ask_code() -> str:
    if not sys.stdin.isatty():
        raise click.UsageError("two-factor authentication is on: give --code CODE (or a recovery code)")
    return _ask("Authenticator code (or a recovery code)")


def _login_with_token(state: State, token: str, as_json: bool) -> None:
    if not token:
        raise click.UsageError("--token: empty")
    from latchkey.client import Client

    client = Client(state.url, token, user_agent=f"latchkey-cli/{__version__}")
    state.kind = _kind_of(token)
    user = client.get_user()
    record, _ = credentials.load(state.url)
    record = record or credentials.Record()
    record.token, record.kind, record.username, record.expires_at = token, state.kind, user.username, None
    store = credentials.save(state.url, record)
    _warn_if_overridden()
    if as_json:
        print_json(user.raw)
        return
    what = "API key" if state.kind == "api_key" else "Session token"
    click.echo(f"Logged in to {state.url} as {clean(user.username)}.")
    click.echo(f"{what} stored in {store.where()}.")


@cli.command(context_settings=CONTEXT)
@json_option
@pass_state
def logout(state: State, as_json: bool) -> None:
    """End the session on the server and forget the stored credential.

    The device token stays, so that this machine remains a known device at the next login.
    """
    record, store = credentials.load(state.url)
    env_token = os.environ.get("LATCHKEY_TOKEN") or None
    token = env_token or (record.token if record else None)
    if not token:
        click.echo(f"Not logged in to {state.url}.", err=True)
        if as_json:
            print_json({"logged_out": False})
        return
    kind = _kind_of(token) if env_token else (record.kind if record and record.kind else _kind_of(token))
    problem: ApiError | None = None
    if kind == "session":
        client = state.client()
        try:
            client.logout()
        except UnauthorizedError:
            pass  # already ended (expired or revoked): nothing left to end
        except ApiError as error:
            problem = error
    forgot = False
    if record is not None and record.token and not env_token:
        record.token = record.kind = record.username = record.expires_at = None
        if record.devices:
            store.save(state.url, record)
        else:
            store.delete(state.url)
        forgot = True
    if as_json:
        print_json({"logged_out": problem is None, "forgot_credential": forgot})
    else:
        ended = "The session is ended on the server. " if kind == "session" and problem is None else ""
        forgot_text = f"The credential stored in {store.where()} is forgotten." if forgot else ""
        click.echo(f"Logged out of {state.url}. {ended}{forgot_text}".rstrip())
    if env_token:
        click.echo("LATCHKEY_TOKEN is still set in this environment: unset it too.", err=True)
    if problem is not None:
        fail(f"the server did not end the session: {problem.code}: {clean(problem.message)}")


@cli.command(context_settings=CONTEXT)
@json_option
@pass_state
def whoami(state: State, as_json: bool) -> None:
    """Show who the credential belongs to."""
    user = state.client().get_user()
    if as_json:
        print_json(user.raw)
        return
    verified = "" if user.email_verified is None else (" verified" if user.email_verified else " not verified")
    what = "API key" if state.kind == "api_key" else "session token"
    click.echo(f"{clean(user.username)} <{clean(user.email)}>{verified}")
    click.echo(f"Two-factor authentication: {'on' if user.two_factor_enabled else 'off'}")
    click.echo(f"Server: {state.url}")
    click.echo(f"Credential: {what}, from {state.token_source}")


# ---- API keys ----


@cli.group("api-key", context_settings=CONTEXT)
def api_key() -> None:
    """Generate, list, revoke and rotate API keys."""


class Expiry(click.ParamType):
    """``never``, a date (YYYY-MM-DD: midnight UTC), an RFC 3339 timestamp, or a duration (30d, 12h)."""

    name = "DATE|never"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str | None:
        text = str(value).strip()
        if text.lower() == "never":
            return None
        duration = re.fullmatch(r"(\d{1,5})([dhm])", text)
        if duration:
            unit = {"d": "days", "h": "hours", "m": "minutes"}[duration.group(2)]
            return _stamp(datetime.now(UTC) + timedelta(**{unit: int(duration.group(1))}))
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return date.fromisoformat(text).isoformat() + "T00:00:00Z"
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail(f"{text!r}: give never, a date (2030-01-31), a timestamp or a duration (30d, 12h)", param, ctx)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return _stamp(parsed)


def _show_new_key(created: NewApiKey, headline: str, as_json: bool) -> None:
    if as_json:
        print_json(created.raw)
        return
    click.echo(
        f"{headline} {clean(created.name)!r} (id {created.id}, prefix {created.prefix}, "
        f"expires {when(created.expires_at)}).",
        err=True,
    )
    click.echo(created.key)
    click.echo("Warning: this key will not be shown again; store it somewhere safe now.", err=True)


@api_key.command("generate", context_settings=CONTEXT)
@click.argument("name")
@click.option("--description", metavar="TEXT", help="What the key is for.")
@click.option("--expires", type=Expiry(), default="never", show_default=True, help="When the key stops working.")
@click.option("--app", "apps", multiple=True, metavar="ID", help="Limit the key to this application (repeatable).")
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    type=click.Choice(PERMISSIONS),
    help="Limit the key to these permissions (repeatable).",
)
@json_option
@pass_state
def generate(
    state: State,
    name: str,
    description: str | None,
    expires: str | None,
    apps: tuple[str, ...],
    permissions: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create an API key named NAME and print it, once."""
    created = state.client().create_api_key(
        name,
        description=description,
        expires_at=expires,
        applications=list(apps) if apps else None,
        permissions=list(permissions) if permissions else None,
    )
    _show_new_key(created, "Created API key", as_json)


def _scope_text(key: ApiKey) -> str:
    if key.scope is None or (key.scope.applications is None and key.scope.permissions is None):
        return "full"
    parts = []
    if key.scope.applications is not None:
        parts.append("apps: " + ",".join(key.scope.applications))
    if key.scope.permissions is not None:
        parts.append(",".join(key.scope.permissions))
    return "; ".join(parts)


@api_key.command("list", context_settings=CONTEXT)
@json_option
@pass_state
def list_keys(state: State, as_json: bool) -> None:
    """List your API keys, oldest first (never the keys themselves)."""
    keys = collect(state.client().iter_api_keys())
    if as_json:
        print_json(raw_list("api_keys", keys))
        return
    print_table(
        ["ID", "NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES", "SCOPE", "DESCRIPTION"],
        (
            [
                k.id,
                k.name,
                k.prefix,
                At(k.created_at),
                At(k.last_used_at),
                At(k.expires_at),
                _scope_text(k),
                k.description or "",
            ]
            for k in keys
        ),
        empty="No API keys. Create one with `latchkey api-key generate NAME`.",
    )


@api_key.command("revoke", context_settings=CONTEXT)
@click.argument("ids", nargs=-1, required=True, metavar="ID[,ID...]")
@json_option
@pass_state
def revoke(state: State, ids: tuple[str, ...], as_json: bool) -> None:
    """Revoke API keys by id (comma-separated, or several arguments); exit 1 if any was not found."""
    wanted = [part.strip() for arg in ids for part in arg.split(",") if part.strip()]
    if not wanted:
        raise click.UsageError("give at least one id")
    result = state.client().delete_api_keys(wanted)
    if as_json:
        print_json(result.raw)
    elif result.deleted:
        noun = "key" if len(result.deleted) == 1 else "keys"
        click.echo(f"Revoked {len(result.deleted)} API {noun}: {', '.join(result.deleted)}")
    if result.not_found:
        fail(
            f"NotFoundError: no API key with id {', '.join(clean(i) for i in result.not_found)}",
            "`latchkey api-key list` shows your keys' ids",
        )


@api_key.command("rotate", context_settings=CONTEXT)
@click.argument("key_id", metavar="ID")
@click.option(
    "--grace",
    type=click.IntRange(0, 604800),
    default=None,
    metavar="SECONDS",
    help="How long the old key keeps working (default 0: it stops now).",
)
@json_option
@pass_state
def rotate(state: State, key_id: str, grace: int | None, as_json: bool) -> None:
    """Replace an API key by a new one with the same name, scope and expiry."""
    created = state.client().rotate_api_key(key_id, grace_seconds=grace)
    old = f"the old key {key_id} works for {grace} more seconds" if grace else f"the old key {key_id} stops now"
    _show_new_key(created, f"Rotated ({old}); new API key", as_json)


# ---- two-factor ----


@cli.group("2fa", context_settings=CONTEXT)
def two_factor() -> None:
    """Two-factor authentication (set it up in the dashboard, where the QR code is)."""


@two_factor.command("status", context_settings=CONTEXT)
@json_option
@pass_state
def two_factor_status(state: State, as_json: bool) -> None:
    """Whether two-factor authentication is on, and how many recovery codes are left."""
    status = state.client().two_factor_status()
    if as_json:
        print_json(status.raw)
        return
    if status.enabled:
        click.echo(f"Two-factor authentication is on; {status.recovery_codes_remaining} recovery codes remain.")
    else:
        pending = " (a setup is pending)" if status.pending else ""
        click.echo(f"Two-factor authentication is off{pending}.")


# ---- passkeys ----


@cli.group("passkeys", context_settings=CONTEXT)
def passkeys() -> None:
    """List and delete your passkeys (add them, and sign in with them, in the dashboard: a terminal cannot hold one)."""


@passkeys.command("list", context_settings=CONTEXT)
@json_option
@pass_state
def list_passkeys(state: State, as_json: bool) -> None:
    """List your passkeys, oldest first."""
    found = collect(state.client().iter_passkeys())
    if as_json:
        print_json(raw_list("passkeys", found))
        return
    print_table(
        ["ID", "NAME", "CREATED", "LAST USED", "SYNCED", "TRANSPORTS"],
        (
            [
                p.id,
                p.name,
                At(p.created_at),
                At(p.last_used_at, "-"),
                "yes" if p.backed_up else "no",
                ",".join(p.transports),
            ]
            for p in found
        ),
        empty="No passkeys. Add one in the dashboard: Account, Passkeys.",
    )


@passkeys.command("delete", context_settings=CONTEXT)
@click.argument("passkey_id", metavar="ID")
@json_option
@pass_state
def delete_passkey(state: State, passkey_id: str, as_json: bool) -> None:
    """Delete one of your passkeys by id (`latchkey passkeys list` shows them): it signs in no more."""
    state.client().delete_passkey(passkey_id)
    if as_json:
        print_json({"deleted": passkey_id})
        return
    click.echo(f"Deleted passkey {clean(passkey_id)}.")


# ---- applications ----


@cli.command("apps", context_settings=CONTEXT)
@json_option
@pass_state
def apps(state: State, as_json: bool) -> None:
    """List the applications you own or collaborate on, with your role."""
    found = collect(state.client().iter_applications())
    if as_json:
        print_json(raw_list("applications", found))
        return
    print_table(
        ["ID", "NAME", "ROLE", "OWNER", "CREATED", "DESCRIPTION"],
        ([a.id, a.name, a.role, a.owner, At(a.created_at), a.description or ""] for a in found),
        empty="No applications. Create one with `latchkey app create NAME`.",
    )


@cli.group("app", context_settings=CONTEXT)
def app() -> None:
    """Create an application, and share it with collaborators."""


@app.command("create", context_settings=CONTEXT)
@click.argument("name")
@click.option("--description", metavar="TEXT", help="What the application is.")
@json_option
@pass_state
def app_create(state: State, name: str, description: str | None, as_json: bool) -> None:
    """Create an application named NAME."""
    created = state.client().create_application(name, description=description)
    if as_json:
        print_json(created.raw)
        return
    click.echo(f"Created application {clean(created.name)} (id {created.id}).")


@app.command("collaborators", context_settings=CONTEXT)
@click.argument("app_id", metavar="ID")
@json_option
@pass_state
def app_collaborators(state: State, app_id: str, as_json: bool) -> None:
    """List an application's collaborators (the owner is not listed)."""
    found = collect(state.client().iter_collaborators(app_id))
    if as_json:
        print_json(raw_list("collaborators", found))
        return
    print_table(
        ["USERNAME", "ROLE", "ADDED"],
        ([c.username, c.role, At(c.added_at)] for c in found),
        empty="No collaborators. Add one with `latchkey app share ID USERNAME --role developer`.",
    )


@app.command("share", context_settings=CONTEXT)
@click.argument("app_id", metavar="ID")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(COLLABORATOR_ROLES), help="What they may do.")
@json_option
@pass_state
def app_share(state: State, app_id: str, username: str, role: str, as_json: bool) -> None:
    """Share an application with USERNAME (or change their role)."""
    shared = state.client().add_collaborator(app_id, username, role)
    if as_json:
        print_json(shared.raw)
        return
    if shared.added:
        click.echo(f"Shared application {app_id} with {clean(shared.username)} as {shared.role}.")
    else:
        click.echo(f"{clean(shared.username)} is now {shared.role} on application {app_id}.")


@app.command("unshare", context_settings=CONTEXT)
@click.argument("app_id", metavar="ID")
@click.argument("username")
@json_option
@pass_state
def app_unshare(state: State, app_id: str, username: str, as_json: bool) -> None:
    """Remove USERNAME from an application's collaborators (your own name: leave it)."""
    state.client().remove_collaborator(app_id, username)
    if as_json:
        print_json({})
        return
    click.echo(f"Removed {clean(username)} from application {app_id}.")


# ---- sessions and events ----


@cli.command("sessions", context_settings=CONTEXT)
@json_option
@pass_state
def sessions(state: State, as_json: bool) -> None:
    """List your sessions, newest first (the one in use is marked *)."""
    found = collect(state.client().iter_sessions())
    if as_json:
        print_json(raw_list("sessions", found))
        return
    print_table(
        ["", "ID", "CREATED", "LAST USED", "EXPIRES", "ADDRESS", "USER AGENT"],
        (
            [
                "*" if s.current else "",
                s.id,
                At(s.created_at),
                At(s.last_used_at, "-"),
                At(s.expires_at),
                s.address or "",
                s.user_agent or "",
            ]
            for s in found
        ),
        empty="No sessions.",
    )


@cli.command("events", context_settings=CONTEXT)
@click.option("--app", "app_id", metavar="ID", help="An application's audit log instead of your account's.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True, help="How many, newest first.")
@json_option
@pass_state
def events(state: State, app_id: str | None, limit: int, as_json: bool) -> None:
    """What happened to your account (or, with --app, to an application), newest first."""
    client = state.client()
    found: list[Any] = []
    cursor: str | None = None
    while len(found) < limit:
        size = min(100, limit - len(found))
        if app_id:
            page = client.list_application_events(app_id, limit=size, cursor=cursor)
        else:
            page = client.list_events(limit=size, cursor=cursor)
        found += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    if as_json:
        print_json({"events": [e.raw for e in found], "next_cursor": cursor})
        return
    print_table(
        ["TIME", "TYPE", "ACTOR", "VIA", "ADDRESS", "DETAILS"],
        (
            [
                At(e.created_at),
                e.type,
                e.actor or "",
                (e.via or "") + (f" {e.api_key_prefix}" if e.api_key_prefix else ""),
                e.address or "",
                " ".join(f"{k}={_detail(v)}" for k, v in e.details.items()),
            ]
            for e in found
        ),
        empty="No events.",
    )


def _detail(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def main(argv: list[str] | None = None) -> None:
    """The console script's entry point."""
    cli.main(args=argv, prog_name="latchkey")
