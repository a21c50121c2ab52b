/**
 * The simulated board's UART on a real pseudo-terminal (socat): a serial client (serialport, as
 * `sealcam console` uses) attaches, sends `status` and reads the answer, and stays attached across a
 * simulated reset (the firmware process is killed and boots again; the pty survives), seeing the new boot's
 * setup-mode lines. Like a real UART, output sent while nobody listens is gone (serialport flushes on open).
 */
import * as path from "node:path";
import { SerialPort } from "serialport";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { World } from "./harness";

const world = new World();
let board: SimulatedBoard;
let port: SerialPort;
let received = "";

beforeAll(async () => {
  await world.start();
  board = await world.board("cam-uart", { uartLink: path.join(world.dir, "cam-uart.tty") });
  await world.setupUrl(board);
}, 60000);

afterAll(async () => {
  if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  await world.close();
});

async function until(what: string, test: () => boolean, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`uart: no ${what} within ${timeoutMs} ms; got:\n${received.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a client attaches to the pty, sends status and reads the setup-mode answer", async () => {
  expect(board.uartPath).toBe(path.join(world.dir, "cam-uart.tty"));
  expect(board.uart!.devicePath).toMatch(/^\/dev\/pts\/\d+$/);
  port = new SerialPort({ path: board.uartPath, baudRate: 115200 });
  await new Promise<void>((resolve, reject) => port.once("open", () => resolve()).once("error", reject));
  port.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
  port.write("status\r");
  await until("status answer", () => /status: state=setup enrolled=no/.test(received));
  // Every log line on the wire is "SC " + one JSON record.
  await until("a log line", () => received.includes('SC {"t":'));
  for (const line of received.split("\r\n").filter((l) => l.startsWith("SC "))) {
    const record = JSON.parse(line.slice(3)) as { l: string; e: string; m: string; t: number };
    expect(typeof record.e).toBe("string");
    expect(["debug", "info", "warn", "error"]).toContain(record.l);
  }
});

test("the client survives a simulated reset and sees the new boot in setup mode", async () => {
  const mark = received.length;
  await board.cutPower("reset");
  await until("boot line after reset", () => received.slice(mark).includes('"e":"boot"'));
  await until("setup lines after reset", () => received.slice(mark).includes("setup: label secret") && received.slice(mark).includes('"e":"setup.start"'));
  port.write("status\n");
  await until("status answer after reset", () => /status: state=setup/.test(received.slice(mark)));
  expect(board.bootCount).toBe(2);
});
