# tierdesk: two commands. `make run` serves the demo on SQLite; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck contracts pytest clean

run: install
	@mkdir -p var
	$(BIN)/tierdesk db upgrade
	$(BIN)/tierdesk seed demo --if-empty
	@echo "tierdesk on http://127.0.0.1:8000  (API docs: http://127.0.0.1:8000/api/docs)"
	$(BIN)/tierdesk serve --host 127.0.0.1 --port 8000

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

test: install lint typecheck contracts pytest

lint:
	$(BIN)/ruff check tierdesk tests migrations bench
	$(BIN)/ruff format --check tierdesk tests migrations bench

typecheck:
	$(BIN)/mypy

contracts:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var
