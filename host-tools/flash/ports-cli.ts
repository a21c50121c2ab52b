/**
 * `sealcam ports`: serial ports with their USB ids, likely ESP32-S3 boards marked with "*".
 * Reads sysfs directly (no udevadm). `--json` for scripts.
 */
import { parseArgs } from "node:util";
import { processIo, type CliIo } from "../serial/cli-io";
import { guessBoard, listPorts, usbIdString } from "../serial/ports";

const USAGE = `usage: sealcam ports [--all] [--json]

Lists serial ports with their USB vendor:product ids. "*" marks a likely ESP32-S3 board
(native USB-Serial/JTAG 303a:1001, or a USB-UART bridge such boards carry: CP210x, CH340, CH9102, FTDI).
  --all    also list on-board UARTs (ttyS*)
  --json   one JSON array on stdout
`;

export async function main(argv: string[], io: CliIo = processIo(), sysRoot?: string): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        all: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        "sys-root": { type: "string" },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.stderr.write(`sealcam ports: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const ports = listPorts({ all: args.all, sysRoot: args["sys-root"] ?? sysRoot });
  const rows = ports.map((p) => ({ ...p, usbId: usbIdString(p), ...guessBoard(p) }));
  if (args.json) {
    io.stdout.write(JSON.stringify(rows) + "\n");
    return 0;
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
