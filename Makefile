# tickforge: `make demo` and `make test` are all a fresh machine needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: venv demo test lint bench web clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel
	$(BIN)/python -m pip install -q -e '.[test,peers]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/tickforge demo --dir demo

test: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf demo .pytest_cache build dist
