"""One-off: encrypt every TOTP secret still stored in plain text (from before secrets were encrypted).

    python scripts/encrypt_totp_secrets.py --stage dev         # the stage's tables and KMS key, in AWS
    python scripts/encrypt_totp_secrets.py                     # TABLE_PREFIX, TOTP_KMS_KEY_ID, ... from the environment
    python scripts/encrypt_totp_secrets.py --stage dev --dry-run

It reads the users table with a paged Scan (an operator's job: no request or scheduled job scans)
and, for each user whose enabled or pending secret is a base32 string, encrypts it with KMS (the
user id as encryption context, as the service does) and writes the ciphertext with a conditional
update: only if the attribute still holds that plain text, so a change made meanwhile (a setup, a
disable, the service re-encrypting it on first use) is never overwritten. It may be run again:
what is encrypted already is left alone. Run it with credentials that may Scan and UpdateItem the
users table and use the key (kms:Encrypt), after deploying the version that encrypts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from chalicelib.config import Settings, use_settings  # noqa: E402
from chalicelib.store import dynamo, kms  # noqa: E402
from chalicelib.store.tables import USERS  # noqa: E402
from chalicelib.store.users import UserStore  # noqa: E402

ATTRIBUTES = ("totp_secret", "pending_totp_secret")


@dataclass
class Report:
    scanned: int = 0  # user records read
    encrypted: int = 0  # secrets written encrypted
    changed_meanwhile: int = 0  # secrets whose record changed between the read and the write: left as they are

    def __str__(self) -> str:
        return (
            f"{self.scanned} user records scanned, {self.encrypted} secrets encrypted, "
            f"{self.changed_meanwhile} left alone (changed meanwhile)"
        )


def plain_secrets(settings: Settings, page_size: int = 100) -> Iterator[dict[str, Any]]:
    """Every user record holding a secret in plain text (a string), page by page."""
    params: dict[str, Any] = {
        "TableName": settings.table_name(USERS.name),
        "ProjectionExpression": "pk, user_id, totp_secret, pending_totp_secret",
        "Limit": page_size,
    }
    for page in dynamo.client().get_paginator("scan").paginate(**params):
        for raw in page.get("Items", []):
            yield dynamo.from_item(raw)


def encrypt_record(store: UserStore, item: dict[str, Any], report: Report, dry_run: bool = False) -> None:
    """Encrypt the plain-text secrets of one user record as read, each by a conditional write."""
    if not str(item.get("pk", "")).startswith("USER#"):
        return  # a username or email claim
    report.scanned += 1
    user_id = str(item["user_id"])
    for attribute in ATTRIBUTES:
        plain = item.get(attribute)
        if not isinstance(plain, str):
            continue  # absent, or a ciphertext (binary) already
        if dry_run:
            report.encrypted += 1
            continue
        encrypted = kms.encrypt(plain.encode(), user_id)
        if store.encrypt_stored_secret(user_id, attribute, plain, encrypted):
            report.encrypted += 1
        else:
            report.changed_meanwhile += 1


def encrypt_all(settings: Settings, page_size: int = 100, dry_run: bool = False) -> Report:
    """Encrypt every plain-text TOTP secret of the users table that ``settings`` name."""
    store = UserStore(settings)
    report = Report()
    for item in plain_secrets(settings, page_size):
        encrypt_record(store, item, report, dry_run)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", help="take TABLE_PREFIX and TOTP_KMS_KEY_ID from this stage of .chalice/config.json")
    parser.add_argument("--page-size", type=int, default=100, help="items per Scan page (default 100)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be encrypted; write nothing")
    args = parser.parse_args(argv)
    if args.stage:
        import os

        import deploy_template

        settings = Settings.from_env(os.environ | deploy_template.stage_environment(args.stage))
    else:
        settings = Settings.from_env()
    use_settings(settings)
    dynamo.reset_client()
    kms.reset_client()
    report = encrypt_all(settings, args.page_size, args.dry_run)
    print(("would encrypt: " if args.dry_run else "") + str(report))


if __name__ == "__main__":
    main()
