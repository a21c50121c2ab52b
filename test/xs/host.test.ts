/**
 * The XS host and its channel: requests both ways (with binary values and non-ASCII text), events, timers,
 * and failures surfacing in Node as XsError with the XS message and stack, never as a hang.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { BoardSim, XsError, xsHostBinary } from "../../host-tools/board-sim/board-sim";
import { bundleFirmware } from "../../host-tools/board-sim/bundle";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-xs-host-"));
const smokeBundle = path.join(tmp, "smoke.js");
const sims: BoardSim[] = [];

async function startSmoke(stress = false): Promise<{ sim: BoardSim; ready: Promise<unknown> }> {
  const sim = new BoardSim();
  sims.push(sim);
  sim.handle("node.add", (params) => {
    const { a, b } = params as { a: number; b: number };
    return a + b;
  });
  const ready = sim.once("ready", 20000);
  await sim.start(xsHostBinary(stress), smokeBundle);
  return { sim, ready };
}

async function scriptBundle(name: string, source: string): Promise<string> {
  const entry = path.join(tmp, `${name}.ts`);
  fs.writeFileSync(entry, source);
  const out = path.join(tmp, `${name}.js`);
  await bundleFirmware(entry, out);
  return out;
}

beforeAll(async () => {
  await bundleFirmware("test/xs/smoke.entry.ts", smokeBundle);
});

afterAll(async () => {
  for (const sim of sims) if (!sim.failure) await sim.stop().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("requests and events cross the channel both ways, with bytes and non-ASCII text", async () => {
  const { sim, ready } = await startSmoke();
  expect(await ready).toEqual({ reply: 5, text: "caf\u00e9 \u2713", bytes: new Uint8Array([0, 1, 255]) });
  const big = nodeCrypto.randomBytes(300000);
  expect(await sim.request("echo", { list: [1, "two", null, true], bin: new Uint8Array(big) })).toEqual({
    list: [1, "two", null, true],
    bin: new Uint8Array(big),
  });
  expect(await sim.request("sha256", new Uint8Array(big))).toEqual(
    new Uint8Array(nodeCrypto.createHash("sha256").update(big).digest()),
  );
  expect(await sim.request("later")).toBe("later");
  await expect(sim.request("fail")).rejects.toThrow("handler failed on purpose");
  await expect(sim.request("nobody")).rejects.toThrow('no handler in xs for request "nobody"');
  const pong = sim.once("pong");
  sim.emit("ping", { n: 7 });
  expect(await pong).toEqual({ n: 7 });
  expect(await sim.stop()).toEqual({ code: 0, signal: null });
  expect(sim.failure).toBeUndefined();
});

test("the GC-stress binary runs the same exchange", async () => {
  const { sim, ready } = await startSmoke(true);
  expect(await ready).toEqual({ reply: 5, text: "caf\u00e9 \u2713", bytes: new Uint8Array([0, 1, 255]) });
  const data = nodeCrypto.randomBytes(70000);
  expect(await sim.request("sha256", new Uint8Array(data))).toEqual(
    new Uint8Array(nodeCrypto.createHash("sha256").update(data).digest()),
  );
  await sim.stop();
  expect(sim.failure).toBeUndefined();
});

test("an exception thrown by an XS event listener surfaces as XsError with the XS stack", async () => {
  const { sim, ready } = await startSmoke();
  await ready;
  const pending = sim.request("later");
  sim.emit("throw", "boom");
  await expect(pending).rejects.toThrow(XsError);
  await sim.exited;
  expect(sim.failure).toBeInstanceOf(XsError);
  expect(sim.failure!.message).toContain("listener threw: boom");
  expect(sim.failure!.xsStack).toMatch(/at /);
  expect(sim.failure!.exitCode).toBe(1);
});

test("an exception while evaluating the bundle and a throw inside a timer both become XsError", async () => {
  const atLoad = await scriptBundle("at-load", `function deep(): never { throw new RangeError("bad at load"); }\ndeep();\n`);
  const sim1 = new BoardSim();
  sims.push(sim1);
  await sim1.start(xsHostBinary(), atLoad);
  await expect(sim1.once("never", 10000)).rejects.toThrow("bad at load");
  expect(sim1.failure!.xsStack).toContain("deep");

  const inTimer = await scriptBundle("in-timer", `print("tick"); setTimeout(() => { throw new Error("late failure"); }, 10);\n`);
  const sim2 = new BoardSim();
  sims.push(sim2);
  const lines: string[] = [];
  await sim2.start(xsHostBinary(), inTimer, { onLog: (line) => lines.push(line) });
  await expect(sim2.request("anything")).rejects.toThrow("late failure");
  expect(lines).toContain("tick");
});

test("a promise rejected with no handler at the end of a turn is fatal, as in Node", async () => {
  const source = `import { emit } from "sealcam/host-channel";
const handled = Promise.reject(new Error("handled later in the same turn"));
handled.catch(() => emit("caught"));
setTimeout(() => { void Promise.reject(new TypeError("nobody handles me")); }, 5);
`;
  const sim = new BoardSim();
  sims.push(sim);
  const caught = sim.once("caught", 10000);
  await sim.start(xsHostBinary(), await scriptBundle("rejection", source));
  await caught;
  await sim.exited;
  expect(sim.failure!.message).toContain("unhandled promise rejection: TypeError: nobody handles me");
  expect(sim.failure!.exitCode).toBe(1);
});

test("a memory limit makes a leaking bundle abort with \"memory full\" instead of eating the host", async () => {
  const leak = await scriptBundle("leak", `const kept: Uint8Array[] = [];
setInterval(() => { for (let i = 0; i < 64; i++) kept.push(new Uint8Array(65536)); }, 1);
`);
  const sim = new BoardSim();
  sims.push(sim);
  await sim.start(xsHostBinary(), leak, { memoryLimitMb: 64 });
  await expect(sim.once("never", 30000)).rejects.toThrow("memory full");
});

test("an engine abort (stack overflow) is an XsError, not a hang", async () => {
  const overflow = await scriptBundle("overflow", `function f(n: number): number { return f(n + 1) + 1; }\nsetTimeout(() => f(0), 0);\n`);
  const sim = new BoardSim();
  sims.push(sim);
  await sim.start(xsHostBinary(), overflow);
  await expect(sim.once("never", 20000)).rejects.toThrow(XsError);
  expect(sim.failure!.message).toContain("stack overflow");
});
