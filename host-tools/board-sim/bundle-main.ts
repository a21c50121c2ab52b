/**
 * Command-line front of bundleFirmware, used by mk/xs-host.mk:
 *   node build/xs-host/bundle.cjs <entry.ts> <out.js> [specifier=path ...]
 */
import { bundleFirmware } from "./bundle";

async function main(argv: string[]): Promise<number> {
  const [entry, out, ...aliases] = argv;
  if (!entry || !out) {
    console.error("usage: bundle <entry.ts> <out.js> [specifier=path ...]");
    return 2;
  }
  const alias: Record<string, string> = {};
  for (const pair of aliases) {
    const at = pair.indexOf("=");
    if (at <= 0) {
      console.error(`bad alias ${pair}: expected specifier=path`);
      return 2;
    }
    alias[pair.slice(0, at)] = pair.slice(at + 1);
  }
  await bundleFirmware(entry, out, { alias });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
