/**
 * `sealcam <tool> ...`: one entry point for every host tool. Each tool lives in its own folder and exports
 * `main(argv): Promise<number>` (the exit code), built on host-tools/cli-kit (one argument library, one error
 * form, one exit-code table: docs/CLI.md); they are loaded lazily so `sealcam ports` never opens SQLite.
 */
import { EXIT, formatError, UsageError, VERSION } from "./cli-kit";

type ToolMain = (argv: string[]) => Promise<number>;

const TOOLS: Record<string, { summary: string; load: () => Promise<{ main: ToolMain }> }> = {
  cloud: { summary: "run the cloud server (ciphertext only)", load: () => import("./cloud/cli") },
  phone: { summary: "the phone app simulator: enroll, recover, add-camera, open clips", load: () => import("./phone/cli") },
  viewer: { summary: "a shared user: accept shares, list and open shared clips", load: () => import("./viewer/cli") },
  "board-sim": { summary: "run one camera: the firmware in XS on this host", load: () => import("./board-sim/cli") },
  flash: { summary: "flash a camera board over serial (esptool-js)", load: () => import("./flash/cli") },
  ports: { summary: "list serial ports, marking likely ESP32-S3 boards", load: () => import("./flash/ports-cli") },
  console: { summary: "serial console for a camera board", load: () => import("./console/cli") },
  sim: { summary: "the whole system, simulated end to end", load: () => import("./sim/cli") },
  hw: { summary: "board definitions: validate, doctor (is the Moddable SDK/ESP-IDF usable?)", load: () => import("./hw/cli") },
};

function usage(): string {
  const lines = ["usage: sealcam <tool> [options]", "", "tools:"];
  for (const [name, tool] of Object.entries(TOOLS)) lines.push(`  ${name.padEnd(10)} ${tool.summary}`);
  lines.push("", "options:", "  -h, --help   show this help", "  --version    print the version");
  lines.push("", "`sealcam <tool> --help` for a tool's options; exit codes and the config home: docs/CLI.md.");
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === "--help" || name === "-h" || name === "help") {
      process.stdout.write(usage() + "\n");
      return EXIT.OK;
    }
    if (name === "--version") {
      process.stdout.write(`sealcam ${VERSION}\n`);
      return EXIT.OK;
    }
    if (name === undefined) throw new UsageError(`missing tool (${Object.keys(TOOLS).join(", ")})`);
    if (name.startsWith("-")) throw new UsageError(`unknown option '${name.split("=")[0]}'`);
    const tool = TOOLS[name];
    if (!tool) throw new UsageError(`unknown tool '${name}' (${Object.keys(TOOLS).join(", ")})`);
    const module = await tool.load();
    return await module.main(rest);
  } catch (error) {
    const tool = name !== undefined && TOOLS[name] ? name : "";
    process.stderr.write(formatError(tool, error) + "\n" + (error instanceof UsageError ? "(`sealcam --help` lists the tools)\n" : ""));
    return error instanceof UsageError ? EXIT.USAGE : EXIT.FAILED;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(formatError("", error) + "\n");
      process.exitCode = EXIT.FAILED;
    },
  );
}
