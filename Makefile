# sealcam: the front door. `make test` and `make sim` work on a fresh clone; each installs what it needs.
#
#   make setup      system packages (apt) and npm dependencies
#   make build      everything the host needs: the XS host, the firmware bundle, the sealcam CLI
#   make test       build, type-check both type worlds, run every jest test
#   make sim        the main job: cloud + phones + camera (firmware in XS), end to end
#   make bench      benchmarks; results in bench/results/latest.json
#   make firmware BOARD=xiao_esp32s3_sense   build for a real board with the Moddable SDK
#   make flash BOARD=... PORT=/dev/ttyACM0    flash it
SHELL := /bin/bash
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory
NPM_STAMP := node_modules/.sealcam-installed
SYS_STAMP := build/.system-ok
BUILD_TARGETS :=
TEST_TARGETS :=
BENCH_TARGETS :=

.PHONY: setup build build-targets test test-targets sim bench bench-targets typecheck clean cli

setup: $(SYS_STAMP) $(NPM_STAMP)

$(SYS_STAMP): scripts/setup-system.sh
	@bash scripts/setup-system.sh
	@mkdir -p build && touch $@

# `npm install` rather than `npm ci`: the registry mirror here serves no metadata for other platforms'
# optional binaries (@swc/core-darwin-*, ...), so the lockfile cannot list them and `npm ci` refuses it.
# `npm install` still installs exactly the locked versions.
$(NPM_STAMP): package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

# The sealcam CLI, bundled for Node (native packages, and the AWS SDK that --blobs s3 loads, stay external).
CLI_OUT := dist/sealcam.cjs
HOST_SOURCES := $(shell find host-tools firmware -name '*.ts' 2>/dev/null)
$(CLI_OUT): $(NPM_STAMP) $(HOST_SOURCES)
	@mkdir -p dist
	npx esbuild host-tools/cli.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
	  --external:better-sqlite3 --external:serialport --external:@serialport/* --external:esbuild --external:@aws-sdk/* --outfile=$@
cli: $(CLI_OUT)
BUILD_TARGETS += $(CLI_OUT)

-include mk/*.mk

# Two phases: setup first, then a fresh make that reads the makefiles again, so rules that list files inside
# node_modules (the XS engine sources) see them on a fresh clone (make caches directory listings).
build: setup
	@$(MAKE) build-targets
build-targets: $(BUILD_TARGETS)

typecheck: $(NPM_STAMP)
	npx tsc --noEmit -p tsconfig.json
	npx tsc --noEmit -p firmware/tsconfig.json

test: setup
	@$(MAKE) test-targets
test-targets: build-targets typecheck $(TEST_TARGETS)
	npx jest --ci --forceExit

bench: setup
	@$(MAKE) bench-targets
bench-targets: build-targets $(BENCH_TARGETS)

clean:
	rm -rf build dist
