# The board simulator's firmware bundle and the main job (`make sim`): see docs/BOARD-SIM.md.
#   build/xs-bundles/board-sim.js   firmware/sim/main.ts + the camera application, bundled for the XS host
#   make sim                        sealcam sim: cloud + phones + camera (firmware in XS), end to end
SIM_BUNDLE_OUT := build/xs-bundles/board-sim.js
SIM_BUNDLER := build/board-sim/build-sim-bundle.cjs
SIM_FIRMWARE_SOURCES := $(shell find firmware host-tools/board-sim/xs-host/js -name '*.ts' 2>/dev/null)
SIM_OUT ?= .sim/run

$(SIM_BUNDLER): $(NPM_STAMP) host-tools/board-sim/build-sim-bundle.ts host-tools/board-sim/bundle.ts host-tools/board-sim/xs-runner.ts
	@mkdir -p $(@D)
	npx esbuild host-tools/board-sim/build-sim-bundle.ts --bundle --platform=node --format=cjs --target=node20 \
	  --log-level=warning --external:esbuild --external:better-sqlite3 --external:serialport --outfile=$@

$(SIM_BUNDLE_OUT): $(SIM_BUNDLER) $(SIM_FIRMWARE_SOURCES)
	@node $(SIM_BUNDLER)

BUILD_TARGETS += $(SIM_BUNDLE_OUT)

sim: build
	@node $(CLI_OUT) sim --out $(SIM_OUT)
