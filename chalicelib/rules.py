"""The domain's input rules and limits, said once: the routes declare them, the services and the
store enforce them.

Pure (no store, no AWS): a route module imports this for its declarations without loading a
service, so that ``import app`` stays cheap and the services load on a request's first use.
"""

from __future__ import annotations

import re
from enum import Enum

from chalicelib.errors import invalid_field

# Accounts
USERNAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,31}")
USERNAME_RULE = "3-32 characters of letters, digits and underscores, starting with a letter"
RESERVED_USERNAMES = frozenset({"root", "admin", "administrator", "system", "support", "me"})
EMAIL_MAX = 254
PASSWORD_MIN, PASSWORD_MAX = 10, 128
TOKEN_MAX = 256  # a mailed link's token, as a body field

# API keys
API_KEY_NAME_MAX = 64
DESCRIPTION_MAX = 256  # an API key's or an application's description
BATCH_DELETE_MAX = 100
SCOPE_APPLICATIONS_MAX = 100
GRACE_MAX = 7 * 86400  # a rotated key's old key lives on for at most a week

# Applications: the contract's table of roles, the only place that says what a role may do.
READ, WRITE, OPERATE, MANAGE_COLLABORATORS, DELETE = "read", "write", "operate", "manage_collaborators", "delete"
ALL_PERMISSIONS = (READ, WRITE, OPERATE, MANAGE_COLLABORATORS, DELETE)
OWNER_ROLE = "owner"
PERMISSIONS: dict[str, tuple[str, ...]] = {
    OWNER_ROLE: ALL_PERMISSIONS,
    "developer": (READ, WRITE, OPERATE),
    "operator": (READ, OPERATE),
    "observer": (READ,),
}
COLLABORATOR_ROLES = tuple(role for role in PERMISSIONS if role != OWNER_ROLE)


class Keep(Enum):
    """A field that an update leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


def check_username(username: str) -> None:
    """Raise a 400 naming ``username`` unless it follows the contract's rules."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise invalid_field("username", USERNAME_RULE)
    if username.lower() in RESERVED_USERNAMES:
        raise invalid_field("username", "this name is reserved")


def check_email(email: str) -> None:
    """Raise a 400 naming ``email`` unless it has one @, a local part, and a domain with a dot."""
    local, at, domain = email.partition("@")
    valid = bool(
        len(email) <= EMAIL_MAX
        and at
        and local
        and "@" not in domain
        and "." in domain
        and all(domain.split("."))
        and not any(c.isspace() or ord(c) < 32 for c in email)
    )
    if not valid:
        raise invalid_field("email", "not a valid email address")
