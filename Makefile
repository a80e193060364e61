# Two commands for a newcomer: `make demo` and `make test`. Each installs and builds what it needs.
NODE ?= node
CLI := $(NODE) dist/src/cli.js
STAMP := node_modules/.install-stamp

.PHONY: all install build test demo bench clean

all: build

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP)

build: $(STAMP)
	npx tsc -p tsconfig.json

test: build
	npx vitest run

# The collector against the embedded fauxqs emulator with synthetic CloudTrail traffic; records on stdout.
DEMO_ARGS ?= --duration 20
demo: build
	$(CLI) demo $(DEMO_ARGS)

bench: build
	$(NODE) dist/bench/run.js

clean:
	rm -rf dist
