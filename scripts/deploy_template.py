"""Deployment artefacts: the IAM policy files, the template merged into `chalice package`, the bundle.

    python scripts/deploy_template.py policy                      # rewrite .chalice/policy-<stage>.json
    python scripts/deploy_template.py package --stage dev         # dist/dev: sam.json + deployment.zip
    python scripts/deploy_template.py data --stage dev OUT.json   # only the tables and the secret

The policy files are committed and reviewed: their DynamoDB actions are those the code calls, found
by reading chalicelib's source (``collect_actions``), and a test fails when the two differ. The
template takes the policy files' actions and narrows their resources to this stack's tables,
indexes, secret, KMS key and log groups. Table names come from the stage's TABLE_PREFIX, the
secret's name from its JWT_SECRET_ARN and the KMS key's alias from its TOTP_KMS_KEY_ID in
.chalice/config.json, so `chalice deploy` and the template agree. Only the API function may use
the KMS key (to encrypt and decrypt TOTP secrets); the purge function's role has no grant on it.
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib import metrics  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.store.tables import TABLES, Table, create_table_params  # noqa: E402

CONFIG = ROOT / ".chalice" / "config.json"
SOURCES = (ROOT / "chalicelib", ROOT / "app.py")
LOG_RETENTION_DAYS = {"prod": 365}
DEFAULT_LOG_RETENTION_DAYS = 30
SECRET_LENGTH = 64

# The Lambda functions chalice package writes for app.py: logical id -> (role's logical id, name).
# The names are those `chalice deploy` gives, so both paths log to the same groups.
FUNCTIONS = {
    "APIHandler": ("ApiHandlerRole", "{app}-{stage}"),
    "PurgeExpiredSessions": ("PurgeExpiredSessionsRole", "{app}-{stage}-purge_expired_sessions"),
}

# The functions that use the TOTP secrets' KMS key; the others' roles get no statement on it.
KMS_KEY_USERS = {"APIHandler"}
KMS_ACTIONS = ["kms:Decrypt", "kms:Encrypt"]  # the only KMS actions any role may get
KEY_PENDING_DAYS = {"prod": 30}
DEFAULT_KEY_PENDING_DAYS = 7

# What a TransactWriteItems item needs (IAM has no TransactWriteItems action of its own).
_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


# --- what the code calls ---------------------------------------------------------------------------


@functools.cache
def _operations(service: str) -> dict[str, str]:
    """The service's client method names (snake_case) -> API operation names."""
    import botocore
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return {botocore.xform_name(op): op for op in model.operation_names}


# Adapters whose module-level ``client()`` makes a client of another service than DynamoDB's.
_ADAPTER_CLIENTS = {"kms": "kms"}


def _client_service(call: ast.expr, factories: dict[str, str] | None = None) -> str | None:
    """The service of a client made by ``call``: ``dynamo.client()``/``client()``, ``kms.client()``,
    ``boto3.client("x")``, or a call of one of this module's own ``factories`` (name -> service)."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if isinstance(func, ast.Name) and factories and name in factories:
        return factories[name]  # a module's own client(), e.g. in store/kms.py
    if name != "client":
        return None
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value  # boto3.client("secretsmanager", ...)
    if not call.args and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return _ADAPTER_CLIENTS.get(func.value.id, "dynamodb")  # kms.client(); dynamo.client()
    return "dynamodb" if not call.args else None  # the store's shared client: dynamo.client()


def _client_factories(tree: ast.AST) -> dict[str, str]:
    """This module's functions that make a client with ``boto3.client("<service>")``: name -> service."""
    factories: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                service = _client_service(inner) if isinstance(inner, ast.Call) and inner.args else None
                if service:
                    factories[node.name] = service
    return factories


def _calls_in(tree: ast.AST) -> set[tuple[str, str]]:
    """(service, client method) for every call on an AWS client in one module."""
    factories = _client_factories(tree)
    aliases: dict[str, str] = {}  # variables holding a client, e.g. ``secrets = boto3.client(...)``
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and (service := _client_service(node.value, factories)):
            aliases.update({t.id: service for t in node.targets if isinstance(t, ast.Name)})
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        service = _client_service(target, factories) or (
            aliases.get(target.id) if isinstance(target, ast.Name) else None
        )
        if not service:
            continue
        method = node.func.attr
        if method == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
            method = str(node.args[0].value)
        found.add((service, method))
    return found


def _transact_item_kinds(tree: ast.AST) -> set[str]:
    """The TransactWriteItems item kinds ("Put", "Update", ...) written as dict keys in one module."""
    return {
        key.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and key.value in _TRANSACT_ITEM_ACTIONS
    }


def _python_files() -> list[Path]:
    files: list[Path] = []
    for source in SOURCES:
        files.extend(sorted(source.rglob("*.py")) if source.is_dir() else [source])
    return files


def collect_actions() -> set[str]:
    """The IAM actions of every AWS call in chalicelib and app.py, e.g. ``dynamodb:GetItem``.

    It reads calls on the store's ``client()`` and on ``boto3.client("<service>")`` (and on variables
    holding one). A transaction needs the actions of the items it carries, so TransactWriteItems
    counts as the PutItem/UpdateItem/DeleteItem/ConditionCheckItem items written in the code, and
    TransactGetItems as GetItem. Calls on a client passed in as an argument (``create_tables``,
    used by the tests and the dev server, never in Lambda) are not counted.
    """
    calls: set[tuple[str, str]] = set()
    kinds: set[str] = set()
    for path in _python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        calls |= _calls_in(tree)
        kinds |= _transact_item_kinds(tree)
    actions: set[str] = set()
    operations: dict[str, dict[str, str]] = {}
    for service, method in calls:
        known = operations.setdefault(service, _operations(service))
        op = known.get(method)
        if op is None:
            continue  # not an API call (client.meta, client.exceptions, ...)
        if (service, op) == ("dynamodb", "TransactWriteItems"):
            actions |= {f"dynamodb:{_TRANSACT_ITEM_ACTIONS[k]}" for k in kinds}
        elif (service, op) == ("dynamodb", "TransactGetItems"):
            actions.add("dynamodb:GetItem")
        elif service == "sesv2":
            actions.add(f"ses:{op}")  # SES v2's API is authorized by the ses: actions
        else:
            actions.add(f"{service}:{op}")
    return actions


# --- the stages ------------------------------------------------------------------------------------


def load_config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(CONFIG.read_text())
    return config


def stages() -> list[str]:
    return sorted(load_config()["stages"])


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables .chalice/config.json gives ``stage``'s functions."""
    config = load_config()
    if stage not in config["stages"]:
        raise SystemExit(f"unknown stage {stage!r}: .chalice/config.json has {', '.join(stages())}")
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def stage_settings(stage: str) -> Settings:
    return Settings.from_env(stage_environment(stage))


def secret_name(stage: str) -> str:
    """The signing secret's name: the stage's JWT_SECRET_ARN, which may name it rather than be its ARN."""
    value = stage_environment(stage).get("JWT_SECRET_ARN", "")
    if not value or value.startswith("arn:"):
        raise SystemExit(f"stage {stage}: JWT_SECRET_ARN in .chalice/config.json must be the secret's name")
    return value


def totp_key_alias(stage: str) -> str:
    """The TOTP key's alias: the stage's TOTP_KMS_KEY_ID, which names it by alias rather than by ARN."""
    value = stage_environment(stage).get("TOTP_KMS_KEY_ID", "")
    if not value.startswith("alias/"):
        raise SystemExit(f"stage {stage}: TOTP_KMS_KEY_ID in .chalice/config.json must be the key's alias/...")
    return value


def email_identity(stage: str) -> str:
    """The SES identity mail is sent from: the stage's EMAIL_IDENTITY, else the domain of its EMAIL_FROM."""
    from email.utils import parseaddr

    env = stage_environment(stage)
    identity = env.get("EMAIL_IDENTITY") or parseaddr(env.get("EMAIL_FROM", ""))[1].rpartition("@")[2]
    if not identity:
        raise SystemExit(f"stage {stage}: set EMAIL_FROM in .chalice/config.json (the address mail is sent from)")
    return identity


def function_names(stage: str) -> dict[str, str]:
    app = load_config()["app_name"]
    return {logical: name.format(app=app, stage=stage) for logical, (_, name) in FUNCTIONS.items()}


def policy_path(stage: str) -> Path:
    return ROOT / ".chalice" / f"policy-{stage}.json"


def logical_id(table: Table) -> str:
    return "".join(part.capitalize() for part in table.name.split("_")) + "Table"


# --- the policy ------------------------------------------------------------------------------------


def policy_document(stage: str) -> dict[str, Any]:
    """The stage's policy file: what the code calls, on the stage's tables, indexes, secret and logs.

    Region and account are left open (a policy file cannot know them); the template narrows them.
    """
    settings = stage_settings(stage)
    actions = collect_actions()
    tables: list[str] = []
    for table in TABLES:
        arn = f"arn:aws:dynamodb:*:*:table/{settings.table_name(table.name)}"
        tables.append(arn)
        tables.extend(f"{arn}/index/{index.name}" for index in table.indexes)
    dynamodb = sorted(a for a in actions if a.startswith("dynamodb:"))
    secrets = sorted(a for a in actions if a.startswith("secretsmanager:"))
    keys = sorted(a for a in actions if a.startswith("kms:"))
    mail = sorted(a for a in actions if a.startswith("ses:"))
    others = sorted(actions - set(dynamodb) - set(secrets) - set(keys) - set(mail))
    if others or not set(keys) <= set(KMS_ACTIONS):
        raise SystemExit(f"the code calls {', '.join(others + keys)}: add them to scripts/deploy_template.py")
    logs = [f"arn:aws:logs:*:*:log-group:/aws/lambda/{name}:*" for name in function_names(stage).values()]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Tables", "Effect": "Allow", "Action": dynamodb, "Resource": tables},
            {
                "Sid": "SigningKey",
                "Effect": "Allow",
                "Action": secrets,
                # Secrets Manager appends six random characters to a secret's name in its ARN.
                "Resource": [f"arn:aws:secretsmanager:*:*:secret:{secret_name(stage)}-??????"],
            },
            {
                "Sid": "TotpKey",
                "Effect": "Allow",
                "Action": keys,
                # A policy file cannot know the key's id: it names the key by its alias. The template
                # names the stack's own key instead, and gives this statement to the API function only.
                "Resource": ["arn:aws:kms:*:*:key/*"],
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [totp_key_alias(stage)]}},
            },
            {
                "Sid": "Mail",
                "Effect": "Allow",
                "Action": mail,
                "Resource": [f"arn:aws:ses:*:*:identity/{email_identity(stage)}"],
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": logs,
            },
        ],
    }


def write_policies() -> list[Path]:
    written = []
    for stage in stages():
        path = policy_path(stage)
        path.write_text(json.dumps(policy_document(stage), indent=2) + "\n")
        written.append(path)
    return written


def _narrow(resource: str, stage: str) -> Any:
    """A policy-file resource as this stack's own: its region and account, the secret's real ARN."""
    if resource.startswith("arn:aws:secretsmanager:"):
        return {"Ref": "JwtSecret"}
    if resource.startswith("arn:aws:ses:"):  # the identity the stack's EmailIdentity parameter names
        return {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailIdentity}"}
    if resource.startswith("arn:aws:kms:"):
        return {"Fn::GetAtt": ["TotpKey", "Arn"]}
    match = re.fullmatch(r"arn:aws:([a-z0-9-]+):\*:\*:(.+)", resource)
    if not match:
        raise SystemExit(f"{policy_path(stage).name}: unexpected resource {resource}")
    service, rest = match.groups()
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{rest}"}


def template_policy(stage: str, function: str = "APIHandler") -> dict[str, Any]:
    """The committed policy file of ``stage`` with its resources narrowed to this stack, for the
    role of ``function`` (the KMS key's statement only for those in KMS_KEY_USERS)."""
    document = json.loads(policy_path(stage).read_text())
    statements = []
    for statement in document["Statement"]:
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        narrowed = statement | {"Resource": [_narrow(r, stage) for r in resources]}
        if statement["Sid"] == "TotpKey":
            if function not in KMS_KEY_USERS:
                continue
            narrowed.pop("Condition")  # the stack's own key, by its ARN: no alias to match
        statements.append(narrowed)
    return {"Version": document["Version"], "Statement": statements}


# --- the template ----------------------------------------------------------------------------------


def _table_resource(table: Table, settings: Settings, prod: bool) -> dict[str, Any]:
    params = create_table_params(table, settings)
    properties: dict[str, Any] = dict(params)
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    properties["DeletionProtectionEnabled"] = prod
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    if prod:
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Retain"
    return resource


def data_resources(stage: str) -> dict[str, Any]:
    """The tables and the signing secret of ``stage``."""
    settings = stage_settings(stage)
    prod = stage == "prod"
    resources = {logical_id(t): _table_resource(t, settings, prod) for t in TABLES}
    resources["JwtSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": secret_name(stage),
            "Description": f"Latchkey {stage}: the key that signs session tokens (read once per container)",
            "GenerateSecretString": {"PasswordLength": SECRET_LENGTH, "ExcludePunctuation": True},
        },
    }
    resources |= _totp_key_resources(stage)
    return resources


def _totp_key_resources(stage: str) -> dict[str, Any]:
    """The KMS key that encrypts TOTP secrets, rotated yearly, and its alias.

    Its key policy lets the account administer it (and so lets IAM policies grant its use); the
    functions' roles are granted kms:Encrypt and kms:Decrypt on it, nothing more. In prod the key
    outlives the stack, as the tables holding its ciphertexts do.
    """
    key: dict[str, Any] = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "Description": f"Latchkey {stage}: encrypts TOTP secrets (the API function may encrypt and decrypt)",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "EnableKeyRotation": True,
            "PendingWindowInDays": KEY_PENDING_DAYS.get(stage, DEFAULT_KEY_PENDING_DAYS),
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TheAccountAdministersTheKey",
                        "Effect": "Allow",
                        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            },
        },
    }
    if stage == "prod":
        key["DeletionPolicy"] = key["UpdateReplacePolicy"] = "Retain"
    alias = {
        "Type": "AWS::KMS::Alias",
        "Properties": {"AliasName": totp_key_alias(stage), "TargetKeyId": {"Ref": "TotpKey"}},
    }
    return {"TotpKey": key, "TotpKeyAlias": alias}


OUTPUTS = {
    "JwtSecretArn": {"Value": {"Ref": "JwtSecret"}},
    "TotpKeyArn": {"Value": {"Fn::GetAtt": ["TotpKey", "Arn"]}},
}


# --- the alarms ------------------------------------------------------------------------------------

# The thresholds (docs/operations.md says what to do when each alarm fires).
RATE_PERIOD_SECONDS = 300  # the 5xx and 503 rates are judged over 5-minute periods...
RATE_MIN_REQUESTS = 20  # ... with at least this many requests in one (fewer: no rate is judged)
SERVER_ERROR_PERCENT = 1  # 5xx other than 503 (a bug, or a failure nothing maps to a 503)
UNAVAILABLE_PERCENT = 5  # 503 (the database throttled, failed or did not answer)
THROTTLE_EVENTS = 10  # a table's (and its indexes') throttled reads and writes in 5 minutes
DEFAULT_LOCKOUTS_PER_MINUTE = 20  # lockouts started, each minute for 3 of 5 minutes
PURGE_PERIOD_SECONDS = 3600  # the purge runs hourly: two hours without a success alarm


def _metric(metric: str, dimensions: dict[str, Any], namespace: str = metrics.NAMESPACE) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
    }


def _query(query_id: str, metric: dict[str, Any], period: int, stat: str = "Sum") -> dict[str, Any]:
    return {"Id": query_id, "ReturnData": False, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}


def _alarm(stage: str, name: str, description: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": f"latchkey-{stage}-{name}",
            "AlarmDescription": f"Latchkey {stage}: {description} (docs/operations.md)",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        }
        | properties,
    }


def _rate_alarm(stage: str, name: str, description: str, percent: int, part: str) -> dict[str, Any]:
    """An alarm on the percentage ``part`` (a metric math expression of ``errors`` and ``unavailable``)
    of the stage's requests, in 2 of 3 periods that each saw at least RATE_MIN_REQUESTS requests."""
    here = {metrics.STAGE: stage}
    queries = [
        _query("total", _metric(metrics.REQUESTS, here), RATE_PERIOD_SECONDS),
        _query("errors", _metric(metrics.REQUESTS, here | {metrics.STATUS_CLASS: "5xx"}), RATE_PERIOD_SECONDS),
        _query("unavailable", _metric(metrics.SERVICE_UNAVAILABLE, here), RATE_PERIOD_SECONDS),
        {
            "Id": "rate",
            "Label": f"{description} (% of requests)",
            "Expression": f"IF(total >= {RATE_MIN_REQUESTS}, 100 * ({part}) / total, 0)",
            "ReturnData": True,
        },
    ]
    return _alarm(
        stage,
        name,
        f"{description} above {percent}% of requests",
        Metrics=queries,
        ComparisonOperator="GreaterThanThreshold",
        Threshold=percent,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        TreatMissingData="notBreaching",
    )


def _throttle_alarm(stage: str, table: Table) -> dict[str, Any]:
    """DynamoDB's throttled reads and writes of ``table`` and of its indexes, summed."""
    queries = []
    for n, index in enumerate([None, *table.indexes]):
        dimensions: dict[str, Any] = {"TableName": {"Ref": logical_id(table)}}
        if index is not None:
            dimensions["GlobalSecondaryIndexName"] = index.name
        for kind in ("Read", "Write"):
            metric = _metric(f"{kind}ThrottleEvents", dimensions, namespace="AWS/DynamoDB")
            queries.append(_query(f"{kind.lower()}{n}", metric, RATE_PERIOD_SECONDS))
    total = " + ".join(f"FILL({q['Id']}, 0)" for q in queries)
    queries.append({"Id": "throttles", "Label": "throttle events", "Expression": total, "ReturnData": True})
    return _alarm(
        stage,
        f"{table.name.replace('_', '-')}-throttled",
        f"DynamoDB throttled the {table.name} table or its indexes {THROTTLE_EVENTS} times or more in 5 minutes",
        Metrics=queries,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Threshold=THROTTLE_EVENTS,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        TreatMissingData="notBreaching",
    )


def alarm_resources(stage: str) -> dict[str, Any]:
    """The alarms of ``stage`` and the SNS topic they notify (with an email subscription when the
    AlarmEmail parameter is given)."""
    here = {metrics.STAGE: stage}
    resources: dict[str, Any] = {
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": f"latchkey-{stage}-alarms", "DisplayName": f"Latchkey {stage} alarms"},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "ServerErrorRateAlarm": _rate_alarm(
            stage,
            "server-errors",
            "5xx answers other than 503",
            SERVER_ERROR_PERCENT,
            "FILL(errors, 0) - FILL(unavailable, 0)",
        ),
        "ServiceUnavailableRateAlarm": _rate_alarm(
            stage, "service-unavailable", "503 answers", UNAVAILABLE_PERCENT, "FILL(unavailable, 0)"
        ),
        "LockoutsAlarm": _alarm(
            stage,
            "lockouts",
            "lockouts started far above normal (more than LockoutsPerMinute a minute, 3 minutes of 5)",
            **_metric(metrics.LOCKOUTS_STARTED, here),
            Statistic="Sum",
            Period=60,
            ComparisonOperator="GreaterThanThreshold",
            Threshold={"Ref": "LockoutsPerMinute"},
            EvaluationPeriods=5,
            DatapointsToAlarm=3,
            TreatMissingData="notBreaching",
        ),
        "PurgeAlarm": _alarm(
            stage,
            "purge-not-succeeding",
            "the hourly purge has not succeeded for 2 hours (it fails, or it does not run)",
            **_metric(metrics.PURGE_SUCCEEDED, here),
            Statistic="Sum",
            Period=PURGE_PERIOD_SECONDS,
            ComparisonOperator="LessThanThreshold",
            Threshold=1,
            EvaluationPeriods=2,
            DatapointsToAlarm=2,
            TreatMissingData="breaching",  # no line at all is what a purge that fails or never runs leaves
        ),
    }
    for table in TABLES:
        resources[logical_id(table).removesuffix("Table") + "ThrottlesAlarm"] = _throttle_alarm(stage, table)
    return resources


ALARM_PARAMETERS = {
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "AllowedPattern": r"^$|^[^@\s]+@[^@\s]+$",
        "Description": "An address the alarms mail (it must confirm the subscription); empty: none is subscribed",
    },
    "LockoutsPerMinute": {
        "Type": "Number",
        "Default": DEFAULT_LOCKOUTS_PER_MINUTE,
        "MinValue": 1,
        "Description": "Login lockouts started per minute above which the lockouts alarm fires (3 minutes of 5)",
    },
}
ALARM_CONDITIONS = {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}


def data_template(stage: str) -> dict[str, Any]:
    """A template of the tables, the secret and the KMS key alone, for `chalice deploy`'s quick path."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Latchkey {stage}: DynamoDB tables, the session-token signing secret, the TOTP key",
        "Resources": data_resources(stage),
        "Outputs": OUTPUTS,
    }


def merge_template(stage: str) -> dict[str, Any]:
    """What `chalice package --merge-template` adds to its own template for ``stage``."""
    resources = data_resources(stage) | alarm_resources(stage)
    retention = LOG_RETENTION_DAYS.get(stage, DEFAULT_LOG_RETENTION_DAYS)
    for logical, name in function_names(stage).items():
        role = FUNCTIONS[logical][0]
        resources[logical] = {
            "Properties": {
                "FunctionName": name,
                "Environment": {
                    "Variables": {
                        "JWT_SECRET_ARN": {"Ref": "JwtSecret"},
                        "TOTP_KMS_KEY_ID": {"Fn::GetAtt": ["TotpKey", "Arn"]},
                        "EMAIL_FROM": {"Ref": "EmailFrom"},
                        "PUBLIC_URL": {"Ref": "PublicUrl"},
                        metrics.STAGE_VARIABLE: stage,  # the Stage dimension of the metrics
                    }
                },
            },
            "DependsOn": [f"{logical}LogGroup"],
        }
        resources[f"{logical}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": retention},
        }
        policy = template_policy(stage, logical)
        resources[role] = {"Properties": {"Policies": [{"PolicyName": f"{role}Policy", "PolicyDocument": policy}]}}
    env = stage_environment(stage)
    return {
        "Description": (
            f"Latchkey {stage}: the API, the hourly purge, the tables, the signing secret, the TOTP key, the alarms"
        ),
        "Parameters": {
            "EmailFrom": {
                "Type": "String",
                "Default": env.get("EMAIL_FROM", ""),
                "Description": "The sender of the service's mail (an address of EmailIdentity), as SES sends it",
            },
            "EmailIdentity": {
                "Type": "String",
                "Default": email_identity(stage),
                "Description": "The SES identity (a verified domain or address) the functions may send from",
            },
            "PublicUrl": {
                "Type": "String",
                "Default": "",
                "Description": "The dashboard's URL, which mailed links open: the EndpointURL output or your domain",
            },
        }
        | ALARM_PARAMETERS,
        "Conditions": ALARM_CONDITIONS,
        "Resources": resources,
        "Outputs": OUTPUTS | {"AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}}},
    }


# The functions' runtime, python3.11, runs on Amazon Linux 2, whose glibc is 2.26: a compiled module
# may need no newer glibc symbol version (only weak ones, which the loader skips when missing).
LAMBDA_PYTHON = (3, 11)
LAMBDA_GLIBC = (2, 26)
# `chalice package`, with one change: it may take wheels tagged up to manylinux_2_28. Tags say what
# the machine that built a wheel had, not what its modules need: cbor2 (webauthn's, Rust) ships
# only manylinux_2_28 wheels whose one 2.28 symbol (statx) is weak, and without this chalice leaves
# it out of the bundle ("Could not install dependencies"), so that every passkey call would fail.
# check_glibc() then reads what each compiled module of the bundle really needs.
_CHALICE = (
    "import sys; from chalice.deploy.packager import DependencyBuilder as B; "
    "B._RUNTIME_GLIBC['cp311'] = (2, 28); from chalice.cli import main; sys.exit(main())"
)


def package(stage: str, outdir: Path) -> Path:
    """Run `chalice package` with the merged template into ``outdir`` (replaced). Returns sam.json's path."""
    outdir = outdir.resolve()
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    merge = outdir.parent / f"{outdir.name}-merge.json"
    merge.write_text(json.dumps(merge_template(stage), indent=2) + "\n")
    # chalice wants a region although it asks AWS nothing; the template uses the stack's own region.
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    command = [sys.executable, "-c", _CHALICE, "--project-dir", str(ROOT), "package", "--stage", stage]
    subprocess.run([*command, "--merge-template", str(merge), str(outdir)], check=True, env=env, cwd=ROOT)
    bundle = outdir / "deployment.zip"
    if problems := check_glibc(bundle):
        raise SystemExit("the bundle would not load on Lambda's glibc:\n" + "\n".join(problems))
    add_bytecode(bundle)
    return outdir / "sam.json"


def glibc_needed(elf: bytes) -> tuple[int, int]:
    """The newest glibc version a compiled module needs (its non-weak GLIBC_x.y version needs)."""
    import io

    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    weak = 0x2  # VER_FLG_WEAK
    newest = (2, 0)
    # Besides GLIBC_x.y: GLIBC_ABI_DT_RELR, which glibc 2.36 brought (GLIBC_PRIVATE is glibc's own).
    markers = {"GLIBC_ABI_DT_RELR": (2, 36)}
    for section in ELFFile(io.BytesIO(elf)).iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for _needed, versions in section.iter_versions():
                for version in versions:
                    numbered = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", version.name)
                    needed = (int(numbered[1]), int(numbered[2])) if numbered else markers.get(version.name, newest)
                    if not version["vna_flags"] & weak:
                        newest = max(newest, needed)
    return newest


def check_glibc(bundle: Path) -> list[str]:
    """Each compiled module of ``bundle`` that needs a newer glibc than Lambda's, with what it needs."""
    import zipfile

    problems = []
    with zipfile.ZipFile(bundle) as zipped:
        for name in zipped.namelist():
            if name.endswith(".so") or ".so." in name:
                needed = glibc_needed(zipped.read(name))
                if needed > LAMBDA_GLIBC:
                    problems.append(f"{name} needs glibc {needed[0]}.{needed[1]}")
    return problems


# No bytecode for these, which keeps the bundle small: cffi and pycparser are argon2-cffi-
# bindings' build requirements, never imported at run time (its compiled module needs only
# _cffi_backend); segno draws the QR code, imported only by two-factor setup (its bytecode would be
# an eighth of the bundle; that route compiles it once per container); and the modules of rare
# routes (the API reference, account deletion, mail), which compile once per container when used.
NO_BYTECODE = (
    "cffi/",
    "pycparser/",
    "segno/",
    "chalicelib/openapi.py",
    "chalicelib/services/deletion.py",
    "chalicelib/services/email.py",
)


def add_bytecode(bundle: Path) -> int:
    """Put compiled bytecode into ``__pycache__`` beside every module of the bundle. Returns how many.

    Lambda unpacks the bundle into a read-only /var/task, so without bytecode every cold start
    compiles chalicelib, chalice, jwt, pyotp and argon2 again. The .pyc are for the runtime's
    Python (this interpreter must be 3.11, whose magic number Lambda's checks) and in
    unchecked-hash mode: the runtime loads them without comparing them to the source's time.
    """
    import compileall
    import importlib.util
    import py_compile
    import tempfile
    import zipfile

    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise SystemExit(f"packaging needs Python {'.'.join(map(str, LAMBDA_PYTHON))}, as Lambda runs it")
    added = 0
    with tempfile.TemporaryDirectory() as tmp:
        unpacked = Path(tmp, "bundle")
        with zipfile.ZipFile(bundle) as source:
            entries = source.infolist()
            source.extractall(unpacked)
        compileall.compile_dir(
            unpacked,
            quiet=2,
            ddir="/var/task",  # the path tracebacks show in Lambda
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            workers=1,
        )
        rebuilt = bundle.with_suffix(".tmp")
        # Deflate at its highest level: the bytecode makes the bundle a third larger.
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
            for entry in entries:
                if entry.filename.endswith(".dist-info/RECORD") or "/data/share/man/" in entry.filename:
                    continue  # install records and manual pages: nothing a Lambda function reads
                entry.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(entry, (unpacked / entry.filename).read_bytes() if not entry.is_dir() else b"")
                if not entry.filename.endswith(".py") or entry.filename.startswith(NO_BYTECODE):
                    continue
                cached = importlib.util.cache_from_source(entry.filename)
                if (unpacked / cached).exists():  # a file that is not valid Python gets none
                    info = zipfile.ZipInfo(cached, date_time=entry.date_time)
                    info.external_attr = 0o644 << 16
                    out.writestr(info, (unpacked / cached).read_bytes(), zipfile.ZIP_DEFLATED, 9)
                    added += 1
        rebuilt.replace(bundle)
    return added


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("policy", help="rewrite .chalice/policy-<stage>.json from the code's calls")
    pkg = commands.add_parser("package", help="chalice package with the merged template into dist/<stage>")
    pkg.add_argument("--stage", default="dev")
    pkg.add_argument("--out", type=Path, help="output directory (default dist/<stage>)")
    data = commands.add_parser("data", help="a template of the tables and the secret alone")
    data.add_argument("--stage", default="dev")
    data.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "policy":
        for path in write_policies():
            print(f"wrote {path.relative_to(ROOT)}")
    elif args.command == "package":
        template = package(args.stage, args.out or ROOT / "dist" / args.stage)
        size = (template.parent / "deployment.zip").stat().st_size
        resources = len(json.loads(template.read_text())["Resources"])
        shown = template.parent.relative_to(ROOT) if template.is_relative_to(ROOT) else template.parent
        print(f"wrote {shown}: sam.json ({resources} resources), deployment.zip ({size:,} bytes)")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data_template(args.stage), indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
