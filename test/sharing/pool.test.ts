/**
 * Shared pools (PROTOCOL §14.12, the paper's §4.4), against the real cloud: every change of membership rotates
 * the pool's key — a new stream key delivered to every current member, the old one dropped in the SAME roster
 * version; a removed member gets nothing new; the one 16-entry roster limit holds (a rotation replaces, it
 * never adds; a new pool on a full roster is E_LIMIT with nothing published). Through the CLI as well.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBase64Url, toHex } from "../../firmware/core/bytes";
import { ROSTER_MAX_ENTRIES, verifyRoster } from "../../firmware/core/roster";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { runCli } from "../helpers/run-cli";
import { CloudClient } from "../../host-tools/phone/client";
import { Phone } from "../../host-tools/phone/phone";
import { addPoolMember, createShare, listPools, removePoolMember } from "../../host-tools/phone/share";
import { Viewer } from "../../host-tools/viewer/viewer";

let tmp: string;
let cloud: CloudServer;
let phone: Phone;

async function roster() {
  const { roster } = await new CloudClient(cloud.url, phone.state().token).json<{ roster: string }>("GET", "/v1/e2ee/roster");
  return verifyRoster(phone.crypto, fromBase64Url(roster), fromBase64Url(phone.state().rootCertificate), { minVersion: 1 });
}

function poolKeys(r: Awaited<ReturnType<typeof roster>>, name: string): string[] {
  return r.streamKeys.filter((k) => k.scope.holder.startsWith(`share:pool-${name}-`)).map((k) => toHex(k.keyId));
}

function runPhone(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCli(phoneMain, [...argv, "--home", phone.home, "--cloud", cloud.url]);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-pool-"));
  cloud = await startCloud({ dataDir: path.join(tmp, "cloud"), port: 0, host: "127.0.0.1" });
  phone = new Phone({ home: path.join(tmp, "phone"), cloud: cloud.url });
  await phone.enroll({ email: "pool@example.org", password: "pool owner password" }, "phone");
}, 60000);
afterAll(async () => {
  await cloud.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("join, join, leave: one new key per change, old one revoked in the same roster, delivered to exactly the members", async () => {
  const members = ["m1", "m2", "m3"].map((n) => {
    const v = new Viewer(path.join(tmp, n));
    return { v, ...v.init(cloud.url) };
  });
  const cameras = ["cam-pool-1"];
  const v0 = (await roster()).version;

  const first = await addPoolMember(phone, "family", members[0].invite, { cameras, streams: ["video"] });
  const r1 = await roster();
  expect(r1.version).toBe(v0 + 1);
  expect(poolKeys(r1, "family")).toEqual([first.pool.keyId]);
  expect(r1.streamKeys.find((k) => toHex(k.keyId) === first.pool.keyId)!.scope).toMatchObject({ cameras, streams: ["video"], notAfter: null });
  expect((await members[0].v.accept()).accepted.map((s) => s.keyId)).toEqual([first.pool.keyId]);

  const second = await addPoolMember(phone, "family", members[1].invite, { cameras: [], streams: ["video"] });
  const r2 = await roster();
  expect(r2.version).toBe(v0 + 2); // one version: the new key in, the old key out
  expect(poolKeys(r2, "family")).toEqual([second.pool.keyId]);
  expect(second.pool.keyId).not.toBe(first.pool.keyId);
  expect((await members[0].v.accept()).accepted.map((s) => s.keyId)).toEqual([second.pool.keyId]);
  expect((await members[1].v.accept()).accepted.map((s) => s.keyId)).toEqual([second.pool.keyId]);
  await expect(addPoolMember(phone, "family", members[1].invite, { cameras: [], streams: ["video"] })).rejects.toMatchObject({ code: "E_CONFLICT" });
  expect((await roster()).version).toBe(v0 + 2);

  const third = await addPoolMember(phone, "family", members[2].invite, { cameras: [], streams: ["video"] });
  expect(third.pool.members.map((m) => m.fingerprint)).toEqual(members.map((m) => m.fingerprint));
  for (const m of members) expect((await m.v.accept()).accepted.map((s) => s.keyId)).toEqual([third.pool.keyId]);

  // m1 leaves: a new key for m2 and m3 only.
  const left = await removePoolMember(phone, "family", members[0].fingerprint);
  const r4 = await roster();
  expect(r4.version).toBe(v0 + 4);
  expect(poolKeys(r4, "family")).toEqual([left.pool!.keyId]);
  expect((await members[0].v.accept()).accepted).toEqual([]);
  expect((await members[1].v.accept()).accepted.map((s) => s.keyId)).toEqual([left.pool!.keyId]);
  expect((await members[2].v.accept()).accepted.map((s) => s.keyId)).toEqual([left.pool!.keyId]);
  await expect(removePoolMember(phone, "family", members[0].fingerprint)).rejects.toMatchObject({ code: "E_NOT_FOUND" });
  expect(listPools(phone).find((p) => p.name === "family")!.members.map((m) => m.fingerprint)).toEqual([members[1].fingerprint, members[2].fingerprint]);
  expect(fs.statSync(path.join(phone.home, "pools.json")).mode & 0o777).toBe(0o600);

  // The rest leave: the pool's key is revoked, nothing replaces it.
  await removePoolMember(phone, "family", members[1].fingerprint);
  const last = await removePoolMember(phone, "family", members[2].fingerprint);
  expect(last.pool).toBeNull();
  expect(poolKeys(await roster(), "family")).toEqual([]);
  expect(listPools(phone).find((p) => p.name === "family")).toBeUndefined();
}, 60000);

test("the 16-entry limit: a rotation replaces the pool's key (fits a full roster), a new pool on a full roster is E_LIMIT", async () => {
  const a = new Viewer(path.join(tmp, "limit-a"));
  const b = new Viewer(path.join(tmp, "limit-b"));
  const inviteA = a.init(cloud.url).invite;
  const inviteB = b.init(cloud.url).invite;
  await addPoolMember(phone, "full", inviteA, { cameras: [], streams: ["video"] });
  const filler = new Viewer(path.join(tmp, "filler"));
  const fillerInvite = filler.init(cloud.url).invite;
  while ((await roster()).entries.length < ROSTER_MAX_ENTRIES) await createShare(phone, { invite: fillerInvite, cameras: [], streams: ["video"], notAfter: null });
  const full = await roster();
  expect(full.entries).toHaveLength(ROSTER_MAX_ENTRIES);

  const rotated = await addPoolMember(phone, "full", inviteB, { cameras: [], streams: ["video"] });
  const after = await roster();
  expect(after.entries).toHaveLength(ROSTER_MAX_ENTRIES);
  expect(after.version).toBe(full.version + 1);
  expect(poolKeys(after, "full")).toEqual([rotated.pool.keyId]);

  const c = new Viewer(path.join(tmp, "limit-c"));
  await expect(addPoolMember(phone, "other", c.init(cloud.url).invite, { cameras: [], streams: ["video"] })).rejects.toMatchObject({ code: "E_LIMIT" });
  expect((await roster()).version).toBe(after.version);
  expect(listPools(phone).map((p) => p.name)).toEqual(["full"]);
}, 60000);

test("CLI: share --pool and revoke --pool --member", async () => {
  const v = new Viewer(path.join(tmp, "cli-member"));
  const { invite, fingerprint } = v.init(cloud.url);
  // Make room: the previous test filled the roster.
  for (const s of (await roster()).streamKeys) if (!s.scope.holder.startsWith("share:pool-")) await runPhone(["revoke", s.scope.holder]);
  const added = await runPhone(["share", "--pool", "cli", "--to", invite, "--yes"]);
  expect(added.err).toBe("");
  expect(added.code).toBe(0);
  expect(added.out).toContain(`Viewer key fingerprint: ${fingerprint}`);
  expect(added.out).toMatch(/Pool cli: 1 member\(s\); its key was rotated/);
  const window = await runPhone(["share", "--pool", "cli", "--to", invite, "--until", "2030-01-01T00:00:00Z", "--yes"]);
  expect(window.code).toBe(2);
  expect(window.err).toMatch(/^sealcam phone: .*no window.*\[E_ARGUMENT\]/);
  const removed = await runPhone(["revoke", "--pool", "cli", "--member", fingerprint]);
  expect(removed.code).toBe(0);
  expect(removed.out).toMatch(/keeps every clip sealed to the old key/);
  const missing = await runPhone(["revoke", "--pool", "cli"]);
  expect(missing.code).toBe(2);
  expect(missing.err).toMatch(/\[E_ARGUMENT\]/);
}, 60000);
