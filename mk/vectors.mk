# Test vectors for the sealed-clip format: regenerate with `make vectors` (deterministic; output is checked in).
.PHONY: vectors
vectors: $(NPM_STAMP)
	@mkdir -p build
	npx esbuild test/vectors/generate.ts --bundle --platform=node --format=cjs --log-level=warning --outfile=build/gen-vectors.cjs
	node build/gen-vectors.cjs
