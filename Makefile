# The one place commands are spelled out. Every target works on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed

.PHONY: venv install demo test test-fast lint format bench airflow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test,postgres,airflow]'
	touch $(STAMP)

venv: $(BIN)/python
install: $(STAMP)

## demo: the whole pipeline against the local platform simulators, on the embedded defaults
demo: install
	$(BIN)/hp-archive demo

## test: the whole suite (PostgreSQL tests run when HP_ARCHIVE_TEST_DATABASE_URL is set)
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q -x -p no:cacheprovider -m "not slow"

## lint: ruff (lint + format check) and mypy --strict on the package
lint: install
	$(BIN)/ruff check hp_archive tests dags plugins benchmarks
	$(BIN)/ruff format --check hp_archive tests dags plugins benchmarks
	$(BIN)/mypy hp_archive

format: install
	$(BIN)/ruff format hp_archive tests dags plugins benchmarks
	$(BIN)/ruff check --fix hp_archive tests dags plugins benchmarks

## bench: the benchmark suite against the peers (never part of the timed tests)
bench: install
	$(PIP) install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.run

## airflow: Airflow standalone on the embedded defaults with the platform simulators (http://localhost:8080)
airflow: install
	BIN=$(BIN) deploy/airflow-standalone.sh

clean:
	rm -rf $(VENV) hp-archive-data .pytest_cache .mypy_cache .ruff_cache build *.egg-info
