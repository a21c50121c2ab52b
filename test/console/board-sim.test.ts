/**
 * `sealcam console` on the real simulated camera (host-tools/board-sim: the camera firmware running in this
 * process, its UART on a socat pty): setup-mode lines, `status` answered by the firmware, and a power cut
 * (the firmware restarts; the UART pty stays, as a USB-UART bridge does) that the console rides through.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createRunner } from "../../host-tools/board-sim/cli";
import { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { main } from "../../host-tools/console/cli";

let dir: string;
let board: SimulatedBoard;

async function until(what: string, check: () => boolean, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sealcam-console-board-"));
  board = new SimulatedBoard({ dataDir: dir, runner: await createRunner("node"), setupPort: 0, restartDelayMs: 50 });
  await board.start();
});

afterAll(async () => {
  await board?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the console shows the firmware's setup lines, gets a status answer, and survives a power cut", async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  const exit = main(["--port", board.uartPath], { stdout, stderr, stdin }, { backoff: { firstMs: 50, maxMs: 200 } });
  await until("connected", () => err.includes("connected to"));
  stdin.write("status\n");
  await until("status answer", () => /^status: state=setup enrolled=no /m.test(out));
  expect(out).toMatch(/INFO  console\.command\s+console command  command=status/);

  const before = out.length;
  await board.cutPower("test");
  await until("boot after the power cut", () => /INFO  boot\s+camera starting/.test(out.slice(before)));
  await until("setup mode again", () => /INFO  setup\.start\s+setup mode: access point up/.test(out.slice(before)));
  stdin.write("status\n");
  await until("status after the cut", () => (out.slice(before).match(/^status: state=setup/gm) ?? []).length === 1);
  stdin.write(":quit\n");
  expect(await exit).toBe(0);
});
