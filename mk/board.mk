# Real boards (docs/HARDWARE.md):
#   make firmware BOARD=<name> [FLAVOR=release|debug]   build with the user's Moddable SDK + ESP-IDF
#   make flash BOARD=<name> PORT=/dev/ttyACM0 [FLASHER=sealcam|idf]
#   make boards                                           list the boards in hw/
#   make hw-validate                                      check manifests/, hw/ and partition tables
#   make firmware-check BOARD=<name>                      with only the Moddable SDK tools: mcconfig + tsc + xsc
# `make firmware` leaves the images the flasher needs in build/firmware/<board>/:
#   bootloader.bin (0x0), partition-table.bin (0x8000), xs_esp32.bin (0x10000), flasher.json (offsets, layout)

BOARD ?=
FLAVOR ?= release
PORT ?=
FLASHER ?= sealcam
HW_TOOLS := build/hw-tools.cjs
HW_TOOL_SOURCES := $(wildcard host-tools/hw/*.ts) firmware/core/errors.ts
MODDABLE_OUT := $(abspath build/moddable)
FIRMWARE_DIR = build/firmware/$(BOARD)
MODDABLE_HOST_DIR := $(if $(filter Darwin,$(shell uname -s)),mac,lin)

ifeq ($(FLAVOR),debug)
MC_FLAVOR_FLAGS := -d
CONSOLE_MODE := trace
else
MC_FLAVOR_FLAGS :=
CONSOLE_MODE := native
endif

.PHONY: firmware firmware-check flash boards hw-validate hw-doctor board-args

$(HW_TOOLS): $(NPM_STAMP) $(HW_TOOL_SOURCES)
	@mkdir -p build
	npx esbuild host-tools/hw/run.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@
BUILD_TARGETS += $(HW_TOOLS)

boards:
	@for b in hw/*/board.json; do d=$$(dirname $$b); printf '%-26s %s\n' "$$(basename $$d)" "$$(node -e 'const b=require("./'$$b'");console.log(b.title+" ("+b.sensor+", "+b.flashSize+" flash, "+b.psram.size+" "+b.psram.mode+" PSRAM): "+b.status)')"; done

hw-validate: $(HW_TOOLS)
	@node $(HW_TOOLS) validate .

hw-doctor: $(HW_TOOLS)
	@node $(HW_TOOLS) doctor

board-args:
	@if [ -z "$(BOARD)" ]; then echo "say which board: BOARD=<name>, one of: $$(ls hw | tr '\n' ' ')" >&2; exit 2; fi
	@case "$(FLAVOR)" in release|debug) ;; *) echo "FLAVOR must be release or debug, not '$(FLAVOR)'" >&2; exit 2;; esac

firmware: board-args $(HW_TOOLS)
	@node $(HW_TOOLS) platform $(BOARD) >/dev/null
	@node $(HW_TOOLS) validate .
	@node $(HW_TOOLS) doctor
	@node $(HW_TOOLS) cflags "$$IDF_PATH" build/firmware/idf-cflags.rsp
	@mkdir -p $(MODDABLE_OUT)
	@echo "firmware: $(BOARD) ($(FLAVOR)) with mcconfig -p $$(node $(HW_TOOLS) platform $(BOARD))"
	cd manifests && SEALCAM_IDF_CFLAGS=$(abspath build/firmware/idf-cflags.rsp) PATH="$$MODDABLE/build/bin/$(MODDABLE_HOST_DIR)/release:$$PATH" \
	  mcconfig -m -t build -o $(MODDABLE_OUT) -p "$$(node ../$(HW_TOOLS) platform $(BOARD))" $(MC_FLAVOR_FLAGS) \
	  consoleMode=$(CONSOLE_MODE) manifest.json
	@node $(HW_TOOLS) collect $(BOARD) $(MODDABLE_OUT) $(FIRMWARE_DIR) --flavor $(FLAVOR)

# Without ESP-IDF: run the real mcconfig (generation only), its per-module tsc, and xsc on our modules.
firmware-check: board-args $(HW_TOOLS)
	@node $(HW_TOOLS) validate .
	@if [ -z "$$MODDABLE" ]; then echo "firmware-check: set MODDABLE to a Moddable SDK checkout with its tools built" >&2; exit 3; fi
	PATH="$$MODDABLE/build/bin/$(MODDABLE_HOST_DIR)/release:$$PATH" node $(HW_TOOLS) check-build $(BOARD) build/moddable-check

flash: board-args $(HW_TOOLS)
	@if [ -z "$(PORT)" ]; then echo "make flash: say which serial port, e.g. PORT=/dev/ttyACM0 (bin/sealcam ports lists likely boards)" >&2; exit 2; fi
	@if [ ! -f $(FIRMWARE_DIR)/xs_esp32.bin ]; then echo "make flash: no images in $(FIRMWARE_DIR); run make firmware BOARD=$(BOARD) first" >&2; exit 2; fi
	@if [ "$(FLASHER)" = "sealcam" ] && [ -f host-tools/flash/cli.ts ]; then \
	  $(MAKE) cli && bin/sealcam flash --board $(BOARD) --port $(PORT) --build $(FIRMWARE_DIR); \
	else \
	  node $(HW_TOOLS) doctor || exit 3; \
	  proj=$$(ls -d $(MODDABLE_OUT)/tmp/esp32/$$(node $(HW_TOOLS) subplatform $(BOARD))/$(FLAVOR)/*/xsProj-esp32s3 2>/dev/null | head -1); \
	  if [ -z "$$proj" ]; then echo "make flash: no ESP-IDF project under $(MODDABLE_OUT)/tmp; run make firmware BOARD=$(BOARD) first" >&2; exit 2; fi; \
	  echo "flash: idf.py -C $$proj -p $(PORT) flash"; \
	  idf.py -C "$$proj" -p $(PORT) flash; \
	fi
