"""The IAM policy files grant exactly the AWS calls the code makes, on our own resources only.

When a store starts making a new DynamoDB call, these tests fail until the policy files are
regenerated (`make policy`) and the change to the grant is committed, where a reviewer sees it.
"""

from __future__ import annotations

import ast
import json
import textwrap

import deploy_template
import pytest

from chalicelib.store.tables import TABLES

STAGES = deploy_template.stages()


def _actions(document: dict[str, object], prefix: str) -> set[str]:
    statements = document["Statement"]
    assert isinstance(statements, list)
    return {a for s in statements for a in s["Action"] if a.startswith(prefix)}


def test_both_stages_have_a_policy_file_and_no_generated_policy() -> None:
    config = deploy_template.load_config()
    assert config["autogen_policy"] is False
    assert STAGES == ["dev", "prod"]
    for stage in STAGES:
        assert deploy_template.policy_path(stage).is_file()


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_grants_exactly_the_dynamodb_calls_the_code_makes(stage: str) -> None:
    committed = json.loads(deploy_template.policy_path(stage).read_text())
    called = {a for a in deploy_template.collect_actions() if a.startswith("dynamodb:")}
    granted = _actions(committed, "dynamodb:")
    assert granted == called, (
        f"the code calls {sorted(called - granted)} without a grant and is granted {sorted(granted - called)} "
        "it does not call: run `make policy` and commit .chalice/policy-*.json"
    )
    assert "dynamodb:Scan" not in granted


@pytest.mark.parametrize("stage", STAGES)
def test_the_committed_policy_is_the_generated_one(stage: str) -> None:
    committed = json.loads(deploy_template.policy_path(stage).read_text())
    assert committed == deploy_template.policy_document(stage), "run `make policy` and commit the result"


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_names_only_our_tables_indexes_secret_and_log_groups(stage: str) -> None:
    committed = json.loads(deploy_template.policy_path(stage).read_text())
    settings = deploy_template.stage_settings(stage)
    by_sid = {s["Sid"]: s for s in committed["Statement"]}
    assert set(by_sid) == {"Tables", "SigningKey", "TotpKey", "Mail", "Logs"}
    assert all(s["Effect"] == "Allow" for s in committed["Statement"])
    assert all("Condition" not in s for sid, s in by_sid.items() if sid != "TotpKey")
    expected = set()
    for table in TABLES:
        arn = f"arn:aws:dynamodb:*:*:table/{settings.table_name(table.name)}"
        expected |= {arn} | {f"{arn}/index/{i.name}" for i in table.indexes}
    assert set(by_sid["Tables"]["Resource"]) == expected
    assert by_sid["SigningKey"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert by_sid["SigningKey"]["Resource"] == [
        f"arn:aws:secretsmanager:*:*:secret:{deploy_template.secret_name(stage)}-??????"
    ]
    assert by_sid["Mail"] == {
        "Sid": "Mail",
        "Effect": "Allow",
        "Action": ["ses:SendEmail"],
        "Resource": [f"arn:aws:ses:*:*:identity/{deploy_template.email_identity(stage)}"],
    }
    # The KMS key, whose id a policy file cannot know, is the one with the stage's alias, and the
    # functions may only encrypt and decrypt with it.
    assert by_sid["TotpKey"] == {
        "Sid": "TotpKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:Encrypt"],
        "Resource": ["arn:aws:kms:*:*:key/*"],
        "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [f"alias/latchkey-{stage}/totp-secrets"]}},
    }
    assert deploy_template.stage_environment(stage)["TOTP_KMS_KEY_ID"] == f"alias/latchkey-{stage}/totp-secrets"
    log_groups = f"arn:aws:logs:*:*:log-group:/aws/lambda/latchkey-{stage}"
    assert all(r.startswith(log_groups) for r in by_sid["Logs"]["Resource"])
    assert "*" not in [r for s in committed["Statement"] for r in s["Resource"]]


def test_the_code_reads_the_signing_secret_uses_the_totp_key_and_calls_no_other_service() -> None:
    actions = deploy_template.collect_actions()
    assert {a for a in actions if not a.startswith("dynamodb:")} == {
        "secretsmanager:GetSecretValue",
        "kms:Encrypt",
        "kms:Decrypt",
        "ses:SendEmail",
    }
    # What the store calls today; get_many is GetItem or BatchGetItem, a transaction needs PutItem.
    assert {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:BatchWriteItem"} <= actions
    assert "dynamodb:PutItem" in actions


def _collected(source: str) -> set[tuple[str, str]]:
    return deploy_template._calls_in(ast.parse(textwrap.dedent(source)))


def test_the_collector_sees_calls_however_the_client_is_reached() -> None:
    source = """
        import boto3
        from chalicelib.store import dynamo
        from chalicelib.store.dynamo import client

        def f():
            dynamo.client().scan(TableName="t")
            client().describe_table(TableName="t")
            c = dynamo.client()
            c.update_item(TableName="t")
            c.get_paginator("query")
            kms = boto3.client("kms", region_name="x")
            kms.decrypt(CiphertextBlob=b"")
            client.create_table(TableName="t")  # a client passed in, not the app's own
            dynamo.client().meta.events
    """
    assert _collected(source) == {
        ("dynamodb", "scan"),
        ("dynamodb", "describe_table"),
        ("dynamodb", "update_item"),
        ("dynamodb", "query"),
        ("kms", "decrypt"),
    }


def test_the_collector_sees_calls_on_a_modules_own_client_factory() -> None:
    source = """
        import boto3

        def client():
            return boto3.client("kms", region_name="x")

        def encrypt():
            return client().encrypt(KeyId="k")

        def decrypt():
            c = client()
            return c.decrypt(CiphertextBlob=b"")
    """
    assert _collected(source) == {("kms", "encrypt"), ("kms", "decrypt")}
    # and from another module, through the adapter: store/kms.py's client()
    elsewhere = """
        from chalicelib.store import dynamo, kms

        def f():
            kms.client().re_encrypt(CiphertextBlob=b"")
            dynamo.client().get_item(TableName="t")
    """
    assert _collected(elsewhere) == {("kms", "re_encrypt"), ("dynamodb", "get_item")}


def test_a_transaction_needs_the_actions_of_the_items_it_carries() -> None:
    tree = ast.parse('items = [{"Put": {}}, {"ConditionCheck": {}}, {"Other": 1}]')
    assert deploy_template._transact_item_kinds(tree) == {"Put", "ConditionCheck"}
