"""The packaged SAM template: valid, and it creates exactly what the code expects to find."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import deploy_template
import pytest

from chalicelib.store.tables import TABLES, create_table_params
from tests.deploy.conftest import Package


def _sorted_by_name(values: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(values, key=lambda v: v[key])


def test_cfn_lint_finds_no_errors_in_either_stage(packages: dict[str, Package], tmp_path: Path) -> None:
    data = tmp_path / "data-dev.json"
    data.write_text(json.dumps(deploy_template.data_template("dev")))
    templates = [str(p.zip_path.parent / "sam.json") for p in packages.values()] + [str(data)]
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), *templates], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_tables_are_those_of_store_tables(packages: dict[str, Package], stage: str) -> None:
    package = packages[stage]
    settings = deploy_template.stage_settings(stage)
    found = {t["Properties"]["TableName"]: t["Properties"] for t in package.resources("AWS::DynamoDB::Table").values()}
    assert set(found) == {settings.table_name(t.name) for t in TABLES}
    for table in TABLES:
        expected = create_table_params(table, settings)
        got = found[expected["TableName"]]
        assert got["KeySchema"] == expected["KeySchema"]
        assert sorted(got["AttributeDefinitions"], key=str) == sorted(expected["AttributeDefinitions"], key=str)
        assert _sorted_by_name(got.get("GlobalSecondaryIndexes", []), "IndexName") == _sorted_by_name(
            expected.get("GlobalSecondaryIndexes", []), "IndexName"
        )
        assert got["BillingMode"] == "PAY_PER_REQUEST"
        assert got["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        ttl = {"AttributeName": table.ttl_attribute, "Enabled": True} if table.ttl_attribute else None
        assert got.get("TimeToLiveSpecification") == ttl


def test_the_quick_paths_data_template_holds_the_same_tables_and_secret(dev: Package) -> None:
    data = deploy_template.data_template("dev")["Resources"]
    assert data == {k: v for k, v in dev.template["Resources"].items() if k in data}
    assert set(data) == set(dev.resources("AWS::DynamoDB::Table")) | {"JwtSecret", "TotpKey", "TotpKeyAlias"}


def test_prod_tables_are_protected_from_deletion_and_dev_tables_are_not(dev: Package, prod: Package) -> None:
    for table in prod.resources("AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    for table in dev.resources("AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is False
        assert "DeletionPolicy" not in table


def test_the_signing_key_is_a_generated_secret_whose_arn_the_functions_get(dev: Package) -> None:
    [(secret_id, secret)] = dev.resources("AWS::SecretsManager::Secret").items()
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 48
    assert "SecretString" not in secret["Properties"]
    functions = dev.resources("AWS::Serverless::Function")
    assert set(functions) == {"APIHandler", "PurgeExpiredSessions"}
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["JWT_SECRET_ARN"] == {"Ref": secret_id}
        assert "JWT_SECRET" not in env
        assert env["TABLE_PREFIX"] == deploy_template.stage_settings("dev").table_prefix


def test_the_api_the_schedule_and_the_runtime(dev: Package) -> None:
    functions = dev.resources("AWS::Serverless::Function")
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {"python3.11"}
    assert functions["APIHandler"]["Properties"]["Handler"] == "app.app"
    purge = functions["PurgeExpiredSessions"]["Properties"]
    assert purge["Handler"] == "app.purge_expired_sessions"
    assert [e["Properties"]["Schedule"] for e in purge["Events"].values()] == ["rate(1 hour)"]
    assert len(dev.resources("AWS::Serverless::Api")) == 1
    groups = {g["Properties"]["LogGroupName"] for g in dev.resources("AWS::Logs::LogGroup").values()}
    assert groups == {f"/aws/lambda/{f['Properties']['FunctionName']}" for f in functions.values()}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


TOTP_KEY_ARN = {"Fn::GetAtt": ["TotpKey", "Arn"]}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_role_has_only_the_narrowed_policy_file(packages: dict[str, Package], stage: str) -> None:
    package = packages[stage]
    committed = json.loads(deploy_template.policy_path(stage).read_text())
    roles = package.resources("AWS::IAM::Role")
    assert set(roles) == {role for role, _ in deploy_template.FUNCTIONS.values()}
    for function, (role_id, _) in deploy_template.FUNCTIONS.items():
        role = roles[role_id]
        assert "ManagedPolicyArns" not in role["Properties"]
        [policy] = role["Properties"]["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        # The purge function touches no TOTP secret: its role has no statement on the KMS key.
        expected = [s for s in committed["Statement"] if s["Sid"] != "TotpKey" or function == "APIHandler"]
        assert [s["Action"] for s in statements] == [s["Action"] for s in expected]
        assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements)
        actions = {a for s in statements for a in s["Action"]}
        assert "dynamodb:Scan" not in actions and not any("*" in a for a in actions)
        kms = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
        if function == "APIHandler":
            assert kms == [
                {
                    "Sid": "TotpKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:Encrypt"],
                    "Resource": [TOTP_KEY_ARN],
                }
            ]
        else:
            assert kms == []
        resources = [r for s in statements for r in s["Resource"] if r != TOTP_KEY_ARN]
        # Only log streams (named by Lambda at run time) are left open, inside our own log groups.
        for text in (s for r in resources for s in _strings(r)):
            assert "*" not in text.replace(":*", ""), text
            assert "${AWS::Region}:${AWS::AccountId}" in text or text == "JwtSecret", text
        [secret] = [s for s in statements if s["Sid"] == "SigningKey"]
        assert secret == {
            "Sid": "SigningKey",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [{"Ref": "JwtSecret"}],
        }


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_totp_key_is_a_rotated_symmetric_key_the_account_administers(
    packages: dict[str, Package], stage: str
) -> None:
    package = packages[stage]
    [(key_id, key)] = package.resources("AWS::KMS::Key").items()
    assert key_id == "TotpKey"
    properties = key["Properties"]
    assert properties["EnableKeyRotation"] is True
    assert properties["KeySpec"] == "SYMMETRIC_DEFAULT" and properties["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert properties.get("Enabled", True) is True
    # The key policy names the account alone: the functions' roles get their use through IAM.
    [statement] = properties["KeyPolicy"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    [alias] = package.resources("AWS::KMS::Alias").values()
    assert alias["Properties"] == {
        "AliasName": deploy_template.stage_environment(stage)["TOTP_KMS_KEY_ID"],
        "TargetKeyId": {"Ref": "TotpKey"},
    }
    # A prod stack's tables outlive it, and so must the key their secrets are encrypted with.
    if stage == "prod":
        assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    for function in package.resources("AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["TOTP_KMS_KEY_ID"] == TOTP_KEY_ARN


def test_no_statement_of_either_stage_grants_more_than_encrypt_and_decrypt_on_kms(
    packages: dict[str, Package],
) -> None:
    for package in packages.values():
        for role in package.resources("AWS::IAM::Role").values():
            for policy in role["Properties"]["Policies"]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    touched = [a for a in actions if a.lower().startswith("kms:") or a == "*"]
                    assert set(touched) <= {"kms:Encrypt", "kms:Decrypt"}, statement
                    if touched:
                        assert statement["Resource"] == [TOTP_KEY_ARN], statement
