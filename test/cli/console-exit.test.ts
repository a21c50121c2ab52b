/**
 * `sealcam console` exits honestly (issue 11 item 4): a console that never connected exits 1 with the one
 * error form and the port's problem; with --duration, stdin ending (a script's `< /dev/null`) does not end the
 * logging early: lines the board prints after stdin closed are still shown, until the duration ends.
 */
import { PassThrough } from "node:stream";
import { main } from "../../host-tools/console/cli";
import type { CliIo } from "../../host-tools/serial/cli-io";
import { NodeSerialLink } from "../../host-tools/serial/link";
import { UartBoard } from "../../host-tools/sim/uart-board";
import { ptyPair } from "../serial/pty";

function startConsole(args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  const io: CliIo = { stdout, stderr, stdin };
  const exit = main(args, io, { backoff: { firstMs: 20, maxMs: 50 } });
  return { out: () => out, err: () => err, stdin, exit };
}

async function until(what: string, check: () => boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("never connected: exit 1, 'sealcam console: never connected to PORT (why) ... [CODE]'", async () => {
  const c = startConsole(["--port", "/nonexistent/ttyACM9", "--duration", "0.3"]);
  c.stdin.end();
  expect(await c.exit).toBe(1);
  expect(c.err()).toMatch(/^sealcam console: never connected to \/nonexistent\/ttyACM9 \(.+\); check the port with 'sealcam ports'.* \[E_[A-Z_]+\]$/m);
  expect(c.out()).toBe("");
});

test("with --duration, stdin closing does not stop the logging: later board lines are shown, then exit 0", async () => {
  const pair = await ptyPair();
  const board = new UartBoard();
  const device = new NodeSerialLink(pair.device);
  await device.open();
  void board.serve(device);
  try {
    // --linger 20: without --duration the console would quit 20 ms after stdin ends.
    const c = startConsole(["--port", pair.host, "--duration", "2", "--linger", "20"]);
    await until("connected", () => c.err().includes("connected to"));
    c.stdin.end();
    await new Promise((r) => setTimeout(r, 300)); // well past the linger
    await board.boot();
    await until("a line printed after stdin closed", () => c.out().includes("setup.start"), 1500);
    expect(await c.exit).toBe(0);
  } finally {
    await device.close();
    await pair.dispose();
  }
});
