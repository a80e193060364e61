# Two commands for a newcomer: `make demo` and `make test`. Each installs and builds what it needs.
NODE ?= node
CLI := $(NODE) dist/src/cli.js
STAMP := node_modules/.install-stamp

.PHONY: all install build test demo bench soak clean

all: build

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP)

build: $(STAMP)
	npx tsc -p tsconfig.json

# Type-checks the tests too (vitest only strips the types), then runs them.
test: build
	npx tsc -p tsconfig.test.json
	npx vitest run

# The collector against the embedded fauxqs emulator with synthetic CloudTrail traffic; records on stdout.
DEMO_ARGS ?= --duration 20
demo: build
	$(CLI) demo $(DEMO_ARGS)

# Micro-benchmarks, then a quick run of each mode of the EPS harness (threads, drain, ramp): about 4 minutes
# on 2 cores. Tables on stdout; JSON, Markdown and SVG charts in bench/results/. Full runs: bench/eps.ts.
bench: build
	$(NODE) dist/bench/run.js

# Steady synthetic traffic, random S3/SQS faults and a kill -9 per minute; ends with a ledger (lost must be 0).
SOAK_ARGS ?= --duration 300 --eps 2000
soak: build
	$(NODE) dist/bench/soak.js $(SOAK_ARGS)

clean:
	rm -rf dist
