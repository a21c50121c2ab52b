# Benchmark: public-key cost per clip in XS (firmware + native) vs the same calls in plain C (bench/xs-pk).
# (Included before mk/xs-host.mk, alphabetically: paths are spelled out, not $(XSH_OUT)/$(XS_HOST).)
.PHONY: bench-xs-pk
build/xs-host/pk-ceiling: bench/xs-pk/pk_ceiling.c mk/bench-xs-pk.mk
	@mkdir -p $(@D)
	$(XSH_CC) -O2 -Wall -Wextra -Werror $< -lmbedcrypto -o $@
build/bench/xs-pk.cjs: bench/xs-pk/run.ts bench/lib/results.ts host-tools/board-sim/board-sim.ts host-tools/board-sim/bundle.ts $(NPM_STAMP)
	@mkdir -p $(@D)
	npx esbuild bench/xs-pk/run.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:esbuild --outfile=$@
bench-xs-pk: build/xs-host/xs-host build/xs-host/pk-ceiling build/bench/xs-pk.cjs
	node build/bench/xs-pk.cjs
BENCH_TARGETS += bench-xs-pk
