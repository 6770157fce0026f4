# Two commands on a fresh machine with python3 and make: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install demo test lint typecheck unit integration bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# In-process tests, no network sockets: seconds.
unit: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/unit

# The emulator over HTTP, moto's S3 server, the Airflow CLI and DAG runs.
integration: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/integration

test: lint typecheck
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests

# Import time, then the bulk operator against its references (the AsyncOpenAI column needs
# `$(PY) -m pip install -e '.[benchmark]'`; without it the benchmark says so and skips that column).
bench: $(STAMP)
	$(PY) benchmarks/import_time.py
	$(PY) benchmarks/bulk.py
	$(PY) benchmarks/batch.py

clean:
	rm -rf $(VENV) demo-output .airflow-demo .pytest_cache .mypy_cache .ruff_cache
