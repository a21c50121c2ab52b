# Benchmark: live view on the board simulator (glass-to-glass latency p50/p99 and frames/s; bench/live.ts).
.PHONY: bench-live
build/bench/live.cjs: bench/live.ts bench/lib/results.ts $(HOST_SOURCES) $(NPM_STAMP)
	@mkdir -p build/bench
	npx esbuild bench/live.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning \
	  --external:better-sqlite3 --external:serialport --external:@serialport/* --external:esbuild --outfile=$@
bench-live: build/bench/live.cjs $(SIM_BUNDLE_OUT)
	node build/bench/live.cjs
BENCH_TARGETS += bench-live
