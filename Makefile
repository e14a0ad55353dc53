# vcollege: `make run` serves the app with its scheduler; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-sqlite test-postgres bench lint setup db demo clean translations

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

db: $(STAMP)
	$(BIN)/vcollege db upgrade
	$(BIN)/vcollege demo load

run: db
	$(BIN)/vcollege serve --host $(HOST) --port $(PORT)

# The suite runs on SQLite, then again on PostgreSQL when VCOLLEGE_TEST_DATABASE_URL is set.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$VCOLLEGE_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL: $$VCOLLEGE_TEST_DATABASE_URL"; \
		VCOLLEGE_TEST_ENGINE=postgresql $(BIN)/python -m pytest $(PYTEST_ARGS); \
	fi

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check vcollege tests bench

translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o vcollege/translations/messages.pot .
	$(BIN)/pybabel update -i vcollege/translations/messages.pot -d vcollege/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d vcollege/translations

clean:
	rm -rf $(VENV) .pytest_cache
