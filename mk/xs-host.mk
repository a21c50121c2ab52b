# The XS host (host-tools/board-sim/xs-host): the XS engine compiled straight from node_modules/@agoric/xsnap
# (nothing copied into the repo), xsnapPlatform.c, our native crypto module and the host's own C files.
# Three binaries: build/xs-host/xs-host (normal), build/xs-host/xs-host-stress (-DmxStress=1: the engine
# collects garbage on every allocation, which catches native code that keeps pointers into moving buffers) and
# build/xs-host/xs-host-board32 (gcc -m32 against the i386 Mbed TLS, with the board's xsCreation generated from
# manifests/manifest.json: 32-bit slots and pointers, fixed heaps; scripts/setup-system.sh installs the
# toolchain). Every variant links the engine's chunk/slot allocators wrapped (memstats.c: memory counters).
# Object per file, parallel-safe, incremental (-MMD dependency files).

XSH_DIR := host-tools/board-sim/xs-host
XSH_OUT := build/xs-host
XSNAP := node_modules/@agoric/xsnap
XS_SRC := $(XSNAP)/moddable/xs/sources
XS_INC := $(XSNAP)/moddable/xs/includes
XS_PLAT := $(XSNAP)/moddable/xs/platforms
XSN_SRC := $(XSNAP)/xsnap-native/xsnap/sources
XSH_CC ?= cc

XS_ENGINE_NAMES := $(notdir $(wildcard $(XS_SRC)/*.c))
ifeq ($(XS_ENGINE_NAMES),)
# before npm install: the list is computed again when make re-reads this file after $(NPM_STAMP)
XS_ENGINE_NAMES := xsAll.c
endif

XSH_DEFINES := -DINCLUDE_XSPLATFORM '-DXSPLATFORM="xsnapPlatform.h"' -DmxParse=1 -DmxRun=1 -DmxSloppy=1 \
  -DmxNoConsole=1 -DmxBoundsCheck=1 -DmxRegExpUnicodePropertyEscapes=1 -DmxStringNormalize=1 \
  -DmxMinusZero=1
XSH_INCLUDES := -isystem $(XS_INC) -isystem $(XS_PLAT) -isystem $(XS_SRC) -isystem $(XSN_SRC) -Ifirmware/native \
  -I$(XSH_DIR)
# XS's own sources are not ours to fix: no warnings. Ours build with -Wall -Wextra -Werror.
XSH_ENGINE_CFLAGS := -O2 -fno-common -w $(XSH_DEFINES) $(XSH_INCLUDES)
XSH_OWN_CFLAGS := -O2 -fno-common -Wall -Wextra -Werror $(XSH_DEFINES) $(XSH_INCLUDES)

XSH_OWN_SOURCES := $(XSH_DIR)/main.c $(XSH_DIR)/host_natives.c $(XSH_DIR)/channel.c $(XSH_DIR)/jobs.c \
  $(XSH_DIR)/memstats.c firmware/native/sealcam_crypto.c
XSH_WRAPS := -Wl,--wrap=fxNewChunk,--wrap=fxNewGrowableChunk,--wrap=fxRenewChunk,--wrap=fxNewSlot,--wrap=fxDeleteScript

# $(1) = variant (normal|stress|board32|psa4), $(2) = extra flags (compile and link), $(3) = binary,
# $(4) = crypto library, $(5) = extra prerequisites of our own objects (generated headers)
define XSH_VARIANT
XSH_$(1)_ENGINE_OBJS := $$(addprefix $(XSH_OUT)/$(1)/engine/,$$(XS_ENGINE_NAMES:.c=.o)) $(XSH_OUT)/$(1)/engine/xsnapPlatform.o
XSH_$(1)_OWN_OBJS := $$(addprefix $(XSH_OUT)/$(1)/own/,$$(notdir $$(XSH_OWN_SOURCES:.c=.o)))

$(XSH_OUT)/$(1)/engine/%.o: $(XS_SRC)/%.c mk/xs-host.mk | $(NPM_STAMP)
	@mkdir -p $$(@D)
	@$(XSH_CC) $(XSH_ENGINE_CFLAGS) $(2) -MMD -MP -c $$< -o $$@
$(XSH_OUT)/$(1)/engine/xsnapPlatform.o: $(XSN_SRC)/xsnapPlatform.c mk/xs-host.mk | $(NPM_STAMP)
	@mkdir -p $$(@D)
	@$(XSH_CC) $(XSH_ENGINE_CFLAGS) $(2) -MMD -MP -c $$< -o $$@
$(XSH_OUT)/$(1)/own/%.o: $(XSH_DIR)/%.c mk/xs-host.mk $(5) | $(NPM_STAMP)
	@mkdir -p $$(@D)
	$(XSH_CC) $(XSH_OWN_CFLAGS) $(2) -MMD -MP -c $$< -o $$@
$(XSH_OUT)/$(1)/own/sealcam_crypto.o: firmware/native/sealcam_crypto.c mk/xs-host.mk | $(NPM_STAMP)
	@mkdir -p $$(@D)
	$(XSH_CC) $(XSH_OWN_CFLAGS) $(2) -MMD -MP -c $$< -o $$@

$(3): $$(XSH_$(1)_ENGINE_OBJS) $$(XSH_$(1)_OWN_OBJS)
	$(XSH_CC) $(2) -rdynamic $(XSH_WRAPS) $$^ $(4) -lm -ldl -lpthread -o $$@

-include $$(XSH_$(1)_ENGINE_OBJS:.o=.d) $$(XSH_$(1)_OWN_OBJS:.o=.d)
endef

XS_HOST := $(XSH_OUT)/xs-host
XS_HOST_STRESS := $(XSH_OUT)/xs-host-stress
$(eval $(call XSH_VARIANT,normal,,$(XS_HOST),-lmbedcrypto))
$(eval $(call XSH_VARIANT,stress,-DmxStress=1,$(XS_HOST_STRESS),-lmbedcrypto))

# The board's terms. creation.h (and creation.json, which the tests read) come from the manifest at build time.
XS_HOST_BOARD32 := $(XSH_OUT)/xs-host-board32
XSH_BOARD32_GEN := $(XSH_OUT)/board32/creation.h
$(XSH_BOARD32_GEN): manifests/manifest.json $(XSH_DIR)/creation-header.cjs
	@mkdir -p $(@D)
	node $(XSH_DIR)/creation-header.cjs manifests/manifest.json $@ $(XSH_OUT)/board32/creation.json
# No i386 toolchain: say why and how, instead of a wall of missing-header errors.
$(XSH_OUT)/board32/.toolchain-ok: scripts/setup-system.sh
	@mkdir -p $(@D)
	@echo 'int main(void) { return 0; }' | $(XSH_CC) -m32 -x c - -lmbedcrypto -o $(@D)/toolchain-check 2>$(@D)/toolchain-check.log \
	  || { echo "xs-host-board32: cannot build 32-bit programs against the i386 Mbed TLS ($$(tail -1 $(@D)/toolchain-check.log))." >&2; \
	       echo "  It needs gcc-multilib and libmbedtls-dev:i386 (Debian/Ubuntu multiarch on amd64): run make setup as root," >&2; \
	       echo "  or: dpkg --add-architecture i386 && apt-get update && apt-get install gcc-multilib libmbedtls-dev:i386" >&2; exit 1; }
	@touch $@
$(eval $(call XSH_VARIANT,board32,-m32 -DSEALCAM_BOARD32=1 -I$(XSH_OUT)/board32,$(XS_HOST_BOARD32),-L/usr/lib/i386-linux-gnu -lmbedcrypto,$(XSH_BOARD32_GEN) $(XSH_OUT)/board32/.toolchain-ok))

# Optional: the same host against Mbed TLS 4's crypto (TF-PSA-Crypto 1.x, PSA only, as in ESP-IDF 6), to check
# the non-2.28 branches of sealcam_crypto.c for real. Not part of the default build: needs a TF-PSA-Crypto
# source tree built with cmake, e.g. make xs-host-psa4 TFPSA=/path/to/TF-PSA-Crypto TFPSA_BUILD=/path/to/build
# (libtfpsacrypto.a in $(TFPSA_BUILD)/core). test/xs runs the conformance suite on it when the binary exists.
ifneq ($(TFPSA),)
TFPSA_BUILD ?= $(TFPSA)/build
XS_HOST_PSA4 := $(XSH_OUT)/xs-host-psa4
$(eval $(call XSH_VARIANT,psa4,-I$(TFPSA)/include -I$(TFPSA)/drivers/builtin/include,$(XS_HOST_PSA4),$(TFPSA_BUILD)/core/libtfpsacrypto.a))
.PHONY: xs-host-psa4
xs-host-psa4: $(XS_HOST_PSA4)
endif

.PHONY: xs-host
xs-host: $(XS_HOST) $(XS_HOST_STRESS) $(XS_HOST_BOARD32)
BUILD_TARGETS += $(XS_HOST) $(XS_HOST_STRESS) $(XS_HOST_BOARD32)

# Firmware bundles for the XS host (bundleFirmware in host-tools/board-sim/bundle.ts, through its small CLI):
#   $(XS_BUNDLER) <entry.ts> <out.js> [specifier=path ...]     (other mk files may use it for their bundles)
XS_BUNDLER := $(XSH_OUT)/bundle.cjs
XS_BUNDLE_DEPS := $(XS_BUNDLER) $(wildcard firmware/native/*.ts firmware/core/*.ts firmware/core/*/*.ts \
  host-tools/board-sim/xs-host/js/*.ts)
$(XS_BUNDLER): host-tools/board-sim/bundle-main.ts host-tools/board-sim/bundle.ts $(NPM_STAMP)
	@mkdir -p $(@D)
	npx esbuild host-tools/board-sim/bundle-main.ts --bundle --platform=node --format=cjs --target=node20 \
	  --log-level=warning --external:esbuild --outfile=$@
XS_BUNDLES := build/xs-bundles/smoke.js
build/xs-bundles/smoke.js: test/xs/smoke.entry.ts $(XS_BUNDLE_DEPS)
	node $(XS_BUNDLER) $< $@
BUILD_TARGETS += $(XS_BUNDLES)

# Benchmark: XS sealing vs the plain-C ceiling vs pure-JS GCM in XS (bench/xs-seal).
$(XSH_OUT)/gcm-ceiling: bench/xs-seal/gcm_ceiling.c mk/xs-host.mk
	@mkdir -p $(@D)
	$(XSH_CC) -O2 -Wall -Wextra -Werror $< -lmbedcrypto -o $@
build/bench/xs-seal.cjs: bench/xs-seal/run.ts bench/lib/results.ts host-tools/board-sim/board-sim.ts host-tools/board-sim/bundle.ts $(NPM_STAMP)
	@mkdir -p $(@D)
	npx esbuild bench/xs-seal/run.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:esbuild --outfile=$@
.PHONY: bench-xs-seal
bench-xs-seal: $(XS_HOST) $(XSH_OUT)/gcm-ceiling build/bench/xs-seal.cjs
	node build/bench/xs-seal.cjs
BENCH_TARGETS += bench-xs-seal
