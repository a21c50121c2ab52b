# The cloud suite again on PostgreSQL + S3 (test/cloud/fixture.ts: a throw-away PostgreSQL cluster and an s3rver
# per test file, test/cloud/postgres.ts and test/helpers/s3rver.ts); `npx jest` (below in `make test`) runs it on
# SQLite + files. test/cloud/nodes.test.ts runs three nodes over PostgreSQL and s3rver in both runs' place, and the
# blob-store tests use no database: they are excluded here (the plain run has them).
.PHONY: test-cloud-pg
test-cloud-pg: $(NPM_STAMP)
	SEALCAM_TEST_DB=postgres npx jest --ci --forceExit test/cloud --testPathIgnorePatterns nodes.test.ts blobs
TEST_TARGETS += test-cloud-pg
