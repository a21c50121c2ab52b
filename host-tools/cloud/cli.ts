/**
 * `sealcam cloud serve --port P --data DIR [options]`: runs the cloud server until SIGTERM/SIGINT, then stops
 * gracefully (in-flight requests finish, bounded by --grace). Request logs are JSON lines on stdout.
 */
import { parseArgs } from "node:util";
import { isSealcamError } from "../../firmware/core/errors";
import { isLogLevel, LOG_LEVELS } from "./log";
import { normalizePublicUrl, startCloud } from "./server";

const USAGE = `usage: sealcam cloud serve --port PORT --data DIR [options]

options:
  --host ADDR             address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --public-url URL        the address cameras use to reach this cloud, announced by GET /v1/info
                          (default: the listen URL), e.g. http://192.168.1.20:8080 or https://cloud.example.org
  --log-level LEVEL       ${LOG_LEVELS.join(", ")} (default info); JSON lines on stdout
  --quiet                 no logs (same as --log-level silent)
  --sweep-interval SECS   how often expired clips and leftovers are removed (default 3600; 0 = only at start)
  --grace SECS            on SIGTERM/SIGINT, how long requests in flight may take to finish (default 10)`;

function usageError(message: string): number {
  process.stderr.write(`sealcam cloud: ${message}\n${USAGE}\n`);
  return 2;
}

function seconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,7}$/.test(text)) throw new Error(`--${name} must be a whole number of seconds`);
  return Number(text);
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== "serve") return usageError(positionals.length ? `unknown command '${positionals.join(" ")}'` : "missing command 'serve'");
  if (!values.data) return usageError("--data DIR is required");
  if (!/^\d{1,5}$/.test(values.port ?? "") || Number(values.port) > 65535) return usageError("--port PORT is required (0..65535)");
  const level = values.quiet ? "silent" : values["log-level"] ?? "info";
  if (!isLogLevel(level)) return usageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  let sweepSeconds: number;
  let graceSeconds: number;
  try {
    if (values["public-url"] !== undefined) normalizePublicUrl(values["public-url"]);
    sweepSeconds = seconds(values["sweep-interval"], "sweep-interval", 3600);
    graceSeconds = seconds(values.grace, "grace", 10);
  } catch (error) {
    return usageError((error as Error).message);
  }
  let cloud: Awaited<ReturnType<typeof startCloud>>;
  try {
    cloud = await startCloud({
      dataDir: values.data, port: Number(values.port), host: values.host ?? "127.0.0.1", publicUrl: values["public-url"],
      logLevel: level, sweepIntervalMs: sweepSeconds * 1000,
    });
  } catch (error) {
    const code = isSealcamError(error) ? ` [${error.code}]` : (error as NodeJS.ErrnoException).code ? ` [${(error as NodeJS.ErrnoException).code}]` : "";
    process.stderr.write(`sealcam cloud: cannot start: ${(error as Error).message}${code}\n`);
    return 1;
  }
  process.stderr.write(`sealcam cloud listening on ${cloud.url}, cameras told ${cloud.publicUrl} (data in ${values.data})\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  // A second signal stops at once.
  const now = () => {
    process.stderr.write("sealcam cloud: stopping now\n");
    void cloud.close();
  };
  process.once("SIGINT", now);
  process.once("SIGTERM", now);
  process.stderr.write(`sealcam cloud: ${signal}: finishing requests in flight (at most ${graceSeconds} s); signal again to stop at once\n`);
  await cloud.shutdown({ graceMs: graceSeconds * 1000 });
  process.removeListener("SIGINT", now);
  process.removeListener("SIGTERM", now);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      port: { type: "string" },
      data: { type: "string" },
      host: { type: "string" },
      "public-url": { type: "string" },
      "log-level": { type: "string" },
      quiet: { type: "boolean" },
      "sweep-interval": { type: "string" },
      grace: { type: "string" },
    },
  });
}
