# Benchmark: XS heap high-water and host RSS while the firmware seals a 1 MB vs a 200 MB clip (bench/xs-mem).
# (Included before mk/xs-host.mk, alphabetically: paths are spelled out.)
.PHONY: bench-xs-mem
build/bench/xs-mem.cjs: bench/xs-mem/run.ts bench/lib/proc.ts bench/lib/results.ts host-tools/board-sim/board-sim.ts host-tools/board-sim/bundle.ts $(NPM_STAMP)
	@mkdir -p $(@D)
	npx esbuild bench/xs-mem/run.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:esbuild --outfile=$@
bench-xs-mem: build/xs-host/xs-host build/xs-host/xs-host-board32 build/bench/xs-mem.cjs
	node build/bench/xs-mem.cjs
BENCH_TARGETS += bench-xs-mem
