"""The baseline for latency: a bare Chalice app whose one route does one GetItem, on the same server."""

from __future__ import annotations

import os
import sys

import boto3
from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalDevServer

app = Chalice(app_name="baseline")
_client = None


def client():  # type: ignore[no-untyped-def]
    global _client
    if _client is None:
        _client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT"], region_name="us-east-1")
    return _client


@app.route("/item")
def item() -> dict:
    got = client().get_item(TableName=os.environ["TABLE"], Key={"pk": {"S": "item"}}, ConsistentRead=True)
    return {"pk": got["Item"]["pk"]["S"]}


@app.route("/health")
def health() -> dict:
    return {"status": "ok"}


if __name__ == "__main__":
    LocalDevServer(app, Config(chalice_stage="dev"), "127.0.0.1", int(sys.argv[1])).serve_forever()
