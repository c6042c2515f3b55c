# Latchkey: `make run` serves the API locally, `make test` runs every check. Both set up .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: install run test unit functional e2e lint bench screenshots clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

run: install
	$(PY) scripts/dev_server.py

test: lint
	$(PY) -m pytest

unit functional e2e: install
	$(PY) -m pytest tests/$@

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

bench: install
	$(PY) scripts/bench/report.py

screenshots: install
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/e2e/test_dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist
