/**
 * `sealcam board-sim` stops cleanly and says so with its exit code (issue 11 item 4): Ctrl-C (SIGINT) and the
 * `quit` command end the process with exit 0 even while stdin stays open (the readline on stdin used to keep
 * the process alive after the firmware stopped); piped stdin that ends does not stop the board.
 * The bundled CLI in child processes; the firmware runs in Node (--engine node) to keep this quick.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildCli, CLI, ROOT } from "./harness";

let tmp: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  buildCli();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cli-bsim-"));
}, 150_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

function boardSim(name: string) {
  const data = path.join(tmp, name);
  const child = spawn(process.execPath, [CLI, "board-sim", "--data", data, "--engine", "node", "--quiet", "--air", path.join(tmp, "air")], {
    cwd: ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const until = async (text: string) => {
    const deadline = Date.now() + 30_000;
    while (!out.includes(text)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no '${text}' from board-sim:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** The exit, or "still running" after ms (the process is then killed). */
  const exitWithin = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([exit, new Promise<"still running">((r) => (timer = setTimeout(() => r("still running"), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, out: () => out, err: () => err, until, exitWithin };
}

test("Ctrl-C (SIGINT) stops the board and the process, exit 0, while stdin is still open", async () => {
  const b = boardSim("sigint");
  await b.until("setup API for");
  b.child.kill("SIGINT");
  expect(await b.exitWithin(10_000)).toEqual({ code: 0, signal: null });
  expect(b.err()).toBe("");
}, 60_000);

test("'quit' on stdin stops the board and the process, exit 0, while stdin is still open", async () => {
  const b = boardSim("quit");
  await b.until("setup API for");
  b.child.stdin!.write("status\n");
  await b.until("[board-sim] boot 1, wifi");
  b.child.stdin!.write("quit\n"); // stdin is not closed
  expect(await b.exitWithin(10_000)).toEqual({ code: 0, signal: null });
}, 60_000);

test("piped stdin ending does not stop the board; SIGTERM then does, exit 0", async () => {
  const b = boardSim("eof");
  await b.until("setup API for");
  b.child.stdin!.end();
  expect(await b.exitWithin(1000)).toBe("still running");
  b.child.kill("SIGTERM");
  expect(await b.exitWithin(10_000)).toEqual({ code: 0, signal: null });
}, 60_000);
