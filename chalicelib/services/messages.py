"""The mails the service sends: what each says, in plain text and HTML, and its one link.

Every link goes to the dashboard at ``PUBLIC_URL``; a token travels in the URL's fragment
(``#action=…&token=…``), which browsers never send to a server, so no access log ever holds it.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from chalicelib.config import Settings
from chalicelib.mail import Message

__all__ = ["Message"]

VERIFY_EMAIL, RESET_PASSWORD, FORGOT_PASSWORD = "verify-email", "reset-password", "forgot-password"


def dashboard_link(settings: Settings, action: str, token: str | None = None) -> str:
    fragment = {"action": action} | ({"token": token} if token else {})
    return f"{settings.public_url}/#{urlencode(fragment)}"


def _message(kind: str, to: str, subject: str, paragraphs: list[str], link: str, link_text: str) -> Message:
    """A message of ``paragraphs`` with ``link`` after the first: the plain-text part holds that
    link once, and no other."""
    first, rest = paragraphs[0], paragraphs[1:]
    text = "\n\n".join([first, f"{link_text}:\n{link}", *rest, "-- Latchkey"]) + "\n"
    html = "".join(
        [
            f"<p>{escape(first)}</p>",
            f'<p><a href="{escape(link)}">{escape(link_text)}</a></p>',
            *(f"<p>{escape(p)}</p>" for p in rest),
            "<p>&mdash; Latchkey</p>",
        ]
    )
    return Message(kind, to, subject, text, f"<!doctype html><html><body>{html}</body></html>", link)


def _not_you(settings: Settings) -> tuple[str, str]:
    return dashboard_link(settings, FORGOT_PASSWORD), "If this was not you, reset your password now"


def verify_email(settings: Settings, username: str, email: str, token: str) -> Message:
    return _message(
        "email_verification",
        email,
        "Confirm your email address",
        [
            f"Hello {username}, please confirm that {email} is your address for Latchkey.",
            "The link works once, within 24 hours. If you did not sign up, ignore this message.",
        ],
        dashboard_link(settings, VERIFY_EMAIL, token),
        "Confirm your address",
    )


def confirm_new_email(settings: Settings, username: str, new_email: str, token: str) -> Message:
    return _message(
        "email_change",
        new_email,
        "Confirm your new email address",
        [
            f"Hello {username}, you asked to make {new_email} your address for Latchkey.",
            "Your address changes when you open this link; it works once, within 24 hours. "
            "If you did not ask for this, ignore this message.",
        ],
        dashboard_link(settings, VERIFY_EMAIL, token),
        "Confirm the new address",
    )


def email_changed(settings: Settings, username: str, old_email: str, new_email: str) -> Message:
    link, text = _not_you(settings)
    return _message(
        "email_changed",
        old_email,
        "Your email address was changed",
        [f"Hello {username}, the address of your Latchkey account is now {new_email} instead of {old_email}."],
        link,
        text,
    )


def password_reset(settings: Settings, username: str, email: str, token: str) -> Message:
    return _message(
        "password_reset",
        email,
        "Reset your password",
        [
            f"Hello {username}, someone (we hope you) asked to reset the password of your Latchkey account.",
            "The link works once, within an hour; a newer request's link replaces it. If you did not "
            "ask for this, ignore this message: your password stays as it is.",
        ],
        dashboard_link(settings, RESET_PASSWORD, token),
        "Choose a new password",
    )


def password_was_reset(settings: Settings, username: str, email: str) -> Message:
    link, text = _not_you(settings)
    return _message(
        "password_was_reset",
        email,
        "Your password was reset",
        [f"Hello {username}, the password of your Latchkey account was reset, and every session ended."],
        link,
        text,
    )


def password_changed(settings: Settings, username: str, email: str) -> Message:
    link, text = _not_you(settings)
    return _message(
        "password_changed",
        email,
        "Your password was changed",
        [f"Hello {username}, the password of your Latchkey account was changed; your other sessions ended."],
        link,
        text,
    )
