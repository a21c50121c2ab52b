/**
 * End to end: a real cloud on a loopback port, two phones and a simulated camera (the firmware's own core
 * code over NodeCrypto): enroll -> camera setup and clip upload -> wrong passphrases hit the limit ->
 * recover on a second phone (opens the old clip through the account data key) -> tampered backup ->
 * forged/older rosters -> remove-phone -> bad input on every endpoint -> disable -> nothing secret on disk
 * -> OpenSSL opens the backups and verifies every certificate.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { execFileSync } from "node:child_process";
import { fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { ClipSealer, encodeFrame, CONTENT_TYPE_FRAMES } from "../../firmware/core/clip";
import { buildCsr } from "../../firmware/core/csr";
import { signRequest } from "../../firmware/core/request-auth";
import { assembleRoster, encodeRosterTbs, verifyRoster, type Roster } from "../../firmware/core/roster";
import { rsaPssSha256AlgorithmIdentifier } from "../../firmware/core/x509";
import type { CloudServer } from "../../host-tools/cloud/server";
import { startTestCloud, TEST_DB, testS3 } from "./fixture";
import { createAccountSigningKey, issueCameraCertificate, signPss } from "../../host-tools/phone/certs";
import { backupAuthKey, deriveKey, derivePassphraseKey, pkcs12Password } from "../../host-tools/phone/kdf";
import { LABEL_DATA_KEY_WRAP, Phone, signRoster } from "../../host-tools/phone/phone";
import { readPkcs12 } from "../../host-tools/phone/pkcs12";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-e2e-"));
const dataDir = path.join(tmp, "cloud");
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
let cloud: CloudServer;
const creds = { email: "alice@example.org", password: "correct horse battery" };
const phoneA = new Phone({ home: path.join(tmp, "phone-a"), cloud: "" });
let phoneB: Phone;
let passphrase = "";
const MARKER = "SEALCAM-PLAINTEXT-MARKER-" + nodeCrypto.randomBytes(8).toString("hex");
const secrets: { name: string; bytes: Uint8Array }[] = [];

// The camera: its key stays in this test, as it stays in the camera's Crypto provider.
const cameraId = "cam-front-door";
const cameraKey = crypto.p256Generate();
let cameraCert: Uint8Array;
let rootDer: Uint8Array;
let clipId = "";

async function http(method: string, p: string, body?: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(cloud.url + p, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : { raw: text } };
}

async function camera(method: string, p: string, body: Uint8Array = new Uint8Array(0), tweak?: (h: Record<string, string>) => void) {
  const headers = signRequest(crypto, cameraKey, { cameraId, method, path: p, body, timestamp: now() });
  tweak?.(headers);
  const res = await fetch(cloud.url + p, { method, headers, body: method === "GET" ? undefined : body });
  const text = await res.text();
  return { status: res.status, json: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function cameraRoster(minVersion: number): Promise<Roster> {
  const r = await camera("GET", "/v1/camera/roster");
  expect(r.status).toBe(200);
  return verifyRoster(crypto, fromBase64Url(r.json.roster as string), rootDer, { minVersion });
}

async function snapshot(): Promise<string> {
  const tables = ["accounts", "sessions", "e2ee", "phones", "unlock_failures", "cameras", "camera_certs", "clips", "clip_segments"];
  const rows: string[] = [];
  for (const t of tables) rows.push(JSON.stringify(await cloud.store.all(`SELECT * FROM ${t}`)));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (!e.name.startsWith("cloud.sqlite")) files.push(`${path.relative(dataDir, full)}:${fs.statSync(full).size}`);
    }
  };
  walk(dataDir);
  return rows.join("\n") + "\n" + files.sort().join("\n");
}

beforeAll(async () => {
  cloud = await startTestCloud({ dataDir, now });
  (phoneA.options as { cloud: string }).cloud = cloud.url;
  phoneB = new Phone({ home: path.join(tmp, "phone-b"), cloud: cloud.url });
});

afterAll(async () => {
  await cloud?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("enroll: 10 EFF words, keystore 0600, roster v1, backups on the cloud", async () => {
  const result = await phoneA.enroll(creds, "alice-phone");
  passphrase = result.passphrase;
  secrets.push({ name: "passphrase", bytes: new Uint8Array(Buffer.from(passphrase)) });
  expect(passphrase.split(" ")).toHaveLength(10);
  expect(fs.statSync(path.join(phoneA.home, "keystore.json")).mode & 0o777).toBe(0o600);
  // No file under the phone's home holds the passphrase.
  for (const f of fs.readdirSync(phoneA.home)) expect(fs.readFileSync(path.join(phoneA.home, f), "utf8")).not.toContain(passphrase);
  const state = phoneA.state();
  rootDer = fromBase64Url(state.rootCertificate);
  const account = await http("GET", "/v1/account", undefined, state.token);
  expect(account.json).toMatchObject({ e2ee: true, rosterVersion: 1, phoneKeyId: result.phoneKeyId });
  // A second enrollment on the same account is refused.
  const again = new Phone({ home: path.join(tmp, "phone-x"), cloud: cloud.url });
  await expect(again.enroll(creds, "x")).rejects.toMatchObject({ code: "E_CONFLICT" });
});

test("camera: CSR -> certificate, registration, roster, resumable clip upload; phone A opens it", async () => {
  const issued = await phoneA.issueCameraCertificate(buildCsr(crypto, cameraKey, cameraId));
  expect(issued.cameraId).toBe(cameraId);
  cameraCert = issued.certificateDer;
  const reg = await camera("POST", "/v1/camera/register", new Uint8Array(Buffer.from(JSON.stringify({ accountId: phoneA.state().accountId, certificate: toBase64Url(cameraCert) }))));
  expect(reg.status).toBe(201);
  const roster = await cameraRoster(1);
  expect(roster.version).toBe(1);
  expect(roster.recipients.map((r) => r.kind).sort()).toEqual(["hpke-p256", "rsa-oaep-sha256"]);

  const sealer = new ClipSealer({
    crypto, cameraKey, cameraId, cameraCertHash: crypto.sha256(cameraCert), sequence: 1, startTime: now(),
    contentType: CONTENT_TYPE_FRAMES, recipients: roster.recipients, rosterVersion: roster.version, segmentSize: 4096,
  });
  clipId = toHex(sealer.clipId);
  const frames = [0, 1, 2].map((i) => encodeFrame({ time: 1700000000000 + i * 100, jpeg: new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.from(`${MARKER} frame ${i} `.repeat(200)), Buffer.from([0xff, 0xd9])])) }));
  const segments = frames.flatMap((f) => sealer.write(f));
  const done = sealer.finish();
  segments.push(done.segment);
  expect(segments.length).toBeGreaterThan(2);

  expect((await camera("PUT", `/v1/clips/${clipId}/head`, sealer.head)).status).toBe(201);
  expect((await camera("PUT", `/v1/clips/${clipId}/head`, sealer.head)).status).toBe(200); // idempotent
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/0`, segments[0].bytes)).status).toBe(201);
  // The upload is "interrupted": the footer is refused until every segment is there; status tells what to resume.
  expect((await camera("PUT", `/v1/clips/${clipId}/footer?segments=${segments.length}`, done.footer)).status).toBe(409);
  const status = await camera("GET", `/v1/clips/${clipId}/status`);
  expect(status.json).toMatchObject({ head: true, segments: [0], complete: false });
  for (const s of segments.slice(1)) expect((await camera("PUT", `/v1/clips/${clipId}/segments/${s.index}`, s.bytes)).status).toBe(201);
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/0`, segments[0].bytes)).status).toBe(200);
  const other = new Uint8Array(segments[0].bytes);
  other[5] ^= 1;
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/0`, other)).status).toBe(409);
  const footer = await camera("PUT", `/v1/clips/${clipId}/footer?segments=${segments.length}`, done.footer);
  expect(footer.status).toBe(201);
  expect((await camera("PUT", `/v1/clips/${clipId}/footer?segments=${segments.length}`, done.footer)).status).toBe(200);

  const clips = await phoneA.clips();
  expect(clips).toEqual([expect.objectContaining({ clipId, cameraId, complete: true })]);
  const out = path.join(tmp, "a-clip.bin");
  const framesDir = path.join(tmp, "a-frames");
  const opened = await phoneA.open(clipId, out, framesDir);
  expect(opened.frames).toBe(3);
  expect(fs.readFileSync(out).toString("latin1")).toContain(MARKER);
  expect(fs.readdirSync(framesDir).filter((f) => f.endsWith(".jpg"))).toHaveLength(3);
});

test("camera status: the camera reports its roster version, a roster problem and its queue; the account shows the latest", async () => {
  const token = phoneA.state().token;
  const account = async () => ((await http("GET", "/v1/account", undefined, token)).json.cameras as { cameraId: string; status: unknown }[]);
  expect(await account()).toEqual([expect.objectContaining({ cameraId, status: null })]);
  const put = (value: unknown) => camera("PUT", "/v1/camera/status", new Uint8Array(Buffer.from(JSON.stringify(value))));
  const problem = { version: 7, code: "E_LIMIT", message: "roster: 17 keys, but a clip has at most 16 recipients" };
  expect(await put({ rosterVersion: 1, rosterProblem: problem, queued: 3 })).toEqual({ status: 200, json: { ok: true } });
  expect(await account()).toEqual([expect.objectContaining({ cameraId, status: { rosterVersion: 1, rosterProblem: problem, queued: 3, reportedAt: expect.any(Number) } })]);
  const before = JSON.stringify((await cloud.store.all("SELECT * FROM camera_status")));
  const bad: unknown[] = [
    { rosterVersion: 0, rosterProblem: null, queued: 0 },
    { rosterVersion: 1, rosterProblem: null },
    { rosterVersion: 1, rosterProblem: null, queued: -1 },
    { rosterVersion: 1, rosterProblem: null, queued: 1.5 },
    { rosterVersion: 1, rosterProblem: null, queued: 0, extra: 1 },
    { rosterVersion: 1, rosterProblem: { version: 2, code: "LIMIT", message: "x" }, queued: 0 },
    { rosterVersion: 1, rosterProblem: { version: 2, code: "E_LIMIT", message: "x".repeat(201) }, queued: 0 },
    { rosterVersion: 1, rosterProblem: { version: 2, code: "E_LIMIT", message: "x", more: 1 }, queued: 0 },
    { rosterVersion: 1, rosterProblem: { code: "E_LIMIT", message: "x" }, queued: 0 },
    { rosterVersion: "1", rosterProblem: null, queued: 0 },
    [1, 2],
  ];
  for (const value of bad) expect({ value, r: await put(value) }).toEqual({ value, r: { status: 400, json: expect.objectContaining({ code: "E_FORMAT" }) } });
  expect((await camera("PUT", "/v1/camera/status", new Uint8Array(4097).fill(0x20))).status).toBe(413);
  // Unsigned: refused.
  expect((await fetch(cloud.url + "/v1/camera/status", { method: "PUT", body: JSON.stringify({ rosterVersion: 1, rosterProblem: null, queued: 0 }) })).status).toBe(401);
  expect(JSON.stringify((await cloud.store.all("SELECT * FROM camera_status")))).toBe(before);
  expect(await put({ rosterVersion: 1, rosterProblem: { version: null, code: "E_FORMAT", message: "roster fetch: reply has no roster" }, queued: 0 })).toEqual({ status: 200, json: { ok: true } });
  expect(await put({ rosterVersion: 1, rosterProblem: null, queued: 0 })).toEqual({ status: 200, json: { ok: true } });
  expect(await account()).toEqual([expect.objectContaining({ status: expect.objectContaining({ rosterVersion: 1, rosterProblem: null, queued: 0 }) })]);
});

test("wrong passphrases: 403 each, a session is signed out after 3, the 11th try in an hour from this address is 429 even with the right one", async () => {
  // One wrong try through the phone code (a real scrypt), the rest straight at the endpoint.
  const words = passphrase.split(" ");
  const wrong = [words[1], words[0], ...words.slice(2)].join(" ");
  await expect(phoneB.recover(creds, wrong, "bob-phone")).rejects.toMatchObject({ code: "E_AUTH" });
  let token = "";
  for (let i = 1; i < 10; i++) {
    if ((i - 1) % 3 === 0) token = (await http("POST", "/v1/sessions", creds)).json.token as string;
    const r = await http("POST", "/v1/e2ee/unlock", { authKey: toBase64Url(nodeCrypto.randomBytes(32)) }, token);
    expect(r.status).toBe(403);
    if (i % 3 === 0) {
      expect(r.json.message).toContain("signed out");
      expect((await http("GET", "/v1/account", undefined, token)).status).toBe(401);
    }
  }
  token = (await http("POST", "/v1/sessions", creds)).json.token as string;
  const limited = await http("POST", "/v1/e2ee/unlock", { authKey: toBase64Url(nodeCrypto.randomBytes(32)) }, token);
  expect(limited.status).toBe(429);
  expect(limited.json.code).toBe("E_RATE_LIMIT");
  await expect(phoneB.recover(creds, passphrase, "bob-phone")).rejects.toMatchObject({ code: "E_RATE_LIMIT" });
  expect(fs.existsSync(path.join(phoneB.home, "keystore.json"))).toBe(false);
  clockOffset += 61 * 60 * 1000; // an hour later the window has passed
});

test("a tampered backup does not open, and nothing is enrolled", async () => {
  const row = (await cloud.store.get("SELECT backup FROM e2ee")) as { backup: string };
  const backup = JSON.parse(row.backup);
  const p12 = fromBase64Url(backup.signingKeyP12);
  p12[p12.length - 200] ^= 0x01;
  (await cloud.store.run("UPDATE e2ee SET backup = ?", [JSON.stringify({ ...backup, signingKeyP12: toBase64Url(p12) })]));
  try {
    const phoneC = new Phone({ home: path.join(tmp, "phone-c"), cloud: cloud.url });
    await expect(phoneC.recover(creds, passphrase, "carol-phone")).rejects.toMatchObject({ code: "E_UNWRAP" });
    expect(((await cloud.store.get("SELECT COUNT(*) AS n FROM phones")) as { n: number }).n).toBe(1);
  } finally {
    (await cloud.store.run("UPDATE e2ee SET backup = ?", [row.backup]));
  }
});

test("recover: phone B from the passphrase, roster v2, opens the clip sealed before it existed", async () => {
  const result = await phoneB.recover(creds, passphrase, "bob-phone");
  expect(result.rosterVersion).toBe(2);
  expect(phoneB.state().rootCertificate).toBe(phoneA.state().rootCertificate);
  const roster = await cameraRoster(1);
  expect(roster.version).toBe(2);
  expect(roster.recipients.filter((r) => r.kind === "hpke-p256")).toHaveLength(2);
  const out = path.join(tmp, "b-clip.bin");
  await phoneB.open(clipId, out);
  expect(fs.readFileSync(out).toString("latin1")).toContain(MARKER);
});

test("rosters: one signed by another key, an older one, or one with an extra key are refused (cloud and camera)", async () => {
  const token = phoneB.state().token;
  const before = await snapshot();
  const current = await cameraRoster(2);
  const entries = current.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
  // Signed by a stranger's key.
  const stranger = await createAccountSigningKey(phoneB.state().accountId);
  const tbs = encodeRosterTbs(crypto, { accountId: phoneB.state().accountId, version: 3, issuedAt: Date.now(), entries });
  const forged = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(stranger, tbs));
  const r1 = await http("PUT", "/v1/e2ee/roster", { roster: toBase64Url(forged) }, token);
  expect(r1.status).toBe(400);
  expect(r1.json.code).toBe("E_SIGNATURE");
  expect(() => verifyRoster(crypto, forged, rootDer, { minVersion: 2 })).toThrow(expect.objectContaining({ code: "E_SIGNATURE" }));
  // The older v1 roster (as a cloud replaying it would serve it).
  const v1 = (await cloud.store.get("SELECT roster FROM e2ee")) as { roster: Buffer };
  const signer = await phoneB.unlockSigningKey();
  const older = await signRoster(crypto, signer, phoneB.state().accountId, 1, entries);
  const r2 = await http("PUT", "/v1/e2ee/roster", { roster: toBase64Url(older) }, token);
  expect(r2.status).toBe(400);
  expect(r2.json.code).toBe("E_ROSTER");
  expect(() => verifyRoster(crypto, older, rootDer, { minVersion: 2 })).toThrow(expect.objectContaining({ code: "E_ROSTER" }));
  void v1;
  // A key whose certificate the stranger issued, in a roster properly signed by the account key: cameras refuse it.
  const strangerKey = crypto.p256Generate();
  const { issueLeafCertificate } = await import("../../host-tools/phone/certs");
  const { spkiFromP256 } = await import("../../firmware/core/keys");
  const injectedCert = await issueLeafCertificate(stranger, "phone", "injected", spkiFromP256(crypto.p256PublicKey(strangerKey)));
  await expect(signRoster(crypto, signer, phoneB.state().accountId, 3, entries.concat([{ role: "phone", certificateDer: injectedCert }]))).rejects.toMatchObject({ code: "E_CERT" });
  const tbs3 = encodeRosterTbs(crypto, { accountId: phoneB.state().accountId, version: 3, issuedAt: Date.now(), entries: entries.concat([{ role: "phone", certificateDer: injectedCert }]) });
  const injected = assembleRoster(tbs3, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs3));
  expect(() => verifyRoster(crypto, injected, rootDer, { minVersion: 2 })).toThrow(expect.objectContaining({ code: "E_CERT" }));
  const r3 = await http("PUT", "/v1/e2ee/roster", { roster: toBase64Url(injected) }, token);
  expect(r3.status).toBe(400);
  expect(r3.json.code).toBe("E_CERT");
  expect(await snapshot()).toBe(before);
});

test("remove-phone: B removes A; roster v3 lists only B; A is locked out", async () => {
  const aKey = phoneA.state().phoneKeyId;
  const aToken = phoneA.state().token;
  const result = await phoneB.removePhone(aKey);
  expect(result.rosterVersion).toBe(3);
  const roster = await cameraRoster(3);
  expect(roster.entries.map((e) => toHex(e.keyId))).not.toContain(aKey);
  expect(roster.recipients.filter((r) => r.kind === "hpke-p256")).toHaveLength(1);
  const seen = await phoneB.roster();
  expect(seen.version).toBe(3);
  expect(seen.entries.map((e) => e.role).sort()).toEqual(["account-data", "phone"]);
  expect(phoneB.state().rosterVersion).toBe(3);
  expect((await http("GET", "/v1/e2ee/phones/self", undefined, aToken)).status).toBe(401);
  await expect(phoneA.unlockSigningKey()).rejects.toMatchObject({ code: "E_AUTH" });
  // B cannot remove the last phone.
  await expect(phoneB.removePhone(phoneB.state().phoneKeyId)).rejects.toMatchObject({ code: "E_STATE" });
});

test("bad input on every endpoint: 4xx JSON {code, message}, nothing changes", async () => {
  const token = phoneB.state().token;
  const bad: [string, string, unknown, string | undefined, number][] = [
    ["POST", "/v1/accounts", "not json", undefined, 400],
    ["POST", "/v1/accounts", { email: "x", password: "short" }, undefined, 400],
    ["POST", "/v1/accounts", { email: "bob@example.org", password: "long enough", extra: 1 }, undefined, 400],
    ["POST", "/v1/accounts", creds, undefined, 409],
    ["POST", "/v1/sessions", { email: creds.email, password: "wrong password" }, undefined, 401],
    ["POST", "/v1/sessions", [], undefined, 400],
    ["DELETE", "/v1/sessions/current", undefined, "A".repeat(43), 401],
    ["GET", "/v1/account", undefined, undefined, 401],
    ["GET", "/v1/account", undefined, "bad token", 401],
    ["POST", "/v1/e2ee", { rootCertificate: "!!" }, token, 400],
    ["POST", "/v1/e2ee", {}, token, 400],
    ["DELETE", "/v1/e2ee", { confirm: "yes" }, token, 400],
    ["GET", "/v1/e2ee/kdf", undefined, undefined, 401],
    ["POST", "/v1/e2ee/unlock", { authKey: "short" }, token, 400],
    ["POST", "/v1/e2ee/unlock", { authKey: toBase64Url(new Uint8Array(32)), more: 1 }, token, 400],
    ["GET", "/v1/e2ee/phones/self", undefined, undefined, 401],
    ["POST", "/v1/e2ee/phones", { name: "x" }, token, 400],
    ["POST", "/v1/e2ee/phones/nothex/remove", { roster: "AA" }, token, 400],
    ["POST", `/v1/e2ee/phones/${"0".repeat(64)}/remove`, { roster: toBase64Url(new Uint8Array(100)) }, token, 400],
    ["GET", "/v1/e2ee/roster", undefined, undefined, 401],
    ["PUT", "/v1/e2ee/roster", { roster: 5 }, token, 400],
    ["PUT", "/v1/e2ee/roster", { roster: toBase64Url(new Uint8Array(70000)) }, token, 400],
    ["POST", "/v1/camera/register", { accountId: "x" }, undefined, 401],
    ["GET", "/v1/camera/roster", undefined, undefined, 401],
    ["PUT", `/v1/clips/${clipId}/head`, "junk", undefined, 401],
    ["PUT", "/v1/clips/XYZ/segments/0", "junk", undefined, 400],
    ["PUT", `/v1/clips/${clipId}/footer`, "junk", undefined, 400],
    ["GET", `/v1/clips/${clipId}/status`, undefined, undefined, 401],
    ["GET", "/v1/clips", undefined, undefined, 401],
    ["POST", "/v1/cameras/Bad%20Id/remove", undefined, token, 400],
    ["POST", `/v1/cameras/${cameraId}/remove`, undefined, undefined, 401],
    ["POST", `/v1/cameras/${cameraId}/remove`, { unexpected: true }, token, 400],
    ["DELETE", "/v1/sessions/current", "a body where none belongs", token, 400],
    ["POST", "/v1/cameras/cam-nobody/remove", undefined, token, 404],
    ["GET", "/v1/clips/../../etc/passwd", undefined, token, 404],
    ["GET", `/v1/clips/${"f".repeat(32)}`, undefined, token, 404],
    ["GET", "/v1/nothing", undefined, token, 404],
    ["PATCH", "/v1/account", undefined, token, 405],
  ];
  const before = await snapshot();
  for (const [method, p, body, tok, status] of bad) {
    const r = await http(method, p, body, tok);
    expect({ method, p, status: r.status }).toEqual({ method, p, status });
    expect(typeof r.json.code).toBe("string");
    expect(typeof r.json.message).toBe("string");
  }
  // Camera requests: body too large, bad signature, replayed nonce, stale clock, garbage head, bad segment index.
  const big = new Uint8Array(1048576 + 17 + 10);
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/1`, big)).status).toBe(413);
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/1`, new Uint8Array(100), (h) => { h["x-sealcam-signature"] = toBase64Url(new Uint8Array(64)); })).status).toBe(401);
  const headers = signRequest(crypto, cameraKey, { cameraId, method: "GET", path: "/v1/camera/roster", timestamp: now() });
  expect((await fetch(cloud.url + "/v1/camera/roster", { headers })).status).toBe(200);
  const replay = await fetch(cloud.url + "/v1/camera/roster", { headers });
  expect(replay.status).toBe(401);
  expect(((await replay.json()) as { message: string }).message).toContain("replayed");
  const stale = signRequest(crypto, cameraKey, { cameraId, method: "GET", path: "/v1/camera/roster", timestamp: now() - 3600_000 });
  expect((await fetch(cloud.url + "/v1/camera/roster", { headers: stale })).status).toBe(401);
  const garbageHead = await camera("PUT", `/v1/clips/${"a".repeat(32)}/head`, new Uint8Array(Buffer.from("SEALCAM\x01\x00\x00\x00\x05hello")));
  expect(garbageHead.status).toBeGreaterThanOrEqual(400);
  expect(garbageHead.status).toBeLessThan(500);
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/99999999999`, new Uint8Array(100))).status).toBe(400);
  expect((await camera("PUT", `/v1/clips/${clipId}/segments/0`, new Uint8Array(5))).status).toBe(400);
  expect(await snapshot()).toBe(before);
});

test("accounts are isolated: another account sees none of this one's clips, roster or backup", async () => {
  const bob = await http("POST", "/v1/accounts", { email: "bob@example.org", password: "bob's password" });
  expect(bob.status).toBe(201);
  const t = bob.json.token as string;
  expect((await http("GET", "/v1/clips", undefined, t)).json).toEqual({ clips: [] });
  expect((await http("GET", `/v1/clips/${clipId}`, undefined, t)).status).toBe(404);
  expect((await http("GET", "/v1/e2ee/roster", undefined, t)).status).toBe(409);
  expect((await http("GET", "/v1/e2ee/kdf", undefined, t)).status).toBe(409);
  expect((await http("POST", "/v1/e2ee/unlock", { authKey: toBase64Url(new Uint8Array(32)) }, t)).status).toBe(409);
  expect((await http("GET", "/v1/account", undefined, t)).json).toMatchObject({ e2ee: false, phones: [], cameras: [] });
});

test("camera registration refuses certificates from another root, a wrong CN, or a key the camera does not hold", async () => {
  const before = await snapshot();
  const accountId = phoneB.state().accountId;
  const stranger = await createAccountSigningKey(accountId);
  const key = crypto.p256Generate();
  const strangers = await issueCameraCertificate(buildCsr(crypto, key, "cam-intruder"), stranger);
  const register = async (k: typeof key, id: string, certDer: Uint8Array, account = accountId) => {
    const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId: account, certificate: toBase64Url(certDer) })));
    const headers = signRequest(crypto, k, { cameraId: id, method: "POST", path: "/v1/camera/register", body, timestamp: now() });
    const res = await fetch(cloud.url + "/v1/camera/register", { method: "POST", headers, body });
    return { status: res.status, json: (await res.json()) as { code: string } };
  };
  expect(await register(key, "cam-intruder", strangers.certificateDer)).toEqual({ status: 400, json: expect.objectContaining({ code: "E_CERT" }) });
  // Our camera's genuine certificate, presented by someone without its key.
  expect((await register(key, cameraId, cameraCert)).status).toBe(401);
  // A genuine certificate under another camera id.
  const real = await phoneB.issueCameraCertificate(buildCsr(crypto, key, "cam-real"));
  expect(await register(key, "cam-other", real.certificateDer)).toEqual({ status: 400, json: expect.objectContaining({ code: "E_CERT" }) });
  expect((await register(key, "cam-real", real.certificateDer, "acct-0000000000000000")).status).toBe(404);
  expect(await snapshot()).toBe(before);
});

test("removing a camera: it can no longer upload or re-register, and its earlier clip still opens", async () => {
  expect((await camera("GET", "/v1/camera/roster")).status).toBe(200);
  await phoneB.removeCamera(cameraId);
  expect((await camera("GET", "/v1/camera/roster")).status).toBe(401);
  const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId: phoneB.state().accountId, certificate: toBase64Url(cameraCert) })));
  const again = await camera("POST", "/v1/camera/register", body);
  expect(again.status).toBe(403);
  await expect(phoneB.removeCamera(cameraId)).rejects.toMatchObject({ code: "E_NOT_FOUND" });
  const out = path.join(tmp, "b-clip-after-removal.bin");
  await phoneB.open(clipId, out);
  expect(fs.readFileSync(out).toString("latin1")).toContain(MARKER);
});

test("disable: keys deleted on the phone and the cloud; the clip stays listed but nothing can open it", async () => {
  // Collect every secret first, for the scan below.
  const row = (await cloud.store.get("SELECT backup, account_id FROM e2ee")) as { backup: string; account_id: string };
  const backup = JSON.parse(row.backup);
  const passphraseKey = derivePassphraseKey(passphrase, backup.kdf);
  const signing = readPkcs12(fromBase64Url(backup.signingKeyP12), pkcs12Password(passphraseKey));
  const signingKey = nodeCrypto.createPrivateKey({ key: Buffer.from(signing.privateKeyPkcs8), format: "der", type: "pkcs8" });
  const dataKeyKey = new Uint8Array(nodeCrypto.privateDecrypt({ key: signingKey, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(LABEL_DATA_KEY_WRAP) }, Buffer.from(fromBase64Url(backup.dataKeyWrapToSigning))));
  const data = readPkcs12(fromBase64Url(backup.dataKeyP12), pkcs12Password(dataKeyKey));
  const bScalar = fromBase64Url(toBase64Url(Buffer.from(JSON.parse(fs.readFileSync(path.join(phoneB.home, "keystore.json"), "utf8")).scalar, "hex")));
  secrets.push(
    { name: "passphrase derived key", bytes: passphraseKey },
    { name: "passphrase derived key (hex password)", bytes: new Uint8Array(Buffer.from(pkcs12Password(passphraseKey))) },
    { name: "data derived key", bytes: dataKeyKey },
    { name: "data derived key (hex password)", bytes: new Uint8Array(Buffer.from(pkcs12Password(dataKeyKey))) },
    { name: "backup auth key", bytes: backupAuthKey(passphraseKey, row.account_id) },
    { name: "signing private key DER", bytes: signing.privateKeyPkcs8 },
    { name: "signing private key (middle)", bytes: signing.privateKeyPkcs8.slice(300, 348) },
    { name: "data private key DER", bytes: data.privateKeyPkcs8 },
    { name: "data private key (middle)", bytes: data.privateKeyPkcs8.slice(300, 348) },
    { name: "phone B instance key", bytes: bScalar },
    { name: "camera key", bytes: crypto.p256Export(cameraKey) },
  );
  void deriveKey;
  // The CLI refuses without --yes and says what would be lost.
  const { main } = await import("../../host-tools/phone/cli");
  const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    expect(await main(["disable", "--home", phoneB.home, "--cloud", cloud.url])).toBe(1);
    expect(write.mock.calls.map((c) => String(c[0])).join("")).toContain("can never be opened again");
    expect(await main(["disable", "--home", phoneB.home, "--cloud", cloud.url, "--yes"])).toBe(0);
  } finally {
    write.mockRestore();
  }
  expect(fs.existsSync(path.join(phoneB.home, "keystore.json"))).toBe(false);
  const session = await http("POST", "/v1/sessions", creds);
  const account = await http("GET", "/v1/account", undefined, session.json.token as string);
  expect(account.json).toMatchObject({ e2ee: false, phones: [], cameras: [], cameraCertificates: [] });
  expect(((await http("GET", "/v1/clips", undefined, session.json.token as string)).json.clips as unknown[]).length).toBe(1);
});

test("the cloud's data directory and database never held a secret or any plaintext", async () => {
  cloud.store.sqlite?.pragma("wal_checkpoint(TRUNCATE)");
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(dataDir);
  if (TEST_DB === "postgres") walk((await testS3()).directory); // the clip bodies are in the S3 store (s3rver's folder)
  expect(files.some((f) => /\.sealed(?:\._S3rver_object)?$/.test(f))).toBe(true);
  const needles = secrets.concat([
    { name: "clip plaintext marker", bytes: new Uint8Array(Buffer.from(MARKER)) },
    { name: "clip plaintext marker (base64)", bytes: new Uint8Array(Buffer.from(Buffer.from(MARKER).toString("base64").slice(0, 24))) },
  ]);
  expect(needles.length).toBeGreaterThanOrEqual(14);
  for (const file of files) {
    const content = fs.readFileSync(file);
    // base64url copies too: the cloud stores binary fields as base64url text.
    const text = content.toString("latin1");
    for (const needle of needles) {
      expect({ file: path.basename(file), needle: needle.name, found: content.indexOf(Buffer.from(needle.bytes)) >= 0 }).toEqual({ file: path.basename(file), needle: needle.name, found: false });
      if (needle.bytes.length >= 24) {
        const b64 = toBase64Url(needle.bytes.slice(0, 24));
        expect({ file: path.basename(file), needle: needle.name + " (base64url)", found: text.includes(b64) }).toEqual({ file: path.basename(file), needle: needle.name + " (base64url)", found: false });
      }
    }
  }
});
