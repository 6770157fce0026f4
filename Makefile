# Two commands on a fresh machine with python3 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install demo gallery cluster test test-cluster lint typecheck docs unit integration fuzz bench bench-cluster clean test-oldest clean-oldest

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

# After `make demo`: its runs in the Airflow UI (api-server on :8080, the "Images" view), until Ctrl-C.
gallery: $(STAMP)
	$(PY) scripts/gallery.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# The docs site (MkDocs) into site/, git-ignored; warnings (broken links and anchors) fail the build
# (not with --quiet: it hides the warnings from --strict as well).
docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

# In-process tests, no network sockets: seconds.
unit: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/unit

# The Hypothesis properties at depth (20,000 examples each, fresh randomness; `make unit` runs 300 under a
# fixed seed): key segments, request normalisation, budgets, batch lines, the gallery's access check.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -n $(PYTEST_WORKERS) -m hypothesis -p no:cacheprovider tests/unit

# The emulator over HTTP, moto's S3 server, the Airflow CLI and DAG runs.
integration: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/integration

# Every test: tests/unit, tests/integration, tests/ui (the gallery in Debian's Chromium; skipped without
# /usr/bin/chromium) and tests/docs (every Python sample of the README and docs/), after the docs build.
# xdist sends each worker runs of consecutive tests: a module's local Airflow starts once
# (or twice, when a run of tests ends inside the module).
test: lint typecheck docs
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests

# A real Celery cluster (private Postgres and Redis from Debian's packages, scheduler, dag-processor, triggerer,
# api-server, two Celery workers, the emulator and moto) with the example DAGs, until Ctrl-C.
cluster: $(STAMP)
	$(PY) scripts/cluster_services.py install
	$(PY) scripts/cluster.py

# Only the tests on the Celery cluster (make test runs them too).
test-cluster: $(STAMP)
	$(PY) -m pytest tests/cluster

# What pyproject.toml claims and `make test` never runs (scripts/test_oldest.py): the newest Airflow 3.2.x on
# Python 3.11 (tests/unit and one DAG run) in .venv-oldest, and tests/unit on Python 3.10 and 3.13 with the
# newest Airflow in .venv-py310 and .venv-py313. Each venv is reused while its stamp matches pyproject.toml; a
# Python that is not on the machine skips its leg. `OLDEST_AIRFLOW=3.2.1 make test-oldest` tries another 3.2.
test-oldest:
	PYTEST_WORKERS=$(PYTEST_WORKERS) $(PYTHON) scripts/test_oldest.py

clean-oldest:
	rm -rf .venv-oldest .venv-py310 .venv-py313 .venv-*.install.log

# The gallery in a real browser; `UPDATE_SCREENSHOTS=1 make test-ui` also rewrites docs/gallery.png.
.PHONY: test-ui
test-ui: $(STAMP)
	$(PY) -m pytest tests/ui

# Import time, then the bulk operator against its references (the AsyncOpenAI column needs
# `$(PY) -m pip install -e '.[benchmark]'`; without it the benchmark says so and skips that column).
bench: $(STAMP)
	$(PY) benchmarks/import_time.py
	$(PY) benchmarks/bulk.py
	$(PY) benchmarks/batch.py

# A day's prompts (1,000, as 4 bulk tasks of 250) on the Celery cluster of `make cluster`, non-deferrable and
# deferrable, at L = 2 s and an account rate of 600 images a minute: wall against N/R, worker-slot seconds,
# memory, Postgres rows and XCom bytes per image (about 8 minutes; not part of `make bench`).
# BENCH_CLUSTER_ARGS passes options: `make bench-cluster BENCH_CLUSTER_ARGS='--prompts-per-task 20 --latency 0.5'`.
bench-cluster: $(STAMP)
	$(PY) scripts/cluster_services.py install
	$(PY) benchmarks/cluster.py $(BENCH_CLUSTER_ARGS)

clean: clean-oldest
	rm -rf $(VENV) demo-output .airflow-demo .pytest_cache .mypy_cache .ruff_cache *.egg-info
