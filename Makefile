# tierdesk: two commands. `make run` serves the demo on SQLite; `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck contracts pytest clean i18n

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

# Benchmarks (docs/performance.md). bench-quick checks that the bench scripts still run (tiny
# data, no timing assertions); bench-compare runs tierdesk and django-helpdesk 2.6.1 (installed
# from PyPI into var/peer-venv) side by side: `N=100000 make bench-compare`.
N ?= 10000
.PHONY: bench-quick bench-compare
bench-quick: install
	$(BIN)/python bench/run.py --quick
	$(BIN)/python bench/rules.py --quick

bench-compare: install
	$(BIN)/python bench/run.py --tickets $(N) --peer --out var/bench/compare-$(N).json

# PNGs of the main pages in docs/screenshots/, taken by the browser tests (tests/browser) on a
# fresh demo database with Debian's Chromium; shown in the README.
.PHONY: screenshots
screenshots: install
	$(BIN)/python tools/screenshots.py

# Extract every _()/gettext()/N_() string from Python and templates, then update the zh/ja/it
# catalogs (new strings arrive empty: translate them; tests/test_i18n.py lists what is missing).
LANGS := zh ja it
i18n: install
	$(BIN)/pybabel extract -F babel.cfg --project=tierdesk --version=0.1.0 --no-location --sort-output -o tierdesk/locale/messages.pot .
	@for l in $(LANGS); do \
	  if [ -f tierdesk/locale/$$l/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update --no-fuzzy-matching -i tierdesk/locale/messages.pot -d tierdesk/locale -l $$l; \
	  else \
	    $(BIN)/pybabel init -i tierdesk/locale/messages.pot -d tierdesk/locale -l $$l; \
	  fi; \
	done

clean:
	rm -rf $(VENV) var
