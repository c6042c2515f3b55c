"""Mail, an adapter beside the store: one interface, two transports.

- ``SesMailer``: Amazon SES (``sesv2`` SendEmail) from ``EMAIL_FROM``, in a deployed stage.
- ``OutboxMailer``: under ``make run`` nothing leaves the machine; each message is written as an
  RFC 5322 ``.eml`` file into ``MAIL_DIR`` and its subject and link are printed to the console.

``MAIL_TRANSPORT`` (``ses`` or ``outbox``) chooses; unset, a stage with ``EMAIL_FROM`` uses SES and
any other the outbox. Messages are multipart/alternative: plain text, and the same as HTML.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.config import Settings

if TYPE_CHECKING:
    from email.message import EmailMessage

SES, OUTBOX = "ses", "outbox"
_outbox_from = "Latchkey <latchkey@localhost>"


@dataclass(frozen=True)
class Message:
    kind: str  # what it is for, for logs: "email_verification", "password_reset", ...
    to: str
    subject: str
    text: str
    html: str
    link: str | None = None  # the one link a message that asks the reader to act holds


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


def rfc5322(message: Message, sender: str) -> EmailMessage:
    """The message as an RFC 5322 document: multipart/alternative, plain text then HTML."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="latchkey.invalid")
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class OutboxMailer:
    """Writes each message to ``directory`` as ``<time-ordered id>.eml`` and prints its subject and link."""

    def __init__(self, directory: str, sender: str = "") -> None:
        self.directory = Path(directory)
        self.sender = sender or _outbox_from

    def send(self, message: Message) -> None:
        from chalicelib.security.ids import new_id

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{new_id()}.eml"
        path.write_bytes(bytes(rfc5322(message, self.sender)))
        # The console, not the log: the link carries a token, which no log may hold.
        lines = [f"[mail] to {message.to}: {message.subject} ({path})"]
        if message.link:
            lines.append(f"[mail]   {message.link}")
        print("\n".join(lines), file=sys.stdout, flush=True)


class SesMailer:
    """Sends through Amazon SES v2 from ``sender``; the client is made on first use, with bounded
    timeouts and retries (a mail that cannot be sent fails the call, within about 10 seconds)."""

    def __init__(self, sender: str, region: str, endpoint_url: str | None = None) -> None:
        if not sender:
            raise ValueError("EMAIL_FROM must be set to send through SES")
        self.sender = sender
        self.region = region
        self.endpoint_url = endpoint_url
        self._ses: Any = None

    def ses_client(self) -> Any:
        """The sesv2 client, made on first use (boto3 is not imported before)."""
        if self._ses is None:
            import boto3
            from botocore.config import Config

            ses = boto3.client(
                "sesv2",
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=3),
            )
            self._ses = ses
        return self._ses

    def send(self, message: Message) -> None:
        ses = self.ses_client()
        ses.send_email(
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": [message.to]},
            Content={
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                }
            },
        )


def transport(settings: Settings) -> str:
    """Which transport the settings choose."""
    return settings.mail_transport or (SES if settings.email_from else OUTBOX)


def mailer_for(settings: Settings) -> Mailer:
    """The mailer the settings choose (see the module's docstring)."""
    if transport(settings) == SES:
        return SesMailer(settings.email_from, settings.aws_region)
    return OutboxMailer(settings.mail_dir, settings.email_from)
