# Deliver-to-Bill: the common loops. Every target installs what it needs first.
# `make run` and `make test` are the two set-up commands of the README.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
# uv from PATH when present, else the one pip installs for this Python.
UV := $(shell command -v uv >/dev/null 2>&1 && echo uv || echo "$(PYTHON) -m uv")
# Lint needs a warehouse path for dbt's templater; keep it away from real state.
LINT_HOME := $(CURDIR)/.d2b/lint

# apt-get needs root; use sudo when not root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install browser-deps postgres-deps spark-deps run test test-slow lint format dev generate clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install:  ## install uv (if missing) and the locked environment into .venv
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --locked

run: install  ## generate a sample firm if the landing zone is empty, build everything, print a summary
	$(UV) run d2b run

test: install lint  ## lint, then the default test suite (slow suites excluded)
	$(UV) run pytest -n 2 --dist loadgroup --durations=20

browser-deps:  ## Debian's Chromium for the browser suite (Playwright drives it; no download)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# initdb, pg_ctl and postgres live in /usr/lib/postgresql/15/bin, off PATH on Debian.
postgres-deps:  ## Debian's PostgreSQL 15 server binaries for the Tryton server suite (tests/support/tryton_server.py)
	@[ -x /usr/lib/postgresql/15/bin/initdb ] && [ -x /usr/lib/postgresql/15/bin/pg_ctl ] || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-15 >/dev/null; }

# The Spark Thrift server (d2b services start spark) runs from the pyspark wheel on Java 17.
spark-deps:  ## Debian's Java 17 runtime for the Spark engine suite (tests/test_engine_spark.py)
	@command -v java >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

test-slow: install browser-deps postgres-deps spark-deps  ## the slow suites (large scale, browser, Tryton server, engines) on two workers; exit 5 (none collected) is fine
	$(UV) run pytest -m slow -n 2 --dist loadgroup --durations=25; status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]

lint: install  ## ruff and sqlfluff (dbt templater)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	@mkdir -p $(LINT_HOME)
	D2B_HOME=$(LINT_HOME) $(UV) run sqlfluff lint dbt_project/models

format: install  ## apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

dev: install  ## the Dagster UI on this project (http://127.0.0.1:3000)
	$(UV) run d2b dev

generate: install  ## a synthetic firm into $$D2B_LANDING (SCALE=0.02 SEED=42 by default)
	$(UV) run d2b generate --scale $${SCALE:-0.02} --seed $${SEED:-42}

bench: install  ## the scale ladder (SCALES=0.1,0.5,1.0,3.0): phase times and peak memory -> docs/benchmarks.md
	$(UV) run d2b bench --scales $${SCALES:-0.1,0.5,1.0,3.0}

clean:  ## remove build output and local lint state (not D2B_HOME)
	rm -rf dbt_project/target dbt_project/logs .d2b/lint .pytest_cache .ruff_cache
