/**
 * The cloud's limits (issue 10 findings 2, 3, 4, 5, 7, cloud side): camera bodies must match their signed
 * hash and length, upload caps, body limits, exact roster versions, at most 15 phones, re-sent final
 * segments, session expiry, and the passphrase limit per (account, address) with an account-wide ceiling.
 * One in-process cloud on loopback with an injected clock.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { fromBase64Url, toBase64Url } from "../../firmware/core/bytes";
import { spkiFromP256 } from "../../firmware/core/keys";
import { signRequest } from "../../firmware/core/request-auth";
import { verifyRoster, type Roster } from "../../firmware/core/roster";
import type { CloudServer } from "../../host-tools/cloud/server";
import { issueLeafCertificate } from "../../host-tools/phone/certs";
import { backupAuthKey, derivePassphraseKey } from "../../host-tools/phone/kdf";
import { signRoster } from "../../host-tools/phone/phone";
import { addCamera, cameraRequest, crypto, request, sealClip, setUpAccount, type Account, type Camera, startTestCloud } from "./fixture";
import type { SqlValue } from "../../host-tools/cloud/store";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-limits-"));
const dataDir = path.join(tmp, "data");
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
let cloud: CloudServer;
let owner: Account;
let second: Camera;
const DAY = 24 * 3600 * 1000;

beforeAll(async () => {
  cloud = await startTestCloud({ dataDir, now, uploadsPerCamera: 2, uploadsTotal: 3 });
  owner = await setUpAccount(cloud.url, tmp, "limits@example.org", "cam-limits", now);
  second = await addCamera(cloud.url, owner, "cam-second", now);
});

afterAll(async () => {
  await cloud?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const count = async (sql: string, ...args: SqlValue[]) => ((await cloud.store.get(sql, args)) as { n: number }).n;
const tmpFiles = () => (fs.existsSync(path.join(dataDir, "tmp")) ? fs.readdirSync(path.join(dataDir, "tmp")) : []);

async function currentRoster(): Promise<{ roster: Roster; bytes: Uint8Array }> {
  const r = await request(cloud.url, "GET", "/v1/e2ee/roster", { token: owner.token });
  const bytes = fromBase64Url(r.json.roster as string);
  return { bytes, roster: verifyRoster(crypto, bytes, fromBase64Url(owner.phone.state().rootCertificate), { minVersion: 1 }) };
}

async function newClip(sequence: number) {
  const { roster } = await currentRoster();
  const clip = sealClip(owner.camera, roster.recipients, roster.version, sequence);
  expect((await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/head`, clip.head, now())).status).toBe(201);
  return clip;
}

/** Polls (bounded) until `condition` holds: the cloud has taken or released an upload. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

/** Opens a correctly signed upload whose body is never finished; returns the socket (destroy it to end). */
async function stalledUpload(cam: Camera, p: string, body: Uint8Array): Promise<net.Socket> {
  const headers = signRequest(crypto, cam.key, { cameraId: cam.id, method: "PUT", path: p, body, timestamp: now() });
  const u = new URL(cloud.url);
  const s = await new Promise<net.Socket>((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => resolve(sock));
    sock.once("error", reject);
  });
  s.on("error", () => undefined);
  s.write(`PUT ${p} HTTP/1.1\r\nHost: x\r\ncontent-length: ${body.length}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
  s.write(body.subarray(0, 10));
  return s;
}

test("a camera body that differs from its signed x-sealcam-content-sha256 is refused and nothing is stored; chunked bodies are refused", async () => {
  const clip = await newClip(1);
  const p = `/v1/clips/${clip.clipId}/segments/0`;
  const headers = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "PUT", path: p, body: clip.segments[0], timestamp: now() });
  const other = new Uint8Array(clip.segments[0]);
  other[100] ^= 1;
  const r = await request(cloud.url, "PUT", p, { headers, body: other });
  expect(r.status).toBe(401);
  expect(r.json.message).toContain("x-sealcam-content-sha256");
  expect(await count("SELECT COUNT(*) AS n FROM clip_segments WHERE clip_id = ?", clip.clipId)).toBe(0);
  expect(tmpFiles()).toEqual([]);
  // The header is required (the firmware's signRequest sends it).
  const without = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "PUT", path: p, body: clip.segments[0], timestamp: now() });
  delete without["x-sealcam-content-sha256"];
  expect((await request(cloud.url, "PUT", p, { headers: without, body: clip.segments[0] })).status).toBe(401);
  // Chunked: no Content-Length to check before reading.
  const chunked = await new Promise<string>((resolve) => {
    const h = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "PUT", path: p, body: clip.segments[0], timestamp: now() });
    const u = new URL(cloud.url);
    const s = net.connect(Number(u.port), u.hostname, () => {
      s.write(`PUT ${p} HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n10\r\n${"a".repeat(16)}\r\n`);
    });
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString()));
    s.on("close", () => resolve(text));
    s.on("error", () => undefined);
  });
  expect(chunked).toMatch(/^HTTP\/1\.1 411 /);
  expect(await count("SELECT COUNT(*) AS n FROM clip_segments WHERE clip_id = ?", clip.clipId)).toBe(0);
});

test("body limits are checked from the headers: register 16 KiB, status 4 KiB, sign-in and new accounts 4 KiB", async () => {
  const big = (n: number) => new Uint8Array(n).fill(0x20);
  expect((await cameraRequest(cloud.url, owner.camera, "POST", "/v1/camera/register", big(16 * 1024 + 1), now())).status).toBe(413);
  expect((await cameraRequest(cloud.url, owner.camera, "PUT", "/v1/camera/status", big(4097), now())).status).toBe(413);
  for (const p of ["/v1/sessions", "/v1/accounts"]) {
    const body = JSON.stringify({ email: "x@example.org", password: "p".repeat(100), pad: " ".repeat(4096) });
    const r = await request(cloud.url, "POST", p, { body });
    expect({ p, status: r.status, code: r.json.code }).toEqual({ p, status: 413, code: "E_LIMIT" });
  }
});

test("upload caps: per camera and in total, 429 E_RATE_LIMIT with Retry-After; freed when an upload ends", async () => {
  const clip = await newClip(2);
  const seg = (i: number) => `/v1/clips/${clip.clipId}/segments/${i}`;
  const a1 = await stalledUpload(owner.camera, seg(0), clip.segments[0]);
  const a2 = await stalledUpload(owner.camera, seg(1), clip.segments[1]);
  await until(() => cloud.stats().uploads === 2);
  const third = await cameraRequest(cloud.url, owner.camera, "PUT", seg(2), clip.segments[2], now());
  expect(third.status).toBe(429);
  expect(third.json.code).toBe("E_RATE_LIMIT");
  expect(Number(third.headers["retry-after"])).toBeGreaterThan(0);
  // Another camera: one more fits in the total of 3, the next does not.
  const other = sealClip(second, (await currentRoster()).roster.recipients, (await currentRoster()).roster.version, 1);
  expect((await cameraRequest(cloud.url, second, "PUT", `/v1/clips/${other.clipId}/head`, other.head, now())).status).toBe(201);
  const b1 = await stalledUpload(second, `/v1/clips/${other.clipId}/segments/0`, other.segments[0]);
  await until(() => cloud.stats().uploads === 3);
  const busy = await cameraRequest(cloud.url, second, "PUT", `/v1/clips/${other.clipId}/segments/1`, other.segments[1], now());
  expect(busy.status).toBe(429);
  expect(busy.json.message).toContain("busy");
  for (const s of [a1, a2, b1]) s.destroy();
  await until(() => cloud.stats().uploads === 0);
  expect((await cameraRequest(cloud.url, owner.camera, "PUT", seg(2), clip.segments[2], now())).status).toBe(201);
  expect(tmpFiles()).toEqual([]);
});

test("a complete clip: re-sending its final (short) segment or a full one is 200 'already'", async () => {
  const clip = await newClip(3);
  for (let i = 0; i < clip.segments.length; i++) {
    expect((await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i], now())).status).toBe(201);
  }
  expect((await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer, now())).status).toBe(201);
  const last = clip.segments.length - 1;
  expect(clip.segments[last].length).toBeLessThan(clip.segments[0].length);
  for (const i of [last, 0]) {
    const r = await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i], now());
    expect({ i, status: r.status, json: r.json }).toEqual({ i, status: 200, json: { index: i, stored: "already" } });
  }
  // A short segment at a non-final index of a complete clip is still impossible.
  expect((await cameraRequest(cloud.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/segments/0`, clip.segments[last], now())).status).toBe(400);
});

test("rosters advance by exactly one: skipping versions (up to 2^48-1) and re-sending the current one are refused, naming the expected version", async () => {
  const signer = await owner.phone.unlockSigningKey();
  const { roster } = await currentRoster();
  const entries = roster.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
  const stored = roster.version;
  const before = JSON.stringify((await cloud.store.all("SELECT roster, roster_version FROM e2ee")));
  for (const version of [0xffffffffffff, stored + 2, stored]) {
    const bytes = await signRoster(crypto, signer, owner.accountId, version, entries);
    const r = await request(cloud.url, "PUT", "/v1/e2ee/roster", { token: owner.token, body: JSON.stringify({ roster: toBase64Url(bytes) }) });
    expect({ version, status: r.status, code: r.json.code, message: r.json.message }).toEqual({
      version, status: 400, code: "E_ROSTER", message: `roster version ${version} is not the next version: expected ${stored + 1}`,
    });
  }
  expect(JSON.stringify((await cloud.store.all("SELECT roster, roster_version FROM e2ee")))).toBe(before);
  const next = await signRoster(crypto, signer, owner.accountId, stored + 1, entries);
  expect((await request(cloud.url, "PUT", "/v1/e2ee/roster", { token: owner.token, body: JSON.stringify({ roster: toBase64Url(next) }) })).json).toEqual({ version: stored + 1 });
  // An older one: the message names the version the cloud holds.
  const old = await signRoster(crypto, signer, owner.accountId, stored, entries);
  const r = await request(cloud.url, "PUT", "/v1/e2ee/roster", { token: owner.token, body: JSON.stringify({ roster: toBase64Url(old) }) });
  expect(r.json.message).toBe(`roster version ${stored} is older than version ${stored + 1} already seen`);
});

test("an account holds at most 15 phones: the 16th is 409 E_LIMIT and nothing is stored", async () => {
  const signer = await owner.phone.unlockSigningKey();
  const wraps = () => ({ passphraseKey: toBase64Url(nodeCrypto.randomBytes(200)), dataKey: toBase64Url(nodeCrypto.randomBytes(200)) });
  const newPhoneCert = async (name: string) => issueLeafCertificate(signer, "phone", name, spkiFromP256(crypto.p256PublicKey(crypto.p256Generate())));
  let { roster } = await currentRoster();
  let entries = roster.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
  for (let n = 2; n <= 15; n++) {
    const certificate = await newPhoneCert(`phone-${n}`);
    entries = entries.concat([{ role: "phone", certificateDer: certificate }]);
    const bytes = await signRoster(crypto, signer, owner.accountId, roster.version + 1, entries);
    const r = await request(cloud.url, "POST", "/v1/e2ee/phones", { token: owner.token, body: JSON.stringify({ name: `phone-${n}`, certificate: toBase64Url(certificate), wraps: wraps(), roster: toBase64Url(bytes) }) });
    expect({ n, status: r.status }).toEqual({ n, status: 201 });
    roster = (await currentRoster()).roster;
  }
  expect(await count("SELECT COUNT(*) AS n FROM phones")).toBe(15);
  const before = JSON.stringify([(await cloud.store.all("SELECT * FROM phones ORDER BY key_id")), (await cloud.store.all("SELECT roster, roster_version FROM e2ee"))]);
  const sixteenth = await newPhoneCert("phone-16");
  // Such a roster cannot even be built (17 entries); send the current one: the count is refused first.
  const r = await request(cloud.url, "POST", "/v1/e2ee/phones", { token: owner.token, body: JSON.stringify({ name: "phone-16", certificate: toBase64Url(sixteenth), wraps: wraps(), roster: toBase64Url((await currentRoster()).bytes) }) });
  expect({ status: r.status, code: r.json.code }).toEqual({ status: 409, code: "E_LIMIT" });
  expect(r.json.message).toBe("an account holds at most 15 phones (16 clip recipients with the data key); remove a phone first");
  expect(JSON.stringify([(await cloud.store.all("SELECT * FROM phones ORDER BY key_id")), (await cloud.store.all("SELECT roster, roster_version FROM e2ee"))])).toBe(before);
});

test("sessions expire: 30 days unused, or 90 days after sign-in however used", async () => {
  const signIn = async () => (await request(cloud.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds) })).json.token as string;
  const idle = await signIn();
  const busy = await signIn();
  const start = clockOffset;
  try {
    for (let day = 20; day <= 80; day += 20) {
      clockOffset = start + day * DAY;
      expect((await request(cloud.url, "GET", "/v1/account", { token: busy })).status).toBe(200);
    }
    const expired = await request(cloud.url, "GET", "/v1/account", { token: idle });
    expect({ status: expired.status, code: expired.json.code, message: expired.json.message }).toEqual({ status: 401, code: "E_AUTH", message: "session expired; sign in again" });
    clockOffset = start + 90 * DAY + 1000;
    expect((await request(cloud.url, "GET", "/v1/account", { token: busy })).json.message).toBe("session expired; sign in again");
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE token_hash IN (?, ?)",
      nodeCrypto.createHash("sha256").update(idle).digest("hex"), nodeCrypto.createHash("sha256").update(busy).digest("hex"))).toBe(0);
  } finally {
    clockOffset = start;
  }
});

test("wrong passphrases count per (account, address): an attacker burns only their own 10 per hour; 100 per day per account bound all addresses", async () => {
  const signIn = async (from: string) => (await request(cloud.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), from })).json.token as string;
  const wrong = async (from: string, token: string) => request(cloud.url, "POST", "/v1/e2ee/unlock", { token, from, body: JSON.stringify({ authKey: toBase64Url(nodeCrypto.randomBytes(32)) }) });
  const burn = async (from: string) => {
    let token = "";
    for (let i = 0; i < 10; i++) {
      if (i % 3 === 0) token = await signIn(from);
      expect((await wrong(from, token)).status).toBe(403);
    }
    const limited = await wrong(from, await signIn(from));
    expect(limited.status).toBe(429);
    return limited;
  };
  const attacker = await burn("127.0.0.20");
  expect(attacker.json.message).toContain("from your address");
  // The owner, elsewhere, still unlocks with the right passphrase.
  const kdf = (await request(cloud.url, "GET", "/v1/e2ee/kdf", { token: owner.token })).json.kdf as Parameters<typeof derivePassphraseKey>[1];
  const authKey = backupAuthKey(derivePassphraseKey(owner.passphrase, kdf), owner.accountId);
  const unlock = await request(cloud.url, "POST", "/v1/e2ee/unlock", { token: await signIn("127.0.0.21"), from: "127.0.0.21", body: JSON.stringify({ authKey: toBase64Url(authKey) }) });
  expect(unlock.status).toBe(200);
  // Ten addresses in all reach the account's ceiling of 100 a day: then every address is refused, right or wrong.
  for (let a = 1; a < 10; a++) await burn(`127.0.1.${a}`);
  const ceiling = await request(cloud.url, "POST", "/v1/e2ee/unlock", { token: await signIn("127.0.0.22"), from: "127.0.0.22", body: JSON.stringify({ authKey: toBase64Url(authKey) }) });
  expect({ status: ceiling.status, code: ceiling.json.code }).toEqual({ status: 429, code: "E_RATE_LIMIT" });
  expect(ceiling.json.message).toContain("for this account");
  expect(await count("SELECT COUNT(*) AS n FROM unlock_failures")).toBe(100);
  clockOffset += DAY + 1000;
  const later = await request(cloud.url, "POST", "/v1/e2ee/unlock", { token: await signIn("127.0.0.22"), from: "127.0.0.22", body: JSON.stringify({ authKey: toBase64Url(authKey) }) });
  expect(later.status).toBe(200);
});
