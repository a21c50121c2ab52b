# Benchmark: the sealed-clip format in Node, 1 MB vs 100 MB (throughput and peak memory).
.PHONY: bench-clip
build/bench/clip-node.cjs: bench/clip-node.ts bench/lib/results.ts $(wildcard firmware/core/*.ts firmware/core/clip/*.ts) $(NPM_STAMP)
	@mkdir -p build/bench
	npx esbuild bench/clip-node.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@
bench-clip: build/bench/clip-node.cjs
	node build/bench/clip-node.cjs
BENCH_TARGETS += bench-clip
