/**
 * `sealcam ports`: serial ports with their USB ids, likely ESP32-S3 boards marked with "*".
 * Reads sysfs directly (no udevadm). `--json` for scripts.
 */
import { EXIT, runTool, type Args, type Context } from "../cli-kit";
import { processIo, type CliIo } from "../serial/cli-io";
import { guessBoard, listPorts, usbIdString } from "../serial/ports";

export async function main(argv: string[], io: CliIo = processIo(), sysRoot?: string): Promise<number> {
  return runTool({
    name: "ports",
    summary: "list serial ports, marking likely ESP32-S3 boards",
    commands: {
      summary: "Lists serial ports with their USB vendor:product ids. \"*\" marks a likely ESP32-S3 board\n" +
        "(native USB-Serial/JTAG 303a:1001, or a USB-UART bridge such boards carry: CP210x, CH340, CH9102, FTDI).",
      options: {
        all: { type: "boolean", help: "also list on-board UARTs (ttyS*)" },
        json: { type: "boolean", help: "one JSON array on stdout, nothing else" },
        "sys-root": { type: "string", arg: "DIR", hidden: true, help: "read this folder instead of /sys (tests)" },
      },
      run: (args, ctx) => list(args, ctx, sysRoot),
    },
  }, argv, io);
}

async function list(args: Args, ctx: Context, sysRoot: string | undefined): Promise<number> {
  const io = ctx.io;
  const ports = listPorts({ all: args.flag("all"), sysRoot: args.string("sys-root") ?? sysRoot });
  const rows = ports.map((p) => ({ ...p, usbId: usbIdString(p), ...guessBoard(p) }));
  if (args.flag("json")) {
    io.stdout.write(JSON.stringify(rows) + "\n");
    return EXIT.OK;
  }
  if (rows.length === 0) {
    io.stdout.write("no serial ports found: plug the board in with a data (not charge-only) USB cable\n");
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.path.length), 4);
  io.stdout.write(`  ${"PORT".padEnd(width)}  USB ID     DEVICE\n`);
  for (const r of rows) {
    const extra = [r.manufacturer, r.product && r.product !== r.label ? r.product : undefined, r.serialNumber ? `serial ${r.serialNumber}` : undefined]
      .filter(Boolean)
      .join(", ");
    io.stdout.write(`${r.likely ? "*" : " "} ${r.path.padEnd(width)}  ${(r.usbId ?? "-").padEnd(9)}  ${r.label}${extra ? ` (${extra})` : ""}\n`);
  }
  if (rows.some((r) => r.likely)) io.stdout.write("\n* likely an ESP32-S3 board: sealcam flash --port <PORT> --board <NAME>\n");
  return 0;
}
