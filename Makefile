# PannusMap: `make run` starts the demo, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

export PANNUSMAP_DEBUG ?= 1
# The private cluster under var/pg serves when DATABASE_URL is not set (see pannusmap/devdb.py).
ifeq ($(origin DATABASE_URL), undefined)
PRIVATE_DB := 1
export DATABASE_URL := $(shell $(PYTHON) -c 'import sys; sys.path.insert(0, "."); from pannusmap import devdb; print(devdb.url())' 2>/dev/null)
endif

FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/package.json frontend/package-lock.json frontend/vite.config.js

.PHONY: setup run test stop db db-server worker demo lint messages

setup: $(VENV)/.installed frontend/dist/viewer.js

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 was not found; install python3.11 and python3.11-venv."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

frontend/dist/viewer.js: $(FRONTEND_SOURCES)
	@command -v npm >/dev/null || { echo "npm was not found; install Node.js 20 or newer (e.g. apt-get install nodejs npm)."; exit 1; }
	cd frontend && npm ci --no-audit --no-fund && npm run build
	touch $@

db-server: $(VENV)/.installed
ifdef PRIVATE_DB
	$(PY) -m pannusmap.devdb start
endif

db: db-server
	$(PY) manage.py migrate --noinput

demo: db
	$(PY) manage.py create_demo

worker: db
	$(PY) manage.py procrastinate worker

run: setup demo
	@echo "Starting the worker and the web server on http://$(HOST):$(PORT)/ (Ctrl+C stops both)."
	@$(PY) manage.py procrastinate worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	echo "Open http://$(HOST):$(PORT)/ and log in with an account printed above."; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

test: setup db-server
	$(PY) -m pytest $(PYTEST_ARGS)

stop:
ifdef PRIVATE_DB
	$(PY) -m pannusmap.devdb stop
endif

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check pannusmap annotations inference tests bench

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l ja --ignore '.venv/*' --ignore 'frontend/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'docs/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'
