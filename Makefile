# Two commands do everything on a fresh Debian 12 machine (as root):
#   make run    install what is missing, build, put `tenet` on the PATH, start `tenet up`
#   make test   install what is missing, build, run the whole test suite
SHELL := /bin/bash
DATA_DIR ?= /var/lib/tenet
TEST_CONCURRENCY ?= 2

.PHONY: all deps build link run test bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@npx tsc -p tsconfig.json
	@echo "build: ok"

link: build
	@ln -sf "$(CURDIR)/bin/tenet" /usr/local/bin/tenet
	@echo "tenet is on the PATH: $$(command -v tenet)"

run: link
	exec node dist/src/cmd/tenet.js up --data-dir "$(DATA_DIR)"

test: build
	@# A hang fails its test after 10 minutes instead of holding CI until its own limit.
	node --test --test-concurrency=$(TEST_CONCURRENCY) --test-timeout=600000 dist/

bench: build
	node dist/bench/run-all.js

clean:
	rm -rf dist
