# Benchmark: cloud ingest, N cameras on loopback against one cloud (bench/cloud), vs this disk's rate.
.PHONY: bench-cloud
BENCH_CLOUD_DEPS := $(wildcard bench/cloud/*.ts bench/lib/*.ts host-tools/cloud/*.ts host-tools/phone/*.ts firmware/core/*.ts firmware/core/*/*.ts) $(NPM_STAMP)
build/bench/cloud-child.cjs: $(BENCH_CLOUD_DEPS)
	@mkdir -p $(@D)
	npx esbuild bench/cloud/child.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:better-sqlite3 --external:@aws-sdk/* --outfile=$@
build/bench/cloud-ingest.cjs: $(BENCH_CLOUD_DEPS)
	@mkdir -p $(@D)
	npx esbuild bench/cloud/ingest.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:better-sqlite3 --external:esbuild --external:@aws-sdk/* --outfile=$@
build/bench/cloud-nodes.cjs: bench/cloud/nodes.ts test/cloud/postgres.ts $(NPM_STAMP)
	@mkdir -p $(@D)
	npx esbuild bench/cloud/nodes.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --external:pg --outfile=$@
# The second command: the PostgreSQL body, 1 node vs 3 nodes (bench/cloud/nodes.ts).
bench-cloud: build/bench/cloud-child.cjs build/bench/cloud-ingest.cjs build/bench/cloud-nodes.cjs
	node build/bench/cloud-ingest.cjs
	node build/bench/cloud-nodes.cjs
BENCH_TARGETS += bench-cloud
