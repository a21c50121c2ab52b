# Benchmark: format overhead of a sealed clip beside age v1 and the AWS Encryption SDK v2 (bench/format-overhead.ts).
.PHONY: bench-format
build/bench/format-overhead.cjs: bench/format-overhead.ts bench/lib/results.ts $(wildcard firmware/core/*.ts firmware/core/clip/*.ts) $(NPM_STAMP)
	@mkdir -p build/bench
	npx esbuild bench/format-overhead.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=$@
bench-format: build/bench/format-overhead.cjs
	node build/bench/format-overhead.cjs
BENCH_TARGETS += bench-format
