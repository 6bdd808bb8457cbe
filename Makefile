# Chatapp: `make dev` runs the whole system, `make test` runs every test against real services.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PACKAGES := contracts domain kit client infra gateway web projector media-worker benchmarks
INFRA := node infra/dist/cli.js

.PHONY: help install build typecheck lint format contracts dev cluster test coverage bench stop clean

help:
	@echo "make dev        run gateway, projector and media-worker on a local stack (Ctrl-C stops it)"
	@echo "make cluster    the production layout locally: 3 NATS nodes (R3), 2 gateways behind haproxy,"
	@echo "                2 projectors, 2 media workers (Ctrl-C stops it)"
	@echo "make test       lint, type-check and run every package's tests against real services"
	@echo "make coverage   make test with every package's coverage table (enforced ones always run)"
	@echo "make bench      a quick load benchmark (at most 2 minutes) with a report"
	@echo "make contracts  regenerate docs/protocol/ (JSON Schema, AsyncAPI, error codes)"
	@echo "make stop       stop services the stack started under .data/"

# npm ci (exactly package-lock.json, as on a fresh clone) when the manifests changed since the last
# install or nothing is installed yet; npm install only when there is no lock file to honour.
node_modules/.install-stamp: package.json $(wildcard package-lock.json) $(addsuffix /package.json,$(PACKAGES))
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<9)) { console.error("Node 20 (>= 20.9) is required, found "+process.versions.node); process.exit(1) } if (a>20) console.error("warning: Node "+process.versions.node+": the gateway needs Node 20 until its uWebSockets.js build has Node "+a+" binaries (README, Node versions)")'
	@if [ -f package-lock.json ]; then echo "npm ci --no-audit --no-fund"; npm ci --no-audit --no-fund; \
	 else echo "npm install --no-audit --no-fund"; npm install --no-audit --no-fund; fi
	@touch $@

install: node_modules/.install-stamp

build: install
	npx tsc -b
	node web/scripts/build.mjs

# Type-checks each package with its tests and emits them into .build/test/, where the tests'
# loader (infra/scripts/ts-loader.mjs) runs them from; two packages at a time on two cores.
typecheck: build
	@printf '%s\n' $(PACKAGES) | xargs -P 2 -I{} npx tsc -p {}/tsconfig.test.json

lint: install
	npx biome check .

format: install
	npx biome check --write .

contracts: build
	node contracts/dist/export-protocol.js docs/protocol

dev: build
	$(INFRA) dev

cluster: build
	$(INFRA) cluster

test: lint typecheck
	@bash infra/scripts/run-tests.sh $(PACKAGES)

coverage: lint typecheck
	@COVERAGE=1 bash infra/scripts/run-tests.sh $(PACKAGES)

bench: build
	node benchmarks/dist/cli.js quick

stop: build
	$(INFRA) stop

clean:
	rm -rf */dist */.tap .build node_modules/.install-stamp
