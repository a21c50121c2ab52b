/**
 * Issue 10 finding 7 (phone part): a hostile cloud answering a clip download with an endless body (or a
 * Content-Length of many gigabytes) cannot make the phone hold or store more than its cap: the download
 * streams to a 0600 temporary file in the phone's home and stops with E_LIMIT at the cap; nothing reaches
 * --out, the temporary file is removed, and the phone's memory stays bounded while it streams.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HostileCloud, World, listFiles, phoneVia } from "./fixture";

const MiB = 1024 * 1024;
const CAP = 128 * MiB;
/** The hostile server gives up after this much, so that a phone without a cap still ends (and fails the test). */
const SERVER_LIMIT = 512 * MiB;

let world: World;
let hostile: HostileCloud;
let clipId: string;
let sent = 0;

beforeAll(async () => {
  world = await World.start("cap");
  const cam = await world.addCamera("cam-cap");
  clipId = (await world.uploadClip(cam)).clipId;
  hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
}, 60_000);

afterAll(async () => {
  await hostile?.close();
  await world?.close();
});

/** Streams a valid clip prefix and then zeros forever (up to SERVER_LIMIT), honouring backpressure. */
function endless(declared?: number) {
  return (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): boolean => {
    if (req.method !== "GET" || req.url !== `/v1/clips/${clipId}`) return false;
    req.resume();
    sent = 0;
    res.writeHead(200, { "content-type": "application/octet-stream", ...(declared === undefined ? {} : { "content-length": declared }) });
    const chunk = Buffer.alloc(256 * 1024);
    const pump = () => {
      while (sent < SERVER_LIMIT && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      res.end();
    };
    res.on("close", () => res.removeAllListeners("drain"));
    pump();
    return true;
  };
}

test("an endless clip download stops at the cap with E_LIMIT; memory stays bounded; nothing is kept", async () => {
  hostile.raw = endless();
  const phone = phoneVia(world.phone, hostile.url, CAP);
  const out = path.join(world.dir, "endless", "clip.bin");
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  let error: unknown;
  try {
    await phone.open(clipId, out);
  } catch (e) {
    error = e;
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  expect(error).toMatchObject({ code: "E_LIMIT", message: expect.stringContaining(`more than ${CAP} bytes`) });
  // The phone hung up soon after the cap (what is in flight on loopback sockets aside).
  expect(sent).toBeLessThan(CAP + 16 * MiB);
  const growth = peak - before;
  process.stdout.write(`download-cap: cap ${CAP / MiB} MiB, server sent ${(sent / MiB).toFixed(1)} MiB before the phone hung up, peak RSS growth ${(growth / MiB).toFixed(1)} MiB\n`);
  // Buffering the body would grow the heap by at least the cap; streaming keeps it well under.
  expect(growth).toBeLessThan(CAP / 2);
  expect(listFiles(path.dirname(out))).toEqual([]);
  expect(fs.readdirSync(world.phone.home).filter((f) => f.startsWith("open-"))).toEqual([]);
}, 60_000);

test("a Content-Length over the cap is refused before reading the body", async () => {
  hostile.raw = endless(10 * 1024 * MiB);
  const phone = phoneVia(world.phone, hostile.url, CAP);
  const out = path.join(world.dir, "declared", "clip.bin");
  await expect(phone.open(clipId, out)).rejects.toMatchObject({ code: "E_LIMIT", message: expect.stringContaining("declares more than") });
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(world.phone.home).filter((f) => f.startsWith("open-"))).toEqual([]);
}, 60_000);

test("a genuine clip under the cap opens; the CLI takes --max-bytes and refuses with E_LIMIT below the clip's size", async () => {
  hostile.raw = undefined;
  const out = path.join(world.dir, "ok", "clip.bin");
  await expect(phoneVia(world.phone, hostile.url, CAP).open(clipId, out)).resolves.toMatchObject({ clipId });
  const { main } = await import("../../host-tools/phone/cli");
  const err: string[] = [];
  const w = process.stderr.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(["open", clipId, "--out", path.join(world.dir, "small", "clip.bin"), "--max-bytes", "1000", "--home", world.phone.home, "--cloud", hostile.url]);
  } finally {
    process.stderr.write = w;
  }
  expect(code).toBe(1);
  expect(err.join("")).toContain("E_LIMIT");
  expect(fs.existsSync(path.join(world.dir, "small", "clip.bin"))).toBe(false);
});
