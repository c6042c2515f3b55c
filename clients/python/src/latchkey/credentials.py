"""Where the CLI keeps its credential: the system keyring where one works, else a file only its user may read.

One record per server URL: the credential (a session token or an API key), what kind it is, whose it
is, and the device tokens of the accounts logged in from here (kept across ``logout``, so that this
machine stays a known device: the server exempts known devices from lockouts caused by others).

The file is ``$XDG_CONFIG_HOME/latchkey/credentials.json`` (default ``~/.config/latchkey/``), in a
directory of mode 0700, written to a new file created with mode 0600 and renamed over the old one,
so that it is never readable by others, not even for a moment. ``LATCHKEY_KEYRING=0`` skips the
keyring (the tests set it, so that they never touch a real one).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE = "latchkey"
FILE_NAME = "credentials.json"


@dataclass
class Record:
    """What is stored for one server."""

    token: str | None = None
    kind: str | None = None  # "session" or "api_key"
    username: str | None = None
    expires_at: str | None = None
    devices: dict[str, str] = field(default_factory=dict)  # lower-cased username or email -> device token

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "kind": self.kind,
            "username": self.username,
            "expires_at": self.expires_at,
            "devices": self.devices,
        }

    @classmethod
    def from_json(cls, data: Any) -> Record:
        if not isinstance(data, dict):
            return cls()
        devices = data.get("devices")
        if not isinstance(devices, dict):
            devices = {}
        return cls(
            token=data.get("token"),
            kind=data.get("kind"),
            username=data.get("username"),
            expires_at=data.get("expires_at"),
            devices={str(k): str(v) for k, v in devices.items()},
        )


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "latchkey"


class FileStore:
    """Records in one JSON file, mode 0600, keyed by server URL."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / FILE_NAME

    def where(self) -> str:
        return str(self.path)

    def load(self, url: str) -> Record | None:
        data = self._read().get(url)
        return Record.from_json(data) if data is not None else None

    def save(self, url: str, record: Record) -> None:
        records = self._read()
        records[url] = record.to_json()
        self._write(records)

    def delete(self, url: str) -> bool:
        records = self._read()
        if url not in records:
            return False
        del records[url]
        if records:
            self._write(records)
        else:
            self.path.unlink(missing_ok=True)
        return True

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        servers = data.get("servers") if isinstance(data, dict) else None
        return dict(servers) if isinstance(servers, dict) else {}

    def _write(self, records: dict[str, Any]) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "servers": records}, indent=2, sort_keys=True) + "\n"
        # A new file, created 0600 (O_EXCL: never someone else's file or link), then renamed over
        # the old one: at no moment is the credential in a file that others may read.
        temporary = directory / f".{self.path.name}.{os.urandom(8).hex()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if hasattr(os, "fchmod"):  # exactly 0600, whatever the umask took away
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise


class KeyringStore:
    """Records in the system keyring (service ``latchkey``, one entry per server URL)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def where(self) -> str:
        name = getattr(type(self.backend), "name", None) or type(self.backend).__name__
        return f"the system keyring ({name})"

    def load(self, url: str) -> Record | None:
        raw = self.backend.get_password(SERVICE, url)
        if raw is None:
            return None
        try:
            return Record.from_json(json.loads(raw))
        except ValueError:
            return None

    def save(self, url: str, record: Record) -> None:
        self.backend.set_password(SERVICE, url, json.dumps(record.to_json(), sort_keys=True))

    def delete(self, url: str) -> bool:
        if self.backend.get_password(SERVICE, url) is None:
            return False
        self.backend.delete_password(SERVICE, url)
        return True


Store = FileStore | KeyringStore


def keyring_disabled() -> bool:
    return os.environ.get("LATCHKEY_KEYRING", "").strip().lower() in {"0", "false", "no", "off"}


def working_keyring() -> Any | None:
    """The system keyring's backend if one is there and answers, else None."""
    if keyring_disabled():
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or type(backend).__module__.startswith("keyring.backends.null"):
            return None
        if getattr(backend, "backends", None) == []:  # a chainer with nothing behind it
            return None
        backend.get_password(SERVICE, "probe")
    except Exception:  # any failure of the keyring means: use the file
        return None
    return backend


def open_store() -> Store:
    """The keyring where one works, else the file."""
    backend = working_keyring()
    return KeyringStore(backend) if backend is not None else FileStore()


def load(url: str) -> tuple[Record | None, Store]:
    """The record for ``url`` and the store holding it (the keyring's first, then the file's)."""
    primary = open_store()
    record = primary.load(url)
    if record is None and isinstance(primary, KeyringStore):
        fallback = FileStore()
        record = fallback.load(url)
        if record is not None:
            return record, fallback
    return record, primary


def save(url: str, record: Record) -> Store:
    """Store ``record`` (in the keyring where one works, and then no copy stays in the file)."""
    store = open_store()
    store.save(url, record)
    if isinstance(store, KeyringStore):
        FileStore().delete(url)
    return store
