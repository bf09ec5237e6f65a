# privlab: `make demo` and `make test` set everything up on a fresh machine, installing only what is missing.
SHELL := /bin/bash
# The first Python >= 3.12 found (Debian 13: python3.13; Debian 12 has none: install 3.12 and pass PYTHON=).
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.12 python3.13 python3.14 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test lint typecheck pytest system-deps system-deps-demo python venv agent-deps bench notebooks clean-venv

demo: system-deps-demo venv
	$(BIN)/privlab demo

test: system-deps venv agent-deps lint typecheck pytest

venv: $(STAMP)

$(STAMP): pyproject.toml | python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,report,notebooks]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

python:
	@[ -n "$(PYTHON)" ] || { echo "privlab needs Python 3.12+ (none found; Debian 12 ships 3.11): install 3.12, e.g. with pyenv or uv, and run 'make PYTHON=/path/to/python3.12'"; exit 1; }

# Debian packages: each missing command, library or font maps to the one package that provides it, and only
# those are installed (see .ci/system-deps: never one that replaces what the machine has, e.g. Debian's npm
# beside NodeSource's Node.js; not root: it prints the apt-get command to run). The demo needs fewer.
system-deps: python
	@PRIVLAB_PYTHON=$(PYTHON) .ci/system-deps test

system-deps-demo: python
	@PRIVLAB_PYTHON=$(PYTHON) .ci/system-deps demo

# The Frida agent's build dependencies (frida-java-bridge): the tests prove the committed hooks/_agent.js
# is exactly what hooks/src builds. Captures themselves use the committed bundle and need no Node.js.
agent-deps: hooks/node_modules/.package-lock.json

hooks/node_modules/.package-lock.json: hooks/package-lock.json
	cd hooks && npm ci --no-audit --no-fund --loglevel=error

lint: venv
	$(BIN)/ruff check analysis addons tests benchmarks
	$(BIN)/ruff format --check analysis addons tests benchmarks

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest -q

bench: system-deps-demo venv
	@command -v tshark >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-remove tshark >/dev/null; } || { echo "the packet benchmark compares with tshark: apt-get install tshark"; exit 1; }
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

notebooks: venv
	cd notebooks && ../$(BIN)/jupyter lab

clean-venv:
	rm -rf $(VENV)
