# The board simulator's firmware bundle and the main job (`make sim`): see docs/BOARD-SIM.md.
#   build/xs-bundles/board-sim.js   firmware/sim/main.ts + the camera application, bundled for the XS host
#   make sim                        sealcam sim: cloud + phones + camera (firmware in XS), end to end
SIM_BUNDLE_OUT := build/xs-bundles/board-sim.js
SIM_FIRMWARE_SOURCES := $(shell find firmware host-tools/board-sim/xs-host/js -name '*.ts' 2>/dev/null)
SIM_OUT ?= .sim/run

# Bundled with mk/xs-host.mk's bundler CLI (build/xs-host/bundle.cjs; spelled out because that file is read
# after this one). The entry and output match SIM_ENTRY/SIM_BUNDLE in host-tools/board-sim/xs-runner.ts.
$(SIM_BUNDLE_OUT): build/xs-host/bundle.cjs $(SIM_FIRMWARE_SOURCES)
	@node build/xs-host/bundle.cjs firmware/sim/main.ts $@

BUILD_TARGETS += $(SIM_BUNDLE_OUT)

sim: build
	@node $(CLI_OUT) sim --out $(SIM_OUT)
