"""The mail adapter: the outbox under `make run`, Amazon SES (moto's) in a deployed stage, and
which of the two the configuration chooses."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import boto3
import local_dynamodb
import pytest
from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.mail import Message, OutboxMailer, SesMailer, mailer_for
from chalicelib.services import Services
from tests.conftest import Api

SENDER = "Latchkey <no-reply@mail.example.com>"
MESSAGE = Message("test", "alice@example.com", "Hello", "Open https://x.example/#token=abc\n", "<p>Hi</p>", "https://x")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    endpoint, stop = local_dynamodb.start_moto()
    yield endpoint
    stop()


def sent_messages() -> list[object]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def verify_identity(endpoint: str, identity: str) -> None:
    boto3.client("ses", region_name="us-east-1", endpoint_url=endpoint).verify_domain_identity(Domain=identity)


def test_ses_sends_from_the_verified_identity(moto_endpoint: str) -> None:
    verify_identity(moto_endpoint, "mail.example.com")
    before = len(sent_messages())
    SesMailer(SENDER, "us-east-1", moto_endpoint).send(MESSAGE)
    sent = sent_messages()[before:]
    assert len(sent) == 1
    message = sent[0]
    assert message.source == SENDER  # type: ignore[attr-defined]
    assert message.destinations == {"ToAddresses": ["alice@example.com"]}  # type: ignore[attr-defined]
    assert message.subject == "Hello" and message.body == "<p>Hi</p>"  # type: ignore[attr-defined]


def test_ses_refuses_an_unverified_sender(moto_endpoint: str) -> None:
    with pytest.raises(ClientError) as refused:
        SesMailer("someone@unverified.example", "us-east-1", moto_endpoint).send(MESSAGE)
    assert refused.value.response["Error"]["Code"] == "MessageRejected"


def test_sign_up_mails_through_ses_when_configured(api: Api, services: Services, moto_endpoint: str) -> None:
    verify_identity(moto_endpoint, "mail.example.com")
    services.mailer = SesMailer(SENDER, "us-east-1", moto_endpoint)  # what mailer_for makes in a stage
    before = len(sent_messages())
    api.signup("alice")
    sent = sent_messages()[before:]
    assert len(sent) == 1 and sent[0].subject == "Confirm your email address"  # type: ignore[attr-defined]
    assert "#action=verify-email&amp;token=" in sent[0].body  # type: ignore[attr-defined]


def test_a_mail_that_cannot_be_sent_fails_the_resend_with_a_503(
    api: Api, services: Services, moto_endpoint: str
) -> None:
    services.mailer = SesMailer("someone@unverified.example", "us-east-1", moto_endpoint)
    token = api.signup("alice").body["token"]  # sign-up goes on without its mail
    services.clock.advance(60)  # type: ignore[attr-defined]
    reply = api.post("/v1/user/email/verification", token=token)
    assert reply.status == 503 and reply.body["Code"] == "ServiceUnavailableError" and "retry-after" in reply.headers


def test_the_outbox_writes_rfc_5322_multipart_alternative(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    OutboxMailer(str(tmp_path / "mail")).send(MESSAGE)
    (path,) = (tmp_path / "mail").glob("*.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "alice@example.com" and parsed["Subject"] == "Hello" and parsed["Date"]
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    printed = capsys.readouterr().out
    assert "Hello" in printed and "https://x" in printed


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({}, OutboxMailer),
        ({"EMAIL_FROM": SENDER}, SesMailer),
        ({"EMAIL_FROM": SENDER, "MAIL_TRANSPORT": "outbox"}, OutboxMailer),
        ({"EMAIL_FROM": SENDER, "MAIL_TRANSPORT": "SES"}, SesMailer),
    ],
)
def test_the_configuration_chooses_the_transport(env: dict[str, str], kind: type) -> None:
    assert isinstance(mailer_for(Settings.from_env(env)), kind)


def test_ses_without_a_sender_or_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="EMAIL_FROM"):
        mailer_for(Settings.from_env({"MAIL_TRANSPORT": "ses"}))
    with pytest.raises(ValueError, match="MAIL_TRANSPORT"):
        Settings.from_env({"MAIL_TRANSPORT": "carrier-pigeon"})
