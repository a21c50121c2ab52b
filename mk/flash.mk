# Flashing and the serial console (host-tools/flash, host-tools/console, host-tools/serial, host-tools/sim).
# `sealcam flash|ports|console` are part of the CLI bundle (dist/sealcam.cjs). This adds the runnable
# ESP32-S3 ROM simulator, to try the flasher without a board:
#   node dist/esp32s3-rom.cjs --pty /tmp/esp --dump /tmp/esp/flash.bin &
#   bin/sealcam flash --port /tmp/esp/ttyHOST --board xiao_esp32s3_sense --build build/firmware/xiao_esp32s3_sense
ROM_SIM_OUT := dist/esp32s3-rom.cjs
ROM_SIM_SOURCES := $(wildcard host-tools/sim/esp32s3-rom*.ts host-tools/serial/*.ts host-tools/hw/*.ts)

$(ROM_SIM_OUT): $(NPM_STAMP) $(ROM_SIM_SOURCES)
	@mkdir -p dist
	npx esbuild host-tools/sim/esp32s3-rom-main.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
	  --external:serialport --external:@serialport/* --outfile=$@

rom-sim: $(ROM_SIM_OUT)
.PHONY: rom-sim
BUILD_TARGETS += $(ROM_SIM_OUT)
