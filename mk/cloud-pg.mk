# The cloud suite again on the PostgreSQL body (a throw-away cluster per test file, test/cloud/postgres.ts);
# `npx jest` (below in `make test`) runs it on SQLite. test/cloud/nodes.test.ts runs three nodes over
# PostgreSQL in both runs' place, and the blob-store tests use no database: they are excluded here (the plain run has them).
.PHONY: test-cloud-pg
test-cloud-pg: $(NPM_STAMP)
	SEALCAM_TEST_DB=postgres npx jest --ci --forceExit test/cloud --testPathIgnorePatterns nodes.test.ts blobs
TEST_TARGETS += test-cloud-pg
