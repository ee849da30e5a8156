# The two commands that matter: `make up` runs the platform, `make test` passes the tests.
# Both create the virtual environment first, so they work on a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := libs/events $(patsubst %/pyproject.toml,%,$(sort $(wildcard services/*/pyproject.toml)))
MANIFESTS := $(addsuffix /pyproject.toml,$(PACKAGES)) requirements-dev.txt constraints.txt
PYTEST_ARGS ?=

.PHONY: help venv browser up down test test-unit test-integration test-e2e test-containers docs docs-check bench bench-bad-input chaos clean

help:
	@echo "make up      set up and run the whole platform on embedded servers (Ctrl-C or make down stops it)"
	@echo "make down    stop what make up started"
	@echo "make test    set up and run the whole test suite (unit, integration, end-to-end)"
	@echo "make test-containers  the same on Apache Kafka and MongoDB in Docker containers (needs a Docker engine)"
	@echo "make docs    regenerate docs/events (JSON Schema and AsyncAPI) from the event models"
	@echo "make bench   print throughput figures on the embedded stack"
	@echo "make chaos   the fault suite: kills, a broker restart, poison, duplicates, Slack and SMTP down (CHAOS_ARGS=\"--tickets 200\")"

$(STAMP): $(MANIFESTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt \
		$(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium for the survey page tests (installed when missing and root; see the script).
browser:
	@sh devtools/ensure_chromium.sh

up: $(STAMP)
	$(BIN)/python -m devtools.platform up

down:
	@test -x $(BIN)/python && $(BIN)/python -m devtools.platform down || echo "nothing to stop"

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: $(STAMP) browser
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: $(STAMP) browser
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

# The same suite on Apache Kafka and MongoDB in Docker containers (testcontainers); needs a Docker engine.
test-containers: $(STAMP) browser
	TEST_SERVERS=containers $(BIN)/python -m pytest $(PYTEST_ARGS)

docs: $(STAMP)
	$(BIN)/python -m helpdesk_events.export docs/events

docs-check: $(STAMP)
	$(BIN)/python -m helpdesk_events.export docs/events --check

bench: $(STAMP)
	$(BIN)/python -m bench

# Only the bad-input section of `make bench`: valid and malformed requests to every intake endpoint.
bench-bad-input: $(STAMP)
	$(BIN)/python -m bench --only bad-input

# The fault suite (docs/reliability.md): one fault per run under load, then nothing lost, nothing doubled.
# The issue's 10,000 tickets per fault by default; CHAOS_ARGS="--tickets 200" for a quick run.
CHAOS_ARGS ?=
chaos: $(STAMP)
	$(BIN)/python -m chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .run .pytest_cache .hypothesis
