/**
 * The 32-bit XS host on the board's terms (build/xs-host/xs-host-board32): its xsCreation is the manifest's
 * `creation` as mcconfig resolves it, its heaps do not grow, going past them is a typed "memory full" failure
 * in Node (with what did not fit), and the memory counters ({t:"mem"}, BoardSim.memory) see allocations, the
 * largest single chunk, collections and phase resets.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { BoardSim, XsError, xsHostBinary, xsHostBoard32Binary } from "../../host-tools/board-sim/board-sim";
import { bundleFirmware, repoRoot } from "../../host-tools/board-sim/bundle";

const root = repoRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-board32-"));
const sims: BoardSim[] = [];

async function scriptBundle(name: string, source: string): Promise<string> {
  const entry = path.join(tmp, `${name}.ts`);
  fs.writeFileSync(entry, source);
  const out = path.join(tmp, `${name}.js`);
  await bundleFirmware(entry, out);
  return out;
}

/** A bundle that allocates `bytes` in one ArrayBuffer when asked, and keeps it until asked to drop it. */
const HOLDER = `
import { handle, emit } from "sealcam/host-channel";
let held: Uint8Array[] = [];
handle("hold", (bytes) => { held.push(new Uint8Array(bytes as number)); return held.length; });
handle("drop", () => { held = []; return 0; });
emit("ready", null);
`;

async function start(binary: string, bundle: string): Promise<BoardSim> {
  const sim = new BoardSim();
  sims.push(sim);
  const ready = sim.once("ready", 20000);
  await sim.start(binary, bundle);
  await ready;
  return sim;
}

afterAll(async () => {
  for (const sim of sims) if (!sim.failure) await sim.stop().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the creation header is generated from the manifest, with mcconfig's resolution of what it omits", () => {
  const out = path.join(tmp, "creation.h");
  const json = path.join(tmp, "creation.json");
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "manifests", "manifest.json"), "utf8"));
  execFileSync("node", [path.join(root, "host-tools/board-sim/xs-host/creation-header.cjs"), path.join(root, "manifests/manifest.json"), out, json]);
  const c = JSON.parse(fs.readFileSync(json, "utf8"));
  expect(c).toEqual({
    initialChunkSize: manifest.creation.chunk.initial,
    incrementalChunkSize: manifest.creation.chunk.incremental,
    initialHeapCount: manifest.creation.heap.initial,
    incrementalHeapCount: manifest.creation.heap.incremental,
    stackCount: manifest.creation.stack,
    initialKeyCount: manifest.creation.keys.initial,
    incrementalKeyCount: manifest.creation.keys.incremental,
    nameModulo: manifest.creation.keys.name,
    symbolModulo: manifest.creation.keys.symbol,
    // not in our manifest: Moddable's examples/manifest_base.json (which it includes) gives the parser's
    parserBufferSize: 1024,
    parserTableModulo: 17,
    staticSize: manifest.creation.static,
  });
  expect(fs.readFileSync(out, "utf8")).toContain(`#define SEALCAM_CREATION_initialChunkSize ${manifest.creation.chunk.initial}\n`);
  // the build's own header is the same
  expect(fs.readFileSync(path.join(root, "build/xs-host/board32/creation.h"), "utf8").split("\n").slice(1)).toEqual(
    fs.readFileSync(out, "utf8").split("\n").slice(1),
  );
});

test("the board host is 32-bit with the manifest's fixed heaps; the normal host is 64-bit and grows", async () => {
  const bundle = await scriptBundle("holder", HOLDER);
  const board = await (await start(xsHostBoard32Binary(), bundle)).memory();
  const normal = await (await start(xsHostBinary(), bundle)).memory();
  const c = JSON.parse(fs.readFileSync(path.join(root, "build/xs-host/board32/creation.json"), "utf8"));
  expect(board).toMatchObject({ pointerBits: 32, slotSize: 16, chunkReserved: c.initialChunkSize, chunkIncremental: 0, slotIncremental: 0, stackCount: c.stackCount });
  expect(normal).toMatchObject({ pointerBits: 64, slotSize: 32 });
  expect(normal.chunkIncremental).toBeGreaterThan(0);
});

test("counters: the largest single chunk, live marks after a collection, and a reset at a phase boundary", async () => {
  const sim = await start(xsHostBoard32Binary(), await scriptBundle("holder", HOLDER));
  await sim.memory({ collect: true, reset: true });
  expect(await sim.request("hold", 300000)).toBe(1);
  const held = await sim.memory({ collect: true, reset: true });
  expect(held.largestChunk).toBeGreaterThanOrEqual(300000);
  expect(held.chunkLive).toBeGreaterThanOrEqual(300000);
  expect(held.chunkPeak).toBeGreaterThanOrEqual(300000);
  expect(held.collections).toBeGreaterThanOrEqual(1);
  await sim.request("drop");
  const dropped = await sim.memory({ collect: true });
  // after the reset the 300 000-byte chunk is not counted again; once dropped and collected, it is gone
  expect(dropped.largestChunk).toBeLessThan(300000);
  expect(dropped.chunkCurrent).toBeLessThan(held.chunkCurrent - 250000);
});

test("past the board's chunk heap the engine aborts: a typed \"memory full\" XsError naming what did not fit", async () => {
  const sim = await start(xsHostBoard32Binary(), await scriptBundle("holder", HOLDER));
  expect(await sim.request("hold", 1024 * 1024)).toBe(1);
  // a second MiB does not fit in 2 MiB beside the first and everything else: no growth, no hang
  const failed = await sim.request("hold", 1024 * 1024).then(
    () => undefined,
    (error: unknown) => error,
  );
  await sim.exited;
  expect(failed).toBeInstanceOf(XsError);
  expect(sim.failure).toBeInstanceOf(XsError);
  expect(sim.failure!.abort).toBe("memory full");
  expect(sim.failure!.message).toMatch(/a chunk of 10485\d\d bytes did not fit: chunk heap \d+ of 2097152 bytes in use/);
});

/**
 * On the board the program's byte code and string literals stay in flash (xsl links them as "archive" references);
 * the host does the same with the bundle's code (jobs.c), so neither a large function nor a long literal is copied
 * into the chunk heap when it is created or pushed. Before: the bundle's IIFE alone was one 128 KB chunk.
 */
const BIG_CODE = `
import { handle, emit } from "sealcam/host-channel";
// 40 literals of 900 bytes (one literal must fit the host parser's 1024-byte buffer, the manifest's parser setting)
const literals = [
${Array.from({ length: 40 }, (_, i) => `  "${String(i).padStart(4, "0")}${"sealcam-".repeat(112)}",`).join("\n")}
];
function big(n: number): number {
  let x = n;
${Array.from({ length: 1500 }, (_, i) => `  x = (x * ${i + 3} + ${i}) % 1000003;`).join("\n")}
  return x;
}
handle("run", (n) => ({ big: big(n as number), length: literals.join("").length, head: literals[39].slice(0, 12), joined: (literals[0] + "!").length }));
emit("ready", null);
`;

function bigReference(n: number): number {
  let x = n;
  for (let i = 0; i < 1500; i++) x = (x * (i + 3) + i) % 1000003;
  return x;
}

test("the program's code and string literals stay outside the chunk heap (as in the board's flash), and run correctly", async () => {
  const sim = await start(xsHostBoard32Binary(), await scriptBundle("big-code", BIG_CODE));
  const loaded = await sim.memory({ collect: true });
  expect(await sim.request("run", 7)).toEqual({ big: bigReference(7), length: 40 * 900, head: "0039sealcam-", joined: 901 });
  // the ~25 KB function (inside the bundle's ~27 KB IIFE) and the 36 000 bytes of literals are the program's code,
  // not chunks: loaded, the whole heap holds less than the literals alone would
  expect(loaded.largestChunk).toBeLessThan(8192);
  expect(loaded.chunkCurrent).toBeLessThan(30000);
});
