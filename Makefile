# The README's commands. `make demo` and `make test` do every set-up step themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
GUANXI := $(VENV)/bin/guanxi
INSTALLED := $(VENV)/.installed
ASSETS := src/guanxi/web/static/build/.built
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=
# The benchmark's own environment: the project plus the anchors it is compared with (never in .venv).
BENCH_VENV := .venv-bench
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_INSTALLED := $(BENCH_VENV)/.installed
BENCH_ANCHORS := django-import-export==4.4.3 tablib==3.10.0 diff-match-patch==20241021 splink==5.0.0 recordlinkage==0.16 lifetimes==0.11.3

.PHONY: setup demo serve test test-sqlite test-postgres lint bench bench-venv catalogs models clean

$(PY):
	python3 -m venv $(VENV)

$(INSTALLED): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

$(ASSETS): node_modules/.package-lock.json $(shell find src/guanxi/web/assets -type f 2>/dev/null)
	npm run --silent build
	touch $@

catalogs: $(INSTALLED)
	$(GUANXI) compilecatalogs

# the feedback classifier's starting models, trained once from data shipped in PyPI packages (no downloads)
models: $(INSTALLED)
	$(GUANXI) feedback_models

setup: $(INSTALLED) $(ASSETS) catalogs models

demo: setup
	$(GUANXI) migrate --no-input
	$(GUANXI) demo --customers 2000 --seed 1
	$(GUANXI) createadmin
	$(GUANXI) serve

serve: setup
	$(GUANXI) serve

# The SQLite and PostgreSQL passes run side by side (one per core). Each pass has its own var folder and its own
# Redis databases; make prints each pass's output whole when that pass ends.
test: setup
	@echo "== running the SQLite and PostgreSQL passes side by side; each prints its report when it ends =="
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# A pass's own var folder, holding a copy of the feedback starting models that `make models` built.
pass-var = mkdir -p var/test-$(1) && rm -rf var/test-$(1)/feedback && cp -r $(or $(GUANXI_VAR_DIR),var)/feedback var/test-$(1)/

# Database connections close after each request in tests, so the test database can be dropped at the end.
test-sqlite:
	@$(call pass-var,sqlite)
	@echo "== tests on SQLite =="
	env -u DATABASE_URL DB_CONN_MAX_AGE=0 GUANXI_VAR_DIR=var/test-sqlite GUANXI_TEST_REDIS_DB=13 \
		$(PY) -m pytest $(PYTEST_ARGS)

# Runs against PostgreSQL when a server answers; on CI an unreachable server is a failure. The test database is
# thrown away, so its commits need not wait for the disk (synchronous_commit=off, for these connections only).
test-postgres:
	@if $(PY) benchmarks/pg_ready.py "$(PG_URL)"; then \
		$(call pass-var,postgres); \
		echo "== tests on PostgreSQL ($(PG_URL)) =="; \
		DATABASE_URL="$(PG_URL)" DB_CONN_MAX_AGE=0 GUANXI_VAR_DIR=var/test-postgres GUANXI_TEST_REDIS_DB=11 \
			PGOPTIONS="-c synchronous_commit=off" \
			$(PY) -m pytest $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL at $(PG_URL) is not reachable, and CI requires it."; exit 1; \
	else \
		echo "SKIPPED the PostgreSQL run: no server answers at $(PG_URL) (set PG_URL to point at one)."; \
	fi

lint: $(INSTALLED)
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src

$(BENCH_INSTALLED): pyproject.toml constraints.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip
	$(BENCH_PY) -m pip install --quiet -c constraints.txt -e .
	$(BENCH_PY) -m pip install --quiet -c constraints.txt $(BENCH_ANCHORS)
	touch $@

bench-venv: $(BENCH_INSTALLED)

# BENCH_ARGS picks scenarios, sizes and databases, e.g. BENCH_ARGS="--scenario imports --size 20000 --db postgresql"
bench: setup $(BENCH_INSTALLED)
	$(BENCH_PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) node_modules src/guanxi/web/static/build
