# The cloud suite again on the PostgreSQL body (a throw-away cluster per test file, test/cloud/postgres.ts);
# `npx jest` (below in `make test`) runs it on SQLite. test/cloud/nodes.test.ts runs three nodes over
# PostgreSQL in both runs' place: it is excluded here (the plain run has it).
.PHONY: test-cloud-pg
test-cloud-pg: $(NPM_STAMP)
	SEALCAM_TEST_DB=postgres npx jest --ci --forceExit test/cloud --testPathIgnorePatterns nodes.test.ts
TEST_TARGETS += test-cloud-pg
