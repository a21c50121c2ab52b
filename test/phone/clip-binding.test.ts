/**
 * Issue 10 finding 1: the phone believes only what the camera signed. A hostile cloud (HostileCloud in front
 * of the real one) serves another genuine clip of the same account under the id asked for, and lies in the
 * clip list; the phone refuses the swap (E_FORMAT, nothing written) and lists clips from verified heads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CONTENT_TYPE_FRAMES } from "../../firmware/core/clip";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { HostileCloud, World, listFiles, phoneVia, type TestCamera, type UploadedClip } from "./fixture";

let world: World;
let hostile: HostileCloud;
let front: TestCamera;
let back: TestCamera;
let a: UploadedClip;
let b: UploadedClip;
let c: UploadedClip;
let uploading: UploadedClip;

beforeAll(async () => {
  world = await World.start("binding");
  front = await world.addCamera("cam-front");
  back = await world.addCamera("cam-back");
  a = await world.uploadClip(front);
  b = await world.uploadClip(back);
  c = await world.uploadClip(front);
  uploading = await world.uploadClip(back, { complete: false });
  hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
}, 60_000);

afterAll(async () => {
  await hostile?.close();
  await world?.close();
});

afterEach(() => {
  hostile.lie = undefined;
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w = process.stdout.write;
  const e = process.stderr.write;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await phoneMain([...args, "--home", world.phone.home, "--cloud", hostile.url]);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.stdout.write = w;
    process.stderr.write = e;
  }
}

test("GET /v1/clips/:id/head: the signed head of complete clips and uploads in progress, own account only", async () => {
  const token = world.phone.state().token;
  const get = (id: string, t = token) => fetch(`${world.cloud.url}/v1/clips/${id}/head`, { headers: { authorization: `Bearer ${t}` } });
  for (const clip of [a, uploading]) {
    const res = await get(clip.clipId);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), Buffer.from(clip.head))).toBe(0);
  }
  expect((await get("00".repeat(16))).status).toBe(404);
  expect((await fetch(`${world.cloud.url}/v1/clips/${a.clipId}/head`)).status).toBe(401);
  const other = await fetch(`${world.cloud.url}/v1/accounts`, { method: "POST", body: JSON.stringify({ email: "mallory@example.org", password: "another password!" }) });
  const otherToken = ((await other.json()) as { token: string }).token;
  expect((await get(a.clipId, otherToken)).status).toBe(404);
});

test("a genuine clip served under another clip's id is refused (E_FORMAT names both); nothing is written", async () => {
  hostile.lie = async ({ method, url }) => (method === "GET" && url === `/v1/clips/${a.clipId}` ? { body: c.sealed } : undefined);
  const phone = phoneVia(world.phone, hostile.url);
  const outDir = path.join(world.dir, "swap-out");
  const out = path.join(outDir, "clip.bin");
  const frames = path.join(outDir, "frames");
  const error = await phone.open(a.clipId, out, frames).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "E_FORMAT" });
  expect((error as Error).message).toContain(`clip served under id ${a.clipId} is clip ${c.clipId}`);
  expect(listFiles(outDir)).toEqual([]);
  // No temporary download left in the phone's home either.
  expect(fs.readdirSync(world.phone.home).filter((f) => f.startsWith("open-"))).toEqual([]);

  // Another camera's clip under that id: the same refusal.
  hostile.lie = async ({ method, url }) => (method === "GET" && url === `/v1/clips/${a.clipId}` ? { body: b.sealed } : undefined);
  await expect(phone.open(a.clipId, out)).rejects.toMatchObject({ code: "E_FORMAT", message: expect.stringContaining(`is clip ${b.clipId}`) });
  expect(listFiles(outDir)).toEqual([]);

  // The CLI says so, with the code, and exits 1.
  const r = await cli(["open", a.clipId, "--out", out]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^sealcam phone: clip served under id ${a.clipId} is clip ${b.clipId}\\b.* \\[E_FORMAT\\]$`, "m"));
  expect(fs.existsSync(out)).toBe(false);
});

test("the genuine clip opens, bound to what was asked (id, and camera/sequence/start time when given)", async () => {
  const phone = phoneVia(world.phone, hostile.url);
  const out = path.join(world.dir, "genuine", "clip.bin");
  const framesDir = path.join(world.dir, "genuine", "frames");
  const opened = await phone.open(a.clipId, out, framesDir, { cameraId: "cam-front", sequence: a.sequence, startTime: a.startTime });
  expect(opened).toMatchObject({ clipId: a.clipId, cameraId: "cam-front", sequence: a.sequence, startTime: a.startTime, frames: 3 });
  expect(fs.statSync(out).mode & 0o777).toBe(0o600);
  const first = fs.readFileSync(path.join(framesDir, fs.readdirSync(framesDir).sort()[0]));
  expect(Buffer.compare(first, Buffer.from(a.frames[0]))).toBe(0);
  const other = path.join(world.dir, "genuine", "other.bin");
  await expect(phone.open(a.clipId, other, undefined, { cameraId: "cam-back" })).rejects.toMatchObject({ code: "E_FORMAT", message: expect.stringContaining("from camera cam-front, not cam-back") });
  await expect(phone.open(a.clipId, other, undefined, { startTime: a.startTime + 1 })).rejects.toMatchObject({ code: "E_FORMAT" });
  await expect(phone.open(a.clipId, other, undefined, { sequence: a.sequence + 1 })).rejects.toMatchObject({ code: "E_FORMAT" });
  expect(fs.existsSync(other)).toBe(false);
});

test("the clip list shows only what verified heads say; lies and bad heads are UNVERIFIED with none of the cloud's claims", async () => {
  // Without lies: every clip verified, facts from the signed heads (the upload in progress too).
  const honest = await phoneVia(world.phone, hostile.url).clips();
  expect(honest.map((x) => [x.clipId, x.verified, x.cameraId])).toEqual(
    expect.arrayContaining([[a.clipId, true, "cam-front"], [b.clipId, true, "cam-back"], [c.clipId, true, "cam-front"], [uploading.clipId, true, "cam-back"]]),
  );

  const badSignature = Uint8Array.from(uploading.head);
  badSignature[badSignature.length - 1] ^= 0x01;
  // The header's `cert` edited (one base64url character): no certificate of the account matches any more.
  const text = Buffer.from(b.head).toString("latin1");
  const certAt = text.indexOf('"cert":"') + 8;
  const badCert = Uint8Array.from(b.head);
  badCert[certAt] = badCert[certAt] === 0x41 ? 0x42 : 0x41;
  const fakeId = "ab".repeat(16);
  hostile.lie = async ({ method, url }, forward) => {
    if (method !== "GET") return undefined;
    if (url === "/v1/clips") {
      const real = JSON.parse((await forward()).body.toString()) as { clips: Record<string, unknown>[] };
      const lied = real.clips.map((x) => (x.clipId === a.clipId ? { ...x, cameraId: "cam-back", startTime: 0, contentType: "text/plain", size: 5 } : x));
      const liedA = lied.find((x) => x.clipId === a.clipId)!;
      lied.push({ ...liedA, clipId: fakeId }, { ...liedA }, { ...liedA, clipId: "../../etc/passwd" });
      return { headers: { "content-type": "application/json" }, body: JSON.stringify({ clips: lied }) };
    }
    if (url === `/v1/clips/${c.clipId}/head`) return { body: b.head };
    if (url === `/v1/clips/${uploading.clipId}/head`) return { body: badSignature };
    if (url === `/v1/clips/${b.clipId}/head`) return { body: badCert };
    return undefined;
  };
  const listed = await phoneVia(world.phone, hostile.url).clips();
  const byId = (id: string) => listed.filter((x) => x.clipId === id);
  expect(byId(a.clipId)[0]).toEqual({
    verified: true, clipId: a.clipId, cameraId: "cam-front", sequence: a.sequence, startTime: a.startTime, contentType: CONTENT_TYPE_FRAMES,
    segmentSize: 4096, rosterVersion: 1, complete: true, size: 5,
  });
  expect(byId(a.clipId)[1]).toEqual({ verified: false, clipId: a.clipId, reason: "E_FORMAT: the cloud listed this clip id twice" });
  expect(byId(c.clipId)).toEqual([{ verified: false, clipId: c.clipId, reason: expect.stringContaining(`E_FORMAT: clip served under id ${c.clipId} is clip ${b.clipId}`) }]);
  expect(byId(uploading.clipId)).toEqual([{ verified: false, clipId: uploading.clipId, reason: expect.stringMatching(/^E_SIGNATURE: /) }]);
  expect(byId(b.clipId)).toEqual([{ verified: false, clipId: b.clipId, reason: expect.stringMatching(/^E_CERT: /) }]);
  expect(byId(fakeId)).toEqual([{ verified: false, clipId: fakeId, reason: expect.stringMatching(/^E_NOT_FOUND: /) }]);
  expect(byId("(invalid id)")).toHaveLength(1);

  const textOut = await cli(["clips"]);
  expect(textOut.code).toBe(0);
  const lines = textOut.stdout.trim().split("\n");
  expect(lines.filter((l) => l.includes("UNVERIFIED"))).toHaveLength(6);
  const aLine = lines.find((l) => l.startsWith(a.clipId))!;
  expect(aLine).toBe(`${a.clipId}  cam-front  seq ${a.sequence}  ${new Date(a.startTime).toISOString()}  ${CONTENT_TYPE_FRAMES}  roster v1`);
  // The cloud's lies appear nowhere: not its camera, time, type or size for the lied-about clip.
  expect(textOut.stdout).not.toContain("text/plain");
  expect(textOut.stdout).not.toContain("1970-01-01");
  expect(lines.find((l) => l.startsWith(c.clipId))).toBe(`${c.clipId}  UNVERIFIED (E_FORMAT: clip served under id ${c.clipId} is clip ${b.clipId}: the cloud sent another clip; nothing was written)`);

  const jsonOut = await cli(["clips", "--json"]);
  expect(jsonOut.code).toBe(0);
  const json = JSON.parse(jsonOut.stdout) as Record<string, unknown>[];
  expect(json.find((x) => x.clipId === a.clipId)).toEqual({
    verified: true, clipId: a.clipId, cameraId: "cam-front", sequence: a.sequence, startTime: a.startTime, contentType: CONTENT_TYPE_FRAMES,
    segmentSize: 4096, rosterVersion: 1, uploadComplete: true, snapshot: null,
  });
  for (const x of json.filter((y) => y.verified === false)) expect(Object.keys(x).sort()).toEqual(["clipId", "reason", "verified"]);
});
