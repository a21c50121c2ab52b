/**
 * Clip ids in every form the tools print (issue 13 §1): the full id, the camera's 16-character short id with
 * "..." (`make sim`: "clip 25bb2003fd771fda..."), the 8-character one of upload errors. A prefix resolves
 * against the VERIFIED clips only, must be unique (E_ARGUMENT lists the candidates), at least 8 hex
 * characters; then the by-id checks apply (the signed clip id must be the resolved one).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { matchClipPrefix, parseClipId } from "../../host-tools/phone/clip-id";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { refusal } from "../helpers/refusal";
import { HostileCloud, phoneVia, World, type TestCamera } from "./fixture";
import { jpegs, uploadVideoClip, type VideoClip } from "./video-fixture";

let world: World;
let cam: TestCamera;
/** Two genuine clips whose ids share their first 8 hex characters, and one other. */
let twinA: VideoClip;
let twinB: VideoClip;
let other: VideoClip;
let out: string;

const PREFIX = new Uint8Array([0x5e, 0xa1, 0xca, 0x17]);

beforeAll(async () => {
  world = await World.start("clip-id");
  cam = await world.addCamera("cam-clipid00000001");
  const frames = jpegs(3, 32, 24);
  twinA = await uploadVideoClip(world, cam, { frames, idPrefix: PREFIX });
  twinB = await uploadVideoClip(world, cam, { frames, idPrefix: PREFIX });
  other = await uploadVideoClip(world, cam, { frames });
  out = path.join(world.dir, "out");
  fs.mkdirSync(out);
});

afterAll(async () => {
  await world.close();
});

test("the forms: full, upper case, 16 and 8 characters, trailing ... or …; too short or too long is E_ARGUMENT", () => {
  const id = "25bb2003fd771fda2609deccf0afc2b5";
  expect(parseClipId(id)).toEqual({ kind: "full", clipId: id });
  expect(parseClipId(id.toUpperCase())).toEqual({ kind: "full", clipId: id });
  expect(parseClipId("25bb2003fd771fda...")).toEqual({ kind: "prefix", prefix: "25bb2003fd771fda" });
  expect(parseClipId("25bb2003…")).toEqual({ kind: "prefix", prefix: "25bb2003" });
  expect(parseClipId("clip.sealed")).toBeNull();
  expect(() => parseClipId("25bb200")).toThrow(expect.objectContaining({ code: "E_ARGUMENT", message: expect.stringContaining("too short") }));
  expect(() => parseClipId("25bb200...")).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
  expect(() => parseClipId(id + "0")).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
  expect(() => matchClipPrefix("25bb2003", [{ clipId: id }, { clipId: "25bb2003" + "0".repeat(24) }])).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
  expect(() => matchClipPrefix("25bb2004", [{ clipId: id }])).toThrow(expect.objectContaining({ code: "E_NOT_FOUND" }));
});

test("a unique prefix opens the clip: the 16-character short id with '...', and 8 characters", async () => {
  expect(twinA.clipId.slice(0, 8)).toBe(twinB.clipId.slice(0, 8));
  const bySixteen = await world.phone.open(`${twinA.clipId.slice(0, 16)}...`, path.join(out, "a.bin"), undefined, {}, { video: path.join(out, "a.avi") });
  expect(bySixteen.clipId).toBe(twinA.clipId);
  expect(bySixteen.video?.frames).toBe(3);
  const byEight = await world.phone.open(other.clipId.slice(0, 8), path.join(out, "o.bin"));
  expect(byEight.clipId).toBe(other.clipId);
  // Upper case, as someone might copy it.
  expect((await world.phone.open(twinB.clipId.slice(0, 12).toUpperCase(), path.join(out, "b.bin"))).clipId).toBe(twinB.clipId);
});

test("an ambiguous prefix is E_ARGUMENT naming both candidates; too short is E_ARGUMENT; nothing downloaded or written", async () => {
  const hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
  try {
    const phone = phoneVia(world.phone, hostile.url);
    const target = path.join(out, "ambiguous.avi");
    const ambiguous = await refusal(phone.open(`${twinA.clipId.slice(0, 8)}...`, undefined, undefined, {}, { video: target }));
    expect(ambiguous.code).toBe("E_ARGUMENT");
    expect(ambiguous.message).toContain("ambiguous");
    expect(ambiguous.message).toContain(twinA.clipId);
    expect(ambiguous.message).toContain(twinB.clipId);
    const short = await refusal(phone.open(twinA.clipId.slice(0, 7), undefined, undefined, {}, { video: target }));
    expect(short.code).toBe("E_ARGUMENT");
    expect(short.message).toContain("at least its first 8");
    expect(hostile.requests.filter((r) => /^GET \/v1\/clips\/[0-9a-f]{32}$/.test(r))).toEqual([]);
    expect(fs.existsSync(target)).toBe(false);
  } finally {
    await hostile.close();
  }
});

test("a prefix resolves against verified clips only; the signed id must then be the resolved one", async () => {
  const hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
  try {
    const phone = phoneVia(world.phone, hostile.url);
    // The cloud lists twin B's head as unverifiable (a flipped signature byte): only twin A is a candidate.
    hostile.lie = async ({ method, url }, forward) => {
      if (method === "GET" && url === `/v1/clips/${twinB.clipId}/head`) {
        const real = await forward();
        const body = Buffer.from(real.body);
        body[body.length - 1] ^= 0x01;
        return { status: 200, body };
      }
      return undefined;
    };
    expect((await phone.open(twinA.clipId.slice(0, 8), path.join(out, "v.bin"))).clipId).toBe(twinA.clipId);
    // The cloud serves another genuine clip of the account under the resolved id: E_FORMAT, nothing written.
    hostile.lie = async ({ method, url }) => {
      if (method === "GET" && url === `/v1/clips/${other.clipId}`) {
        const res = await fetch(`${world.cloud.url}/v1/clips/${twinA.clipId}`, { headers: { authorization: `Bearer ${world.phone.state().token}` } });
        return { status: 200, body: new Uint8Array(await res.arrayBuffer()) };
      }
      return undefined;
    };
    const target = path.join(out, "swapped.avi");
    const swapped = await refusal(phone.open(`${other.clipId.slice(0, 16)}...`, path.join(out, "swapped.bin"), undefined, {}, { video: target }));
    expect(swapped.code).toBe("E_FORMAT");
    expect(swapped.message).toContain(`clip served under id ${other.clipId} is clip ${twinA.clipId}`);
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.existsSync(path.join(out, "swapped.bin"))).toBe(false);
  } finally {
    await hostile.close();
  }
});

test("the CLI takes the short id; an ambiguous one exits 1 with the candidates", async () => {
  const run = async (args: string[]) => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const w = process.stdout.write;
    const e = process.stderr.write;
    process.stdout.write = ((c: string) => stdout.push(String(c)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => stderr.push(String(c)) > 0) as typeof process.stderr.write;
    try {
      const code = await phoneMain([...args, "--home", world.phone.home, "--cloud", world.cloud.url]);
      return { code, stdout: stdout.join(""), stderr: stderr.join("") };
    } finally {
      process.stdout.write = w;
      process.stderr.write = e;
    }
  };
  const ok = await run(["open", `${other.clipId.slice(0, 16)}...`, "--out", path.join(out, "cli.bin")]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain(`Verified clip ${other.clipId}`);
  const bad = await run(["open", twinA.clipId.slice(0, 8), "--out", path.join(out, "cli2.bin")]);
  expect(bad.code).toBe(2); // E_ARGUMENT: a usage error (docs/CLI.md, exit codes)
  expect(bad.stderr).toContain("[E_ARGUMENT]");
  expect(bad.stderr).toContain(twinB.clipId);
  expect(fs.existsSync(path.join(out, "cli2.bin"))).toBe(false);
});
