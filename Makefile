# Two commands for a newcomer: `make demo` and `make test`. Each installs and builds what it needs.

# Node.js: the project needs 22 or newer (package.json's engines) and is measured on the major in .nvmrc.
# When the `node` on PATH is older (or NODE_MAJOR asks for another major), make brings that Node itself
# into .tools/ (npm's `node` package ships the official binary) and puts it first on PATH for every
# recipe: npm, tsc, vitest, the demo and the benchmarks all run on it.
NODE_MAJOR ?=
WANT_MAJOR := $(or $(NODE_MAJOR),$(shell cat .nvmrc))
HAVE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(NODE_MAJOR),)
  BRING := $(shell [ "$(HAVE_MAJOR)" -ge 22 ] || echo yes)
else
  BRING := $(shell [ "$(HAVE_MAJOR)" -eq "$(NODE_MAJOR)" ] || echo yes)
endif
ifeq ($(BRING),yes)
  NODE_DIR := .tools/node$(WANT_MAJOR)
  NODE_BIN := $(NODE_DIR)/node_modules/node/bin/node
  export PATH := $(CURDIR)/$(NODE_DIR)/node_modules/node/bin:$(PATH)
  RUN_MAJOR := $(WANT_MAJOR)
else
  NODE_BIN :=
  RUN_MAJOR := $(HAVE_MAJOR)
endif

NODE := node
CLI := $(NODE) dist/src/cli.js
ADDON := build/gunzip.node
# One install per Node major: a switch of major reinstalls (native dependencies are built per ABI).
STAMP := node_modules/.install-stamp-node$(RUN_MAJOR)

.PHONY: all install build test test-deps demo bench soak clean

all: build

$(NODE_BIN):
	@echo "node $(HAVE_MAJOR) is older than this project needs: installing Node $(WANT_MAJOR) into $(NODE_DIR)"
	npm install --prefix $(NODE_DIR) --no-audit --no-fund --no-save node@$(WANT_MAJOR)

$(STAMP): package.json package-lock.json | $(NODE_BIN)
	@node --version
	rm -f node_modules/.install-stamp-node*
	npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP)

build: $(STAMP) $(ADDON)
	npx tsc -p tsconfig.json

# libdeflate's gunzip for the parse threads (native/gunzip.c, 1.3-1.4x zlib's speed): compiled straight
# against the Node-API headers of the node-api-headers package (no node-gyp, nothing downloaded), so one
# build serves every Node major. Without a C compiler or libdeflate's headers (Debian: libdeflate-dev) it
# says so and the collector inflates with zlib, as it would with CT_INFLATE=zlib.
$(ADDON): native/gunzip.c $(STAMP)
	@mkdir -p build
	@cc -O2 -Wall -Wextra -shared -fPIC -DNAPI_VERSION=8 -I node_modules/node-api-headers/include $< -ldeflate -o $@ \
	  || { rm -f $@; echo "note: $@ not built (needs cc and libdeflate-dev): the parse threads inflate with zlib"; }

# The Debian packages the tests start for real (Prometheus, promtool, rsyslogd with TLS, util-linux's
# script): installed when missing and this user may (root, or sudo without a password); otherwise one line
# that names them and the command.
test-deps:
	@test/system-deps.sh

# Type-checks the tests too (vitest only strips the types), then runs them. The Debian packages first:
# libdeflate-dev is one, for the addon the build compiles.
test: test-deps build
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
	rm -rf dist build
