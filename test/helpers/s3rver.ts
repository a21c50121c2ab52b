/**
 * An S3-compatible server for tests: the `s3rver` package, in a child process (`node
 * --openssl-legacy-provider`: s3rver's listing continuation tokens use DES, which Node's OpenSSL 3 refuses
 * otherwise, so any truncated listing — MaxKeys below the count — would be a 500), on a free loopback port,
 * over a temp folder, with one bucket. What s3rver does not prove about real S3 is listed in
 * docs/CLOUD-API.md ("Blob stores").
 *
 *   const s3 = await startS3rver();
 *   const store = S3BlobStore.open({ ...s3.storeOptions, prefix: "sealcam" });
 *   ...
 *   await s3.stop();
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";

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

/** The child: starts s3rver with the bucket in the folder, prints its port, stops on SIGTERM. */
const CHILD = `
const S3rver = require("s3rver");
const [directory, bucket] = process.argv.slice(1);
const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
server.run().then((address) => process.stdout.write("PORT " + address.port + "\\n"));
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
`;

export async function startS3rver(bucket = "sealcam-test"): Promise<S3rverHandle> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-s3rver-"));
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD, directory, bucket], {
    cwd: path.resolve(__dirname, "../.."), // s3rver resolves from the repository's node_modules
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString();
      const m = /PORT (\d+)\n/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error("s3rver exited before it listened")));
  });
  const endpoint = `http://127.0.0.1:${port}`;
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
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
