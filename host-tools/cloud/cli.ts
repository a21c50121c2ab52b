/** `sealcam cloud serve --port P --data DIR [--host H]`: runs the cloud server until interrupted. */
import { startCloud } from "./server";

const USAGE = "usage: sealcam cloud serve --port PORT --data DIR [--host 127.0.0.1]";

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (command !== "serve") {
    process.stderr.write(USAGE + "\n");
    return 2;
  }
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i];
    const value = rest[i + 1];
    if (!key?.startsWith("--") || value === undefined) {
      process.stderr.write(USAGE + "\n");
      return 2;
    }
    options[key.slice(2)] = value;
  }
  if (!options.data || !/^\d{1,5}$/.test(options.port ?? "")) {
    process.stderr.write(USAGE + "\n");
    return 2;
  }
  const cloud = await startCloud({ dataDir: options.data, port: Number(options.port), host: options.host ?? "127.0.0.1" });
  process.stdout.write(`sealcam cloud listening on ${cloud.url} (data in ${options.data})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await cloud.close();
  return 0;
}
