/**
 * The flasher as users run it: bundled by esbuild into CommonJS (as `make build` does; esptool-js is ESM and
 * loads its stub with JSON import attributes), in its own process, against the runnable ROM simulator in
 * another process on a pty pair it made itself. The simulator's flash image is read back from its dump.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { build as esbuild, stop as stopEsbuild } from "esbuild";
import { loadFlashBoard } from "../../host-tools/flash/board";
import { NodeSerialLink } from "../../host-tools/serial/link";
import { UartBoard } from "../../host-tools/sim/uart-board";
import { ptyPair } from "../serial/pty";
import { BOARD, HW_DIR, writeBuild, type Build } from "./fixtures";

const ROOT = resolve(__dirname, "..", "..");
let tmp: string;
let build: Build;
const children: ChildProcess[] = [];

async function bundle(name: string, contents: string): Promise<string> {
  const outfile = join(tmp, name);
  await esbuild({
    stdin: { contents, resolveDir: ROOT, sourcefile: name.replace(/\.cjs$/, ".ts"), loader: "ts" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
    external: ["serialport", "@serialport/*"],
    outfile,
  });
  return outfile;
}

function run(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number> } {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (err += c));
  const exit = new Promise<number>((r) => child.once("exit", (code, signal) => r(code ?? (signal ? 128 : 1))));
  return { child, out: () => out, err: () => err, exit };
}

beforeAll(async () => {
  // Inside the repository, so the bundles find the native serialport package in node_modules.
  mkdirSync(join(ROOT, "build"), { recursive: true });
  tmp = mkdtempSync(join(ROOT, "build", "test-bundle-"));
  build = writeBuild(loadFlashBoard(BOARD, HW_DIR), { appSize: 400_000 });
});

afterAll(async () => {
  await stopEsbuild(); // esbuild's service process would keep jest alive
  // SIGTERM first: the simulator then closes its port and stops the socat it started.
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGTERM");
    await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
  rmSync(tmp, { recursive: true, force: true });
  rmSync(build.dir, { recursive: true, force: true });
});

test("bundled sealcam flash writes a build to the bundled ROM simulator", async () => {
  const flashCli = await bundle("flash.cjs", `import { main } from "./host-tools/flash/cli"; main(process.argv.slice(2)).then((c) => { process.exitCode = c; });`);
  const romSim = await bundle("rom.cjs", `import "./host-tools/sim/esp32s3-rom-main";`);
  const ptyDir = join(tmp, "pty");
  const dump = join(tmp, "flash.bin");
  const sim = run([romSim, "--pty", ptyDir, "--flash-size", "8MB", "--dump", dump]);
  while (!sim.out().includes("ready")) {
    if (sim.child.exitCode !== null) throw new Error(`simulator exited: ${sim.err()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const port = join(ptyDir, "ttyHOST");
  const args = [flashCli, "--port", port, "--board", BOARD, "--hw-dir", HW_DIR, "--build", build.dir, "--json"];
  const first = run(args);
  expect(await first.exit).toBe(0);
  expect(first.err()).toBe("");
  const lines = first.out().trim().split("\n");
  for (const l of lines) expect(() => JSON.parse(l)).not.toThrow(); // nothing but JSON (esptool's console noise is caught)
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: "done", chip: "ESP32-S3" });
  // The simulator keeps its ptys across runs: flash again (a user re-running after a change).
  const second = run(args);
  expect(await second.exit).toBe(0);

  sim.child.kill("SIGTERM");
  expect(await sim.exit).toBe(0);
  const image = readFileSync(dump);
  expect(image.length).toBe(8 << 20);
  expect(image.subarray(0, build.bootloader.length).equals(Buffer.from(build.bootloader))).toBe(true);
  expect(image.subarray(0x8000, 0x8000 + build.partitionTable.length).equals(Buffer.from(build.partitionTable))).toBe(true);
  expect(image.subarray(0x10000, 0x10000 + build.app.length).equals(Buffer.from(build.app))).toBe(true);
});

test("bundled sealcam console sends a command from stdin and shows the answer", async () => {
  const consoleCli = await bundle("console.cjs", `import { main } from "./host-tools/console/cli"; main(process.argv.slice(2)).then((c) => { process.exitCode = c; });`);
  const pair = await ptyPair();
  const board = new UartBoard();
  const device = new NodeSerialLink(pair.device);
  await device.open();
  void board.serve(device);
  try {
    const child = spawn(process.execPath, [consoleCli, "--port", pair.host, "--linger", "300"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (err += c));
    const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    while (!err.includes("connected to")) await new Promise((r) => setTimeout(r, 20));
    await board.boot();
    child.stdin!.end("status\n");
    expect(await exit).toBe(0);
    expect(out).toMatch(/INFO  setup\.start/);
    expect(out).toContain("status: state=setup enrolled=no");
  } finally {
    await device.close();
    await pair.dispose();
  }
});
