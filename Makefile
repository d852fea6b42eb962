# Photoshare: `make run` starts the whole mesh on the embedded default, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTO_FILES := $(shell find protos -name '*.proto' | sort)
GENERATED ?= generated
PROTO_INCLUDE = $(shell $(PY) -c "import os, google.api; print(os.path.dirname(os.path.dirname(google.api.__path__[0])))")

.PHONY: help setup system-deps run test test-embedded lint typecheck proto fmt clean services services-stop cluster cluster-stop fault bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

system-deps:  ## Debian's libvips (it decodes iPhone HEIC; the PyPI binary cannot) and ffmpeg
	@if ! ldconfig -p | grep -q 'libvips.so.42' || ! command -v ffmpeg >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libvips42 ffmpeg >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(STAMP)  ## install system packages and the Python environment

run: $(STAMP)  ## the whole mesh (gateway on :8080); PHOTOSHARE_BACKEND=production uses the servers
	@if [ "$$PHOTOSHARE_BACKEND" = production ]; then $(MAKE) --no-print-directory services; fi
	$(PY) -m deploy.local

test: $(STAMP) lint typecheck services  ## lint, types, then every test on both backends
	$(PY) -m pytest

test-embedded: $(STAMP)  ## only what needs no servers (quick loop while developing)
	$(PY) -m pytest -m "not production"

BENCH_BACKEND ?= both
BENCH_ARGS ?=

bench: $(STAMP)  ## load, fan-out, freshness and media benchmarks (BENCH_BACKEND=embedded|production|both)
	@if [ "$(BENCH_BACKEND)" != embedded ]; then $(MAKE) --no-print-directory services; fi
	$(PY) -m tests.bench --backend $(BENCH_BACKEND) --out bench-results $(BENCH_ARGS)
	@for f in bench-results/production.json bench-results/embedded.json; do \
	  if [ -f $$f ]; then $(PY) -m tests.bench.capacity $$f > bench-results/capacity.md; break; fi; done
	@echo "capacity model: bench-results/capacity.md"

services: $(STAMP)  ## install and start Cassandra, Kafka, Redis and SeaweedFS on 127.0.0.1 (safe to run twice)
	$(PY) -m deploy.services start

services-stop: $(STAMP)  ## stop them
	$(PY) -m deploy.services stop

cluster: $(STAMP)  ## 3-node Cassandra, Kafka, Redis with Sentinels and SeaweedFS on 127.0.0.2-4 (deploy/cluster.py)
	$(PY) -m deploy.cluster start

cluster-stop: $(STAMP)  ## stop them
	$(PY) -m deploy.cluster stop

fault: $(STAMP)  ## the fault test: a node of each kind killed -9 under load (starts the cluster if needed)
	$(PY) -m tests.fault

lint: $(STAMP)  ## ruff, and the import boundaries in pyproject.toml (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

fmt: $(STAMP)  ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)  ## mypy --strict
	$(VENV)/bin/mypy common graph_svc post_svc media_svc feed_svc gateway deploy tests

proto: $(STAMP)  ## regenerate generated/ from protos/
	rm -rf $(GENERATED)/photoshare
	mkdir -p $(GENERATED)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -Iprotos -I$(PROTO_INCLUDE) \
	  --python_out=$(GENERATED) --grpc_python_out=$(GENERATED) \
	  --mypy_out=quiet:$(GENERATED) --mypy_grpc_out=quiet,only_async:$(GENERATED) \
	  $(PROTO_FILES)

clean:  ## remove the environment and local data
	rm -rf $(VENV) data build *.egg-info .services .cluster
