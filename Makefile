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

demo: venv web
	$(BIN)/tickforge demo --dir demo

test: venv web
	sh scripts/ensure-chromium.sh
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	cd web && npm test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: venv web
	sh scripts/ensure-chromium.sh
	$(BIN)/python benchmarks/run.py

WEB_STAMP := web/node_modules/.installed-stamp

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web: $(WEB_STAMP)
	cd web && npm run build

clean:
	rm -rf demo .pytest_cache build dist
