# The project's verbs. `make run` and `make test` set everything up on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The built-in slow upstream is mounted by the same server, so it follows the port.
UPSTREAM_URL ?= http://$(HOST):$(PORT)/upstream
export UPSTREAM_URL

.PHONY: run run-tuned worker superuser test test-all soak lint format install migrate clean bench bench-quick bench-install

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

## Serve the project over ASGI on http://$(HOST):$(PORT)/, with the demo polls and a task worker
# Django as it ships: asyncdemo.settings and asyncdemo.asgi:application. DJANGO_SETTINGS_MODULE
# and ASGI_APP pick another pair (run-tuned); manage.py's commands here use the same settings.
# uvloop and httptools: what they buy is in docs/performance.md.
# The worker runs the tasks the background-work pages enqueue; it stops when the server does.
ASGI_APP ?= asyncdemo.asgi:application
run: export DJANGO_SETTINGS_MODULE ?= asyncdemo.settings
run: migrate
	$(BIN)/python manage.py seed_demo --verbosity 0
	$(BIN)/python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/uvicorn $(ASGI_APP) --host $(HOST) --port $(PORT) --loop uvloop --http httptools

## The same, with the tuned profile (tuned/settings.py, tuned/asgi.py): Django's async overheads fixed, see docs/tuned.md
run-tuned:
	$(MAKE) run DJANGO_SETTINGS_MODULE=tuned.settings ASGI_APP=tuned.asgi:application

## Create an admin user for /admin/ and the login-only pairs
superuser: migrate
	$(BIN)/python manage.py createsuperuser

## Run only the task worker (for a server started some other way)
worker: migrate
	$(BIN)/python manage.py db_worker --no-reload

## Run the fast tests: in-process only, no real server, no browser (about a minute)
test: install
	$(BIN)/python -m pytest -n 2 -m "not server and not browser and not soak" $(PYTEST_ARGS)

## Run every test but the soak: the fast ones, real servers and processes, the browser
test-all: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Hold the benchmark's C=100 load for SOAK_SECONDS (60) and check nothing grows
soak: install
	$(BIN)/python -m pytest -m soak -s tests/serving/test_soak.py

## The benchmark (python -m bench run): about 25 minutes; results in bench/results/<time>/
bench: bench-install
	$(BIN)/python -m bench run $(BENCH_ARGS)

## The benchmark's smoke test (a few minutes): fails unless every server answered every request
bench-quick: bench-install
	$(BIN)/python -m bench run --quick $(BENCH_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed bench/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

# wrk is the load generator: a Debian/Ubuntu package, installed here when running as root.
bench-install: $(VENV)/.bench-installed
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; \
	  else \
	    echo "The benchmark needs wrk: 'sudo apt install wrk' (Debian/Ubuntu) or 'brew install wrk' (macOS)." >&2; \
	    exit 1; \
	  fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
