# Two entry points: `make test` (lint, types, tests) and `make demo` (the federation at work).
# Each creates the virtualenv, installs what it needs and starts the local services.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := broker schemas adapters

.PHONY: test demo screenshots lint types imports translations check-translations unit services browser bench clean

test: lint types imports check-translations unit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

services:
	@deploy/local/ensure-services.sh

# The federation of agencies on the local RabbitMQ, with its scenario; runs until Ctrl-C.
# Its state lives in .demo/ (replaced by each run). DEMO_ARGS=--once runs it once and exits.
# Chromium: the agency with no case system answers in the browser.
demo: $(STAMP) browser
	@deploy/local/ensure-services.sh --rabbitmq-only
	$(BIN)/caselink demo $(DEMO_ARGS)

# The README's screenshots (docs/images/*.png): the demo run once, its browser steps saving
# the inbox page with the referral listed and the dashboard's Agencies page. A few minutes.
screenshots: $(STAMP) browser
	@deploy/local/ensure-services.sh --rabbitmq-only
	$(BIN)/caselink demo --once --screenshots docs/images

lint: $(STAMP)
	$(BIN)/ruff check $(CODE) tests bench
	$(BIN)/ruff format --check $(CODE) tests bench

types: $(STAMP)
	$(BIN)/mypy $(CODE)

imports: $(STAMP)
	$(BIN)/lint-imports

# Extracts the messages of the pages and emails, merges them into each language's
# catalogue, and fails when one is incomplete (untranslated or fuzzy): translate what it
# lists in broker/look/locale/<language>/LC_MESSAGES/caselink.po and run it again.
LOCALE := broker/look/locale
EXTRACT := $(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --sort-output --omit-header
translations: $(STAMP)
	$(EXTRACT) -o $(LOCALE)/caselink.pot broker adapters
	$(BIN)/pybabel -q update -i $(LOCALE)/caselink.pot -d $(LOCALE) -D caselink \
		--no-fuzzy-matching --ignore-obsolete --omit-header
	$(BIN)/python -m broker.look.catalogues

# The same check without writing a file: the messages as the code has them now, against the
# catalogues as they are (make test runs this one).
check-translations: $(STAMP)
	@template=$$(mktemp --suffix=.pot) && trap 'rm -f "$$template"' EXIT && \
		$(EXTRACT) -o "$$template" broker adapters && \
		$(BIN)/python -m broker.look.catalogues "$$template"

# Debian's Chromium for the browser tests and the demo's browser steps (Playwright's own
# download needs the internet), at the path tests/conftest.py drives; we run as root, so no
# sudo.
browser:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

unit: $(STAMP) services browser
	$(BIN)/pytest

bench: $(STAMP) services
	$(BIN)/python bench/envelope.py
	$(BIN)/python bench/adapters.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/tracker_ingest.py
	$(BIN)/python bench/tracker_sweep.py --store sqlite
	$(BIN)/python bench/tracker_sweep.py --store postgresql

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
