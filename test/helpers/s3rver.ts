/**
 * An S3-compatible server for tests: the `s3rver` package, in this process, on a free loopback port, over a
 * temp folder, with one bucket. What s3rver does not prove about real S3 is listed in docs/CLOUD-API.md
 * ("Blob stores").
 *
 *   const s3 = await startS3rver();
 *   const store = S3BlobStore.open({ ...s3.storeOptions, prefix: "sealcam" });
 *   ...
 *   await s3.stop();
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface S3rverHandle {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** The folder s3rver keeps its objects in (removed by stop). */
  directory: string;
  /** What S3BlobStore.open needs besides the prefix (path-style, s3rver's fixed credentials). */
  storeOptions: {
    bucket: string;
    endpoint: string;
    region: string;
    forcePathStyle: true;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  stop(): Promise<void>;
}

export async function startS3rver(bucket = "sealcam-test"): Promise<S3rverHandle> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-s3rver-"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the package ships no types; S3rverClass is its shape
  const S3rver = require("s3rver") as S3rverClass;
  const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket,
    directory,
    storeOptions: {
      bucket,
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      // s3rver checks signatures against these fixed test credentials (not secrets).
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    },
    async stop() {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
