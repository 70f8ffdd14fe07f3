# Order service. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The PostgreSQL half of `make test`: DATABASE_URL when it names PostgreSQL, else the local server.
PG_URL := $(if $(filter postgres%,$(DATABASE_URL)),$(DATABASE_URL),postgres://postgres@127.0.0.1:5432/orderservice)
PYTEST_ARGS ?=
# `make bench BENCH_ARGS="--duration 5 --repeats 1"`; `python -m bench.run --help` lists them.
BENCH_ARGS ?=
LAYERS_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-run install-browser install-stack run serve stack stack-down migrate test \
	test-fast test-pg bench bench-layers storm lint fmt

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Two stamps: `make run` needs only what the service runs on; the tests and linters need the rest.
PIP := $(PY) -m pip install --disable-pip-version-check --progress-bar on

$(VENV)/.installed-run: pyproject.toml
	@test -x $(PY) || { echo ">>> creating $(VENV)"; python3 -m venv $(VENV); }
	@echo ">>> installing the service's packages into $(VENV) (first run only; a minute or two)"
	$(PIP) -e .
	@touch $@

$(VENV)/.installed: $(VENV)/.installed-run
	@echo ">>> installing the test and lint tools into $(VENV) (first run only)"
	$(PIP) -e ".[dev]"
	@touch $@

install-run: $(VENV)/.installed-run ## create .venv with what the service needs to run

install: $(VENV)/.installed ## create .venv and install the service with its dev tools

migrate: install-run ## apply migrations to the database DATABASE_URL names (default: db.sqlite3)
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

# The webhook worker runs in the background beside the server; the trap stops it (SIGTERM: it
# finishes what is in flight) however the server ends, Ctrl-C included.
run: install-run ## quick start: SQLite, demo data, a demo token, the webhook worker, serve on 127.0.0.1:8000
	@export DEBUG=$${DEBUG:-1} LOG_FORMAT=$${LOG_FORMAT:-text}; \
	$(PY) manage.py migrate --noinput -v0 && \
	token=$$($(PY) manage.py load_demo) && \
	echo && echo "Demo token (user 'demo'): $$token" && echo && \
	echo "Try:" && \
	echo "  curl -s http://$(HOST):$(PORT)/products -H 'Authorization: Token $$token'" && \
	echo "  curl -s http://$(HOST):$(PORT)/orders -H 'Authorization: Token $$token' -H 'Content-Type: application/json' \\" && \
	echo "       -d '{\"products\": [{\"product_id\": \"SKU-1\", \"item_count\": 2}]}'" && \
	echo "  curl -s http://$(HOST):$(PORT)/orders -H 'Authorization: Token $$token'" && \
	echo && \
	{ $(PY) manage.py run_webhooks & worker=$$!; \
	  trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	  $(PY) manage.py runserver $(HOST):$(PORT); }

# Production also runs `python manage.py run_webhooks` (one or more, under a process supervisor,
# same environment): README, "Webhooks".
serve: install-run ## production: migrate, collectstatic, uWSGI (serve.py); DEBUG off, needs SECRET_KEY
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	HOST=$${HOST:-$(HOST)} PORT=$${PORT:-$(PORT)} exec $(PY) serve.py

stack: install install-stack ## production stack on loopback: nginx :8080, app servers, PgBouncer, Redis (docs/production.md)
	@DATABASE_URL="$(PG_URL)" $(PY) deploy/stack.py up

stack-down: ## stop what `make stack` started, and nothing else
	@python3 deploy/stack.py down

test: install ## the whole suite: on SQLite, then on PostgreSQL with the concurrency tests
	DATABASE_URL= $(PY) -m pytest -q $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-pg

test-fast: install ## the suite on SQLite only (the edit-test loop)
	DATABASE_URL= $(PY) -m pytest -q -x $(PYTEST_ARGS)

test-pg: install install-browser install-stack ## the suite on PostgreSQL only
	@if $(PY) scripts/pg_ready.py "$(PG_URL)"; then \
		DATABASE_URL="$(PG_URL)" $(PY) -m pytest -q $(PYTEST_ARGS); \
	else \
		echo; echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!!! No PostgreSQL answers at $(PG_URL)"; \
		echo "!!! SKIPPED: every PostgreSQL and concurrency test."; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; echo; \
		if [ -n "$$REQUIRE_POSTGRES" ]; then echo "REQUIRE_POSTGRES is set: failing."; exit 1; fi; \
	fi

install-browser: ## Debian's chromium for the admin browser test (apt-get, when missing)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| { echo; echo "!!! chromium could not be installed: the admin browser test will be SKIPPED"; echo; }

# Binary, then the Debian package that ships it.
STACK_TOOLS := nginx:nginx pgbouncer:pgbouncer supervisord:supervisor redis-server:redis-server
install-stack: ## Debian's nginx, pgbouncer, supervisor, redis-server for `make stack` (apt-get, when missing)
	@missing=""; for pair in $(STACK_TOOLS); do \
		PATH="$$PATH:/usr/sbin:/sbin" command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing with apt-get:$$missing"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; } \
			|| { echo; echo "!!! could not install$$missing: the stack tests will be SKIPPED"; echo; }; \
	fi

bench: install ## load benchmark on PostgreSQL (wrk + pgbench, installed with apt-get if missing)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@command -v pgbench >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }
	$(PY) -m bench.run $(BENCH_ARGS)

# Instructions per request, layer by layer, under callgrind (valgrind and a C compiler needed).
bench-layers: install ## instructions per request by layer (callgrind; LAYERS_ARGS="--pg-url postgres://...")
	$(PY) -m bench.layers $(LAYERS_ARGS)

storm: install ## long storm on PostgreSQL, every SPEC §7 invariant checked (STORM_SECONDS=60 STORM_CLIENTS=48 STORM_WORKERS=4)
	DATABASE_URL="$(PG_URL)" STORM_SECONDS=$${STORM_SECONDS:-60} STORM_CLIENTS=$${STORM_CLIENTS:-48} \
		STORM_WORKERS=$${STORM_WORKERS:-4} $(PY) -m pytest -q -s tests/faults/test_storm.py $(PYTEST_ARGS)

lint: install ## ruff, format check, mypy, import contracts, migrations check, check --deploy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	SECRET_KEY=lint $(VENV)/bin/mypy orderservice tests bench deploy
	$(VENV)/bin/lint-imports
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
		WEBHOOK_SECRET_KEYS=$$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())') \
		DEBUG=0 $(PY) manage.py check --deploy --fail-level WARNING

fmt: install ## format and auto-fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
