# privlab: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
# Debian packages the tests and the demo use (real tcpdump, adb, apktool/smali, Chromium, poppler, CJK font).
APT_PACKAGES := gcc tcpdump adb apktool zipalign apksigner aapt dexdump chromium poppler-utils fonts-wqy-microhei fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 nodejs npm openjdk-17-jdk-headless libokhttp-java
APT_COMMANDS := gcc tcpdump adb apktool zipalign apksigner aapt chromium pdftoppm node npm javac

.PHONY: demo test lint typecheck pytest system-deps venv agent-deps bench notebooks clean-venv

demo: venv system-deps
	$(BIN)/privlab demo

test: venv system-deps agent-deps lint typecheck pytest

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "privlab needs Python 3.12+ ($(PYTHON) not found): install python3.12 or run 'make PYTHON=/path/to/python3.12'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,report,notebooks]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

system-deps:
	@missing=""; for c in $(APT_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "privlab needs these Debian packages (run as root): apt-get install $(APT_PACKAGES)"; exit 1; \
	  fi; \
	fi

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

bench: venv system-deps
	@command -v tshark >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; } || { echo "the packet benchmark compares with tshark: apt-get install tshark"; exit 1; }
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

notebooks: venv
	cd notebooks && ../$(BIN)/jupyter lab

clean-venv:
	rm -rf $(VENV)
