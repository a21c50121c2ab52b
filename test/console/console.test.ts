/**
 * `sealcam console` against a simulated camera UART on a socat pty: it attaches, shows setup-mode lines,
 * sends `status` and shows the answer, survives a reset mid-line and the port vanishing and coming back,
 * escapes garbage, unwraps xsbug-framed logs, and tees everything to --log.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../host-tools/console/cli";
import type { CliIo } from "../../host-tools/serial/cli-io";
import { NodeSerialLink } from "../../host-tools/serial/link";
import { UartBoard } from "../../host-tools/sim/uart-board";
import { ptyPair, type PtyPair } from "../serial/pty";

interface Running {
  out: () => string;
  err: () => string;
  stdin: PassThrough;
  exit: Promise<number>;
}

function startConsole(args: string[]): Running {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  const io: CliIo = { stdout, stderr, stdin };
  const exit = main(args, io, { backoff: { firstMs: 50, maxMs: 200 } });
  return { out: () => out, err: () => err, stdin, exit };
}

async function until(what: string, check: () => boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

let pair: PtyPair;
let tmp: string;
const links: NodeSerialLink[] = [];

async function attachBoard(board: UartBoard): Promise<NodeSerialLink> {
  const link = new NodeSerialLink(pair.device);
  await link.open();
  links.push(link);
  void board.serve(link);
  return link;
}

beforeAll(async () => {
  pair = await ptyPair();
  tmp = mkdtempSync(join(tmpdir(), "sealcam-console-"));
});

afterAll(async () => {
  for (const l of links) await l.close();
  await pair.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test("attach, setup lines, status, reset mid-line, garbage, unplug and replug, log tee", async () => {
  const board = new UartBoard();
  let device = await attachBoard(board);
  const logFile = join(tmp, "console.log");
  const c = startConsole(["--port", pair.host, "--log", logFile]);
  await until("connected", () => c.err().includes(`connected to ${pair.host} at 115200 baud (a pty: no DTR/RTS reset)`));

  await board.boot();
  await until("setup line", () => c.out().includes("setup.start"));
  expect(c.out()).toContain("── board booting ──");
  expect(c.out()).toContain("ESP-ROM:esp32s3-20210327");
  expect(c.out()).toMatch(/^\s+\d+\.\d{3} INFO  setup\.start\s+setup mode: join the camera's Wi-Fi from the phone app  ssid=sealcam-4F2A ip=192\.168\.4\.1$/m);
  expect(c.out()).not.toContain("SC {"); // parsed, not echoed raw
  expect(c.out()).not.toContain("\x1b["); // no colours off a TTY

  c.stdin.write("status\n");
  await until("status answer", () => c.out().includes("status: state=setup enrolled=no"));
  expect(board.received).toContain("status");
  expect(c.out()).toMatch(/INFO  console\.command\s+console command  command=status/);

  // The label secret goes to the board but never into the log file.
  c.stdin.write("setup ABCD-EFGH-IJKL\n");
  await until("setup received", () => board.received.includes("setup ***"));
  // The stand-in board answers it; wait for that answer so it cannot land inside the cut-off line below.
  await until("setup answered", () => c.out().includes("unknown command 'setup'"));

  await board.resetMidLine();
  await until("second boot", () => count(c.out(), "── board booting ──") === 2);
  // The cut-off line and the ROM's wrong-baud noise are shown as bytes, not dropped or garbled.
  expect(c.out()).toMatch(/raw \d+ bytes: SC \{"t":99,"l":"info","e":"clip\.se\\x00\\xe0\\xfc\\x1c\\x8c\\x00/);

  await board.garbage();
  await until("garbage", () => c.out().includes("raw 8 bytes: \\xde\\xad\\x00\\xbe\\xef\\x07\\x1b["));
  expect(c.out()).toContain("[de ad 00 be ef 07 1b 5b]");

  // Unplug: the pty vanishes. The console waits, then reconnects when it is back.
  await device.close();
  await pair.stop();
  await until("went away", () => c.err().includes("went away (board reset or unplugged?)"));
  await until("waiting", () => /waiting for .*: no serial port at/.test(c.err()));
  await pair.start();
  device = await attachBoard(board);
  await until("reconnected", () => c.err().includes(`reconnected to ${pair.host}`));
  await board.boot();
  await until("third boot", () => count(c.out(), "── board booting ──") === 3);
  c.stdin.write("status\n");
  await until("status after replug", () => count(c.out(), "status: state=setup") === 2);

  c.stdin.write(":reset\n");
  await until("reset notice", () => c.err().includes("has no DTR/RTS lines (a pty): press RESET on the board"));
  c.stdin.write(":quit\n");
  expect(await c.exit).toBe(0);
  await device.close();

  const log = readFileSync(logFile, "utf8");
  expect(log).toContain("-- connected to");
  expect(log).toContain(">> status");
  expect(log).toContain(">> setup ***");
  expect(log).not.toContain("ABCD-EFGH");
  expect(log).toMatch(/INFO  setup\.start/);
  expect(log).toContain("raw 8 bytes:");
  const raw = readFileSync(logFile + ".raw");
  expect(raw.includes(Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]))).toBe(true);
  expect(raw.toString("latin1")).toContain('SC {"t":');
});

test("xsbug-framed logs (Moddable debug builds) are unwrapped and their SC lines parsed", async () => {
  const board = new UartBoard({ xsbug: true, machineId: "3fc9a2b4" });
  const device = await attachBoard(board);
  const c = startConsole(["--port", pair.host, "--send", "status", "--linger", "100"]);
  await until("connected", () => c.err().includes("connected to"));
  await until("status via --send", () => c.out().includes("status: state=setup"));
  await board.log("warn", "wifi.retry", "station lost; retrying", { attempt: 3, ssid: "home <5G> & co" });
  await board.xsbugLog("plain trace: a < b && c > d\nsecond line");
  await board.write('\r\n<?xs.3fc9a2b4?>\r\n<xsbug><login name="sealcam" value="XS"/></xsbug>\r\n');
  await until("xsbug log", () => c.out().includes("second line"));
  await until("xsbug login", () => c.out().includes("<login"));
  expect(c.out()).toMatch(/\[xs 3fc9a2b4\]\s+\d+\.\d{3} WARN  wifi\.retry\s+station lost; retrying  attempt=3 ssid="home <5G> & co"/);
  expect(c.out()).toContain("[xs 3fc9a2b4] plain trace: a < b && c > d");
  expect(c.out()).toContain("[xs 3fc9a2b4] second line");
  expect(c.out()).toContain('[xs 3fc9a2b4] xsbug <login name="sealcam" value="XS">');
  expect(c.out()).not.toContain("<?xs");
  c.stdin.end();
  expect(await c.exit).toBe(0);
  await device.close();
});

test("keys on a terminal: s status, c command, r reset, q quit; colours on a TTY", async () => {
  const board = new UartBoard();
  const device = await attachBoard(board);
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  const stderr = new PassThrough();
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout.isTTY = true;
  stdin.isTTY = true;
  const raw: boolean[] = [];
  stdin.setRawMode = (on: boolean) => raw.push(on);
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  const exit = main(["--port", pair.host], { stdout, stderr, stdin }, { backoff: { firstMs: 50, maxMs: 200 } });
  await until("connected", () => err.includes("connected to"));
  expect(err).toContain("keys: r reset  s status  c command  q quit  h help");
  await board.boot();
  await until("coloured setup line", () => out.includes("setup.start"));
  expect(out).toContain("\x1b[32mINFO");
  stdin.write("s");
  await until("status", () => out.includes("status: state=setup"));
  stdin.write("c");
  stdin.write("rostr\x7fer\r");
  await until("roster", () => out.includes("roster: none (not enrolled)"));
  expect(err).toContain("command> ");
  stdin.write("c");
  stdin.write("setup ABCD\r");
  await until("setup sent", () => board.received.includes("setup ***"));
  expect(err).toContain("setup ****"); // the secret is masked as it is typed
  expect(err).not.toContain("ABCD");
  stdin.write("r");
  await until("reset notice", () => err.includes("press RESET on the board"));
  stdin.write("q");
  expect(await exit).toBe(0);
  expect(raw).toEqual([true, false]); // raw mode on, and restored
  expect(board.received).toEqual(["status", "roster", "setup ***"]);
  await device.close();
});
