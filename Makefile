# Photoshare: `make run` starts the whole mesh on the embedded default, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PROTO_FILES := $(shell find protos -name '*.proto' | sort)
GENERATED ?= generated
# The services whose RPCs the gateway serves (the rest are internal or messages only).
PUBLIC_PROTOS := protos/photoshare/graph/v1/graph_service.proto protos/photoshare/post/v1/post_service.proto protos/photoshare/feed/v1/feed_service.proto
TOOLS := .tools/bin
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
GNOSTIC_VERSION := v0.7.1
OPENAPI_GEN := $(TOOLS)/protoc-gen-openapi
GO_TOOLS := $(OPENAPI_GEN) $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
OPENAPI_OPT := enum_type=string,naming=json,default_response=false,title=Photoshare,version=v1
PROTO_INCLUDE = $(shell $(PY) -c "import os, google.api; print(os.path.dirname(os.path.dirname(google.api.__path__[0])))")

.PHONY: help setup clients system-deps run test test-embedded lint typecheck proto fmt clean services services-stop cluster cluster-stop fault bench web

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

system-deps:  ## Debian's libvips (it decodes iPhone HEIC; the PyPI binary cannot), ffmpeg, and chromium with its driver (the web app's browser test)
	@if ! ldconfig -p | grep -q 'libvips.so.42' || ! command -v ffmpeg >/dev/null || ! command -v chromedriver >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libvips42 ffmpeg chromium chromium-driver >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The API docs' renderer from npm; its dependency's analytics script is never run.
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP) $(NODE_STAMP) $(GO_TOOLS)  ## install system packages, Python and npm packages, and the Go plugins buf and make proto use

run: $(STAMP) $(NODE_STAMP) web  ## the whole mesh (gateway on :8080); PHOTOSHARE_BACKEND=production uses the servers
	@if [ "$$PHOTOSHARE_BACKEND" = production ]; then $(MAKE) --no-print-directory services; fi
	$(PY) -m deploy.local

test: $(STAMP) $(NODE_STAMP) $(GO_TOOLS) lint typecheck web services  ## lint, types, then every test on both backends
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

# The API as last released (buf build protos -o releases/api-<version>.binpb): a change to the
# protos that would break its clients fails `make lint`.
LAST_RELEASE := releases/api-v0.1.0.binpb

lint: $(STAMP) $(NODE_STAMP)  ## ruff, import boundaries (import-linter), buf lint and breaking changes against LAST_RELEASE
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	node_modules/.bin/buf lint
	node_modules/.bin/buf breaking protos --against $(LAST_RELEASE)

fmt: $(STAMP)  ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)  ## mypy --strict
	$(VENV)/bin/mypy common graph_svc post_svc media_svc feed_svc gateway deploy tests

proto: $(STAMP) $(OPENAPI_GEN)  ## regenerate generated/ from protos/: Python modules, the OpenAPI document, a copy of the protos
	rm -rf $(GENERATED)/photoshare
	mkdir -p $(GENERATED)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m grpc_tools.protoc -Iprotos -I$(PROTO_INCLUDE) \
	  --python_out=$(GENERATED) --grpc_python_out=$(GENERATED) \
	  --mypy_out=quiet:$(GENERATED) --mypy_grpc_out=quiet,only_async:$(GENERATED) \
	  $(PROTO_FILES)
	@# The REST API's OpenAPI 3 document (the gateway completes and serves it: gateway/openapi.py).
	rm -rf $(GENERATED)/.openapi && mkdir -p $(GENERATED)/.openapi
	$(PY) -m grpc_tools.protoc -Iprotos -I$(PROTO_INCLUDE) --plugin=protoc-gen-openapi=$(OPENAPI_GEN) \
	  --openapi_out=$(GENERATED)/.openapi --openapi_opt=$(OPENAPI_OPT) $(PUBLIC_PROTOS)
	$(PY) -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=1, sort_keys=True)' \
	  $(GENERATED)/.openapi/openapi.yaml $(GENERATED)/photoshare/api/v1/openapi.json
	rm -rf $(GENERATED)/.openapi
	@# The protos ship in the package beside their Python modules (a copy: setuptools maps a
	@# package to one folder).
	cd protos && find photoshare -name '*.proto' -exec cp --parents {} $(abspath $(GENERATED)) \;

# Protoc plugins, built from the Go module proxy into .tools/bin (pinned versions).
$(OPENAPI_GEN):
	GOBIN=$(abspath $(TOOLS)) $(GO) install github.com/google/gnostic/cmd/protoc-gen-openapi@$(GNOSTIC_VERSION)
$(TOOLS)/protoc-gen-go:
	GOBIN=$(abspath $(TOOLS)) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(abspath $(TOOLS)) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2

# The web app the gateway serves at /: its calls typed from the OpenAPI document the gateway
# serves, type-checked, then bundled by Vite into web/dist (content-hashed assets).
WEB_SOURCES := $(shell find web/src -name '*.ts' -not -path '*/generated/*') web/src/styles.css web/index.html web/vite.config.mts web/tsconfig.json
web: web/dist/index.html  ## build the web app (web/ -> web/dist, served by the gateway at /)

web/dist/index.html: $(STAMP) $(NODE_STAMP) $(WEB_SOURCES) generated/photoshare/api/v1/openapi.json gateway/openapi.py
	@mkdir -p build web/src/generated
	$(PY) -m gateway.export_openapi build/openapi.json
	node_modules/.bin/openapi-typescript build/openapi.json -o web/src/generated/api.ts
	node_modules/.bin/tsc -p web
	node_modules/.bin/vite build web --logLevel warn

clients: $(NODE_STAMP) $(GO_TOOLS)  ## Go and TypeScript clients of the API in gen/ (buf generate, buf.gen.yaml)
	node_modules/.bin/buf generate

clean:  ## remove the environment and local data
	rm -rf $(VENV) data build web/dist web/src/generated *.egg-info .services .cluster
