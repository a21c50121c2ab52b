/**
 * `sealcam cloud serve --port P --data DIR [options]`: runs the cloud server until SIGTERM/SIGINT, then stops
 * gracefully (in-flight requests finish, bounded by --grace). Request logs are JSON lines on stdout.
 */
import { isSealcamError } from "../../firmware/core/errors";
import { EXIT, report, runTool, UsageError, type Args, type Context } from "../cli-kit";
import type { CliIo } from "../serial/cli-io";
import { parseBlobsOption } from "./blobs";
import { isLogLevel, LOG_LEVELS } from "./log";
import { normalizePublicUrl, startCloud, type CloudOptions } from "./server";

export async function main(argv: string[], io?: CliIo): Promise<number> {
  return runTool({
    name: "cloud",
    summary: "the cloud server: stores ciphertext only",
    commands: [{
      name: "serve",
      summary: "run the cloud server until SIGTERM/SIGINT, then stop gracefully (requests in flight finish)",
      synopsis: "--port PORT --data DIR",
      options: {
        port: { type: "string", arg: "PORT", help: "TCP port to listen on (0..65535; 0 picks a free one)" },
        data: { type: "string", arg: "DIR", help: "where the clip files (with --blobs files), the default SQLite database and the\ncloud key live (created if new)" },
        db: { type: "string", arg: "TARGET", help: "the metadata database: a SQLite file (default DIR/cloud.sqlite) or\npostgres://USER@HOST:PORT/DB (several nodes may share it: docs/CLOUD-API.md, Several nodes)" },
        blobs: { type: "string", arg: "STORE", default: "files", help: "where clip bodies go: files (DIR/clips) or s3://BUCKET/PREFIX, an S3-compatible\nobject store; region and credentials from the AWS environment (AWS_REGION,\nAWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE; docs/CLOUD-API.md, Blob stores)" },
        "s3-endpoint": { type: "string", arg: "URL", help: "with --blobs s3://…: the store's URL, path-style (MinIO, Ceph RGW), e.g. http://10.0.0.5:9000\n(default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else Amazon S3)" },
        host: { type: "string", arg: "ADDR", default: "127.0.0.1", help: "address to listen on (0.0.0.0 for every interface)" },
        "public-url": { type: "string", arg: "URL", help: "the address cameras use to reach this cloud, announced by GET /v1/info\n(default: the listen URL), e.g. http://192.168.1.20:8080 or https://cloud.example.org" },
        "log-level": { type: "string", arg: "LEVEL", default: "info", help: `${LOG_LEVELS.join(", ")}; JSON lines on stdout` },
        quiet: { type: "boolean", help: "no logs (same as --log-level silent)" },
        "sweep-interval": { type: "string", arg: "SECS", default: "3600", help: "how often expired clips and leftovers are removed (0 = only at start)" },
        grace: { type: "string", arg: "SECS", default: "10", help: "on SIGTERM/SIGINT, how long requests in flight may take to finish" },
        "key-file": { type: "string", arg: "F", help: "the cloud's own P-256 key (snapshot grants; created 0600 if missing)\n(default DIR/cloud-key.json; several nodes must share one file)" },
      },
      details: "A second SIGTERM/SIGINT stops at once. Exit 0 after a clean stop.",
      run: serve,
    }],
  }, argv, io);
}

async function serve(args: Args, ctx: Context): Promise<number> {
  const data = args.required("data", "--data DIR is required");
  const port = args.int("port", 0, 65535);
  if (port === undefined) throw new UsageError("--port PORT is required (0..65535)");
  const level = args.flag("quiet") ? "silent" : args.string("log-level") ?? "info";
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  const publicUrl = args.string("public-url");
  if (publicUrl !== undefined) {
    try {
      normalizePublicUrl(publicUrl);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const sweepSeconds = args.int("sweep-interval", 0, 9_999_999)!;
  const graceSeconds = args.int("grace", 0, 9_999_999)!;
  const db = args.string("db");
  if (db !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(db) && !/^postgres(ql)?:\/\//.test(db)) {
    throw new UsageError("--db must be a SQLite file path or a postgres:// (postgresql://) URL");
  }
  if (db !== undefined && /^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(db)) {
    throw new UsageError("--db must not carry a password (the command line is visible to other users of this machine): set PGPASSWORD in the environment or use ~/.pgpass");
  }
  const blobsValue = args.string("blobs") ?? "files";
  const s3Endpoint = args.string("s3-endpoint");
  try {
    parseBlobsOption(blobsValue, data, s3Endpoint);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = { data, host: args.string("host") ?? "127.0.0.1", "public-url": publicUrl };
  const io = ctx.io;
  let cloud: Awaited<ReturnType<typeof startCloud>>;
  try {
    const options: CloudOptions & { cloudKeyFile?: string } = {
      dataDir: values.data, db, blobs: blobsValue, s3Endpoint, port, host: values.host, publicUrl: values["public-url"],
      logLevel: level, sweepIntervalMs: sweepSeconds * 1000, cloudKeyFile: args.string("key-file"),
    };
    cloud = await startCloud(options);
  } catch (error) {
    const code = isSealcamError(error) ? error.code : (error as NodeJS.ErrnoException).code;
    return report(io, "cloud", Object.assign(new Error(`cannot start: ${(error as Error).message}`), { code }));
  }
  const where = (db === undefined ? "" : db.startsWith("postgres") ? ", metadata in PostgreSQL" : `, metadata in ${db}`) +
    (cloud.blobs.kind === "s3" ? `, clips in ${cloud.blobs.location}` : "");
  io.stderr.write(`sealcam cloud listening on ${cloud.url}, cameras told ${cloud.publicUrl} (data in ${values.data}${where})\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  // A second signal stops at once.
  const now = () => {
    io.stderr.write("sealcam cloud: stopping now\n");
    void cloud.close();
  };
  process.once("SIGINT", now);
  process.once("SIGTERM", now);
  io.stderr.write(`sealcam cloud: ${signal}: finishing requests in flight (at most ${graceSeconds} s); signal again to stop at once\n`);
  await cloud.shutdown({ graceMs: graceSeconds * 1000 });
  process.removeListener("SIGINT", now);
  process.removeListener("SIGTERM", now);
  return EXIT.OK;
}
