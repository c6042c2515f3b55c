"""Latchkey's Chalice app: registers the blueprints, the middleware and the schedule. No logic."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent

import chalicelib.store.dynamo  # noqa: F401  (boto3: see below)
from chalicelib import metrics
from chalicelib.logs import log_event
from chalicelib.routes import API_BLUEPRINTS, dashboard
from chalicelib.services import get_services
from chalicelib.web import error_middleware

# Every route but the health check and the dashboard reads DynamoDB, so boto3 is imported here, in
# Lambda's init phase; the services, the stores and the mail and KMS adapters load on first use.
app = Chalice(app_name="latchkey")
app.register_middleware(error_middleware, "http")
for blueprint in API_BLUEPRINTS:
    app.register_blueprint(blueprint)
app.register_blueprint(dashboard.bp)


@app.schedule(Rate(1, unit=Rate.HOURS))
def purge_expired_sessions(event: CloudWatchEvent) -> dict[str, Any]:
    """Delete expired sessions and every other expired record (hourly, by EventBridge). A purge that
    raises writes no success metric: the template's alarm notices the missing runs."""
    reports = get_services().purge.run()
    summary = {table: vars(report) for table, report in reports.items()}
    log_event("purge", tables=summary)
    metrics.purge_finished({table: report.deleted + report.cascaded for table, report in reports.items()})
    return summary
