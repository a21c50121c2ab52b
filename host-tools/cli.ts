/**
 * `sealcam <tool> ...`: one entry point for every host tool. Each tool lives in its own folder and exports
 * `main(argv): Promise<number>` (the exit code); they are loaded lazily so `sealcam ports` never opens SQLite.
 */
type ToolMain = (argv: string[]) => Promise<number>;

const TOOLS: Record<string, { summary: string; load: () => Promise<{ main: ToolMain }> }> = {
  cloud: { summary: "run the cloud server (ciphertext only)", load: () => import("./cloud/cli") },
  phone: { summary: "the phone app simulator: enroll, recover, add-camera, open clips", load: () => import("./phone/cli") },
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
  lines.push("", "`sealcam <tool> --help` for a tool's options.");
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage() + "\n");
    return name ? 0 : 2;
  }
  const tool = TOOLS[name];
  if (!tool) {
    process.stderr.write(`sealcam: unknown tool '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const module = await tool.load();
  return module.main(rest);
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const e = error as { code?: string; message?: string };
      process.stderr.write(`sealcam: ${e.code ? e.code + ": " : ""}${e.message ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
