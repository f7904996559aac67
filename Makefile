# The project's verbs. `make run` and `make test` set everything up on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install migrate clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null || { \
	  echo "asyncdemo needs Python 3.12 or newer as '$(PYTHON)': install it (pyenv install 3.12, or your OS package) or run 'make PYTHON=python3.12 ...'." >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --no-input --verbosity 0

## Serve the project over ASGI on http://$(HOST):$(PORT)/ (uvloop, httptools: docs/performance.md)
run: migrate
	$(BIN)/uvicorn asyncdemo.asgi:application --host $(HOST) --port $(PORT) --loop uvloop --http httptools

## Run the whole test suite
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
