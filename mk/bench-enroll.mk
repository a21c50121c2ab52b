# Benchmark: phone enroll/recover and camera setup, split into stages (bench/enroll.ts).
.PHONY: bench-enroll
build/bench/enroll.cjs: bench/enroll.ts bench/lib/results.ts test/board-sim/harness.ts $(wildcard host-tools/phone/*.ts host-tools/cloud/*.ts host-tools/board-sim/*.ts) $(NPM_STAMP)
	@mkdir -p build/bench
	npx esbuild bench/enroll.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:better-sqlite3 --external:esbuild --external:serialport --external:@serialport/* --outfile=$@
bench-enroll: build/bench/enroll.cjs build/xs-host/xs-host
	node build/bench/enroll.cjs
BENCH_TARGETS += bench-enroll
