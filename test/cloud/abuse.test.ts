/**
 * Cloud abuse (issue 10 findings 3, 4, 7): what an unauthenticated client on the network can do to the cloud.
 * Bounded loops on loopback, real sockets, real SQLite. The memory flood and the parallel sign-ins run against
 * a cloud in a child process, so its RSS is its own and its event loop is not the test's.
 *
 * Stated limits: a flood of 300 unauthenticated upload sockets, each declaring (and trying to send) a 1 MiB
 * body, grows the cloud's RSS by less than 40 MB during the flood and after it; a legitimate camera upload
 * and a phone request succeed during the flood; a legitimate request completes while 16 bad sign-ins are
 * still being hashed.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { fromBase64Url, toBase64Url } from "../../firmware/core/bytes";
import { buildCsr } from "../../firmware/core/csr";
import { signRequest } from "../../firmware/core/request-auth";
import { verifyRoster } from "../../firmware/core/roster";
import type { CloudServer } from "../../host-tools/cloud/server";
import { createAccountSigningKey, issueCameraCertificate } from "../../host-tools/phone/certs";
import { cameraRequest, crypto, request, sealClip, setUpAccount, startChildCloud, type Account, type ChildCloud, startTestCloud } from "./fixture";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-abuse-"));
let clockOffset = 0;
const now = () => Date.now() + clockOffset;
let child: ChildCloud;
let remote: Account;
let local: CloudServer;
let owner: Account;
const MB = 1024 * 1024;

beforeAll(async () => {
  child = await startChildCloud(path.join(tmp, "child-data"), tmp);
  remote = await setUpAccount(child.url, tmp, "remote@example.org", "cam-remote");
  local = await startTestCloud({ dataDir: path.join(tmp, "local-data"), now, requestTimeoutMs: 1000 });
  owner = await setUpAccount(local.url, tmp, "owner@example.org", "cam-owner", now);
});

afterAll(async () => {
  await child?.stop();
  await local?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Resolves when the server closes the socket (or after `limitMs`, with what was received). */
function waitClosed(socket: net.Socket, limitMs = 15_000): Promise<{ closed: boolean; received: string }> {
  return new Promise((resolve) => {
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received });
    }, limitMs);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closed: true, received });
    });
    socket.on("error", () => undefined);
  });
}

function connect(url: string): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => resolve(s));
    s.once("error", reject);
  });
}

/** Headers that look like a camera's but are signed by nobody in particular. */
function forgedHeaders(cameraId: string): string {
  return [
    `x-sealcam-camera: ${cameraId}`,
    `x-sealcam-timestamp: ${Date.now()}`,
    `x-sealcam-nonce: ${toBase64Url(nodeCrypto.randomBytes(16))}`,
    `x-sealcam-signature: ${toBase64Url(nodeCrypto.randomBytes(64))}`,
    `x-sealcam-content-sha256: ${nodeCrypto.randomBytes(32).toString("hex")}`,
  ].join("\r\n");
}

const tmpFiles = (dataDir: string) => (fs.existsSync(path.join(dataDir, "tmp")) ? fs.readdirSync(path.join(dataDir, "tmp")) : []);

async function rosterRecipients(base: string, acct: Account) {
  const r = await cameraRequest(base, acct.camera, "GET", "/v1/camera/roster", undefined, now());
  expect(r.status).toBe(200);
  const root = fromBase64Url(acct.phone.state().rootCertificate);
  const roster = verifyRoster(crypto, fromBase64Url(r.json.roster as string), root, { minVersion: 1 });
  return { recipients: roster.recipients, version: roster.version };
}

test("slow-loris: headers that never end, and a signed upload whose body stalls, are cut by the request timeout; nothing is stored", async () => {
  // Headers that never finish.
  const a = await connect(local.url);
  a.write("PUT /v1/clips/" + "a".repeat(32) + "/segments/0 HTTP/1.1\r\nHost: x\r\nx-sealcam-camera: cam-owner\r\n");
  // A correctly signed upload of a real clip's segment: the head is stored, then the segment body stalls.
  const { recipients, version } = await rosterRecipients(local.url, owner);
  const clip = sealClip(owner.camera, recipients, version);
  expect((await cameraRequest(local.url, owner.camera, "PUT", `/v1/clips/${clip.clipId}/head`, clip.head, now())).status).toBe(201);
  const p = `/v1/clips/${clip.clipId}/segments/0`;
  const headers = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "PUT", path: p, body: clip.segments[0], timestamp: now() });
  const b = await connect(local.url);
  b.write(`PUT ${p} HTTP/1.1\r\nHost: x\r\ncontent-length: ${clip.segments[0].length}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
  b.write(clip.segments[0].subarray(0, 100));
  const [ra, rb] = await Promise.all([waitClosed(a), waitClosed(b)]);
  expect(ra.closed).toBe(true);
  expect(rb.closed).toBe(true);
  expect(rb.received).not.toMatch(/^HTTP\/1\.1 20/);
  expect((await local.store.get("SELECT COUNT(*) AS n FROM clip_segments WHERE clip_id = ?", [clip.clipId]))).toEqual({ n: 0 });
  expect(tmpFiles(path.join(tmp, "local-data"))).toEqual([]);
  // The same segment, sent whole, is stored.
  expect((await cameraRequest(local.url, owner.camera, "PUT", p, clip.segments[0], now())).status).toBe(201);
});

test("an unauthenticated upload is refused from its headers: 401 before the body is sent, and the connection is closed", async () => {
  const s = await connect(local.url);
  s.write(`PUT /v1/clips/${"b".repeat(32)}/segments/0 HTTP/1.1\r\nHost: x\r\ncontent-length: ${MB + 16}\r\n${forgedHeaders("cam-owner")}\r\n\r\n`);
  s.write(Buffer.alloc(10));
  const r = await waitClosed(s);
  expect(r.closed).toBe(true);
  expect(r.received).toMatch(/^HTTP\/1\.1 401 /);
  expect(r.received).toContain('"E_AUTH"');
});

test("a flood of 300 unauthenticated 1 MiB uploads does not grow the cloud's memory; a camera and a phone are still served", async () => {
  const before = child.rss();
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const sockets: net.Socket[] = [];
  const floods: Promise<number>[] = [];
  for (let i = 0; i < 300; i++) {
    const s = await connect(child.url);
    sockets.push(s);
    s.on("error", () => undefined);
    const id = nodeCrypto.randomBytes(16).toString("hex");
    s.write(`PUT /v1/clips/${id}/segments/0 HTTP/1.1\r\nHost: x\r\ncontent-length: ${MB + 16}\r\n${forgedHeaders(i % 2 ? remote.camera.id : "cam-nobody")}\r\n\r\n`);
    // Send the declared body as fast as the cloud takes it; stop when it closes the socket.
    floods.push((async () => {
      let sent = 0;
      while (sent < MB && !s.destroyed && s.writable) {
        const more = s.write(chunk);
        sent += chunk.length;
        if (!more) await new Promise<void>((resolve) => { s.once("drain", resolve); s.once("close", resolve); });
      }
      return sent;
    })());
  }
  await Promise.all(floods);
  const during = child.rss();
  // A legitimate camera uploads a whole clip and a phone lists it, while the flood's sockets are still there.
  const { recipients, version } = await rosterRecipients(child.url, remote);
  const clip = sealClip(remote.camera, recipients, version);
  expect((await cameraRequest(child.url, remote.camera, "PUT", `/v1/clips/${clip.clipId}/head`, clip.head)).status).toBe(201);
  for (let i = 0; i < clip.segments.length; i++) {
    expect((await cameraRequest(child.url, remote.camera, "PUT", `/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i])).status).toBe(201);
  }
  expect((await cameraRequest(child.url, remote.camera, "PUT", `/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer)).status).toBe(201);
  const list = await request(child.url, "GET", "/v1/clips", { token: remote.token });
  expect(list.json.clips).toEqual([expect.objectContaining({ clipId: clip.clipId, complete: true })]);
  for (const s of sockets) s.destroy();
  const after = child.rss();
  // eslint-disable-next-line no-console
  console.log(`cloud RSS: before ${(before / MB).toFixed(1)} MB, during ${(during / MB).toFixed(1)} MB, after ${(after / MB).toFixed(1)} MB`);
  expect(during - before).toBeLessThan(40 * MB);
  expect(after - before).toBeLessThan(40 * MB);
});

test("16 parallel bad sign-ins do not block the server: a phone's request completes while they are still being hashed", async () => {
  let finished = 0;
  const bad = Array.from({ length: 16 }, (_, i) =>
    request(child.url, "POST", "/v1/sessions", { body: JSON.stringify({ email: `guess${i}@example.org`, password: "not the password" }) }).then((r) => {
      finished++;
      return r.status;
    }));
  const legit = await request(child.url, "GET", "/v1/account", { token: remote.token });
  const badDoneWhenLegitDone = finished;
  expect(legit.status).toBe(200);
  expect(badDoneWhenLegitDone).toBeLessThan(16);
  expect(await Promise.all(bad)).toEqual(Array(16).fill(401));
});

test("sign-in limits: 10 wrong passwords per account, then 429 even with the right one, from any address, until 15 minutes pass", async () => {
  const email = owner.creds.email;
  for (let i = 0; i < 10; i++) {
    const r = await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify({ email, password: `wrong password ${i}` }), from: "127.0.0.5" });
    expect(r.status).toBe(401);
  }
  for (const from of ["127.0.0.5", "127.0.0.6"]) {
    const r = await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), from });
    expect(r.status).toBe(429);
    expect(r.json.code).toBe("E_RATE_LIMIT");
    expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
  }
  clockOffset += 15 * 60 * 1000 + 1000;
  expect((await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), from: "127.0.0.6" })).status).toBe(201);
});

test("sign-in limits: 30 wrong sign-ins per address (any accounts), then 429 for that address only", async () => {
  for (let i = 0; i < 30; i++) {
    const r = await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify({ email: `nobody${i}@example.org`, password: "some password" }), from: "127.0.0.7" });
    expect(r.status).toBe(401);
  }
  const limited = await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), from: "127.0.0.7" });
  expect(limited.status).toBe(429);
  expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
  expect((await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), from: "127.0.0.8" })).status).toBe(201);
  clockOffset += 15 * 60 * 1000 + 1000;
  expect((await request(local.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), from: "127.0.0.7" })).status).toBe(201);
});

test("a replayed camera request is refused, and a replayed upload stores nothing", async () => {
  const headers = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "GET", path: "/v1/camera/roster", timestamp: now() });
  expect((await request(local.url, "GET", "/v1/camera/roster", { headers })).status).toBe(200);
  const replay = await request(local.url, "GET", "/v1/camera/roster", { headers });
  expect(replay.status).toBe(401);
  expect(replay.json.message).toContain("replayed");
  const { recipients, version } = await rosterRecipients(local.url, owner);
  const clip = sealClip(owner.camera, recipients, version, 2);
  const p = `/v1/clips/${clip.clipId}/head`;
  const h = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "PUT", path: p, body: clip.head, timestamp: now() });
  const first = await request(local.url, "PUT", p, { headers: h, body: clip.head });
  expect(first.status).toBe(201);
  (await local.store.run("DELETE FROM clips WHERE clip_id = ?", [clip.clipId]));
  const again = await request(local.url, "PUT", p, { headers: h, body: clip.head });
  expect(again.status).toBe(401);
  expect((await local.store.get("SELECT COUNT(*) AS n FROM clips WHERE clip_id = ?", [clip.clipId]))).toEqual({ n: 0 });
});

test("requests signed by unregistered keys leave the replay cache (nonces table) unchanged", async () => {
  const nonces = async () => JSON.stringify((await local.store.all("SELECT * FROM nonces ORDER BY camera_id, nonce")));
  const before = await nonces();
  const stranger = crypto.p256Generate();
  // An unknown camera id; the registered camera id with another key.
  for (const id of ["cam-nobody", owner.camera.id]) {
    const headers = signRequest(crypto, stranger, { cameraId: id, method: "GET", path: "/v1/camera/roster", timestamp: now() });
    expect((await request(local.url, "GET", "/v1/camera/roster", { headers })).status).toBe(401);
  }
  // Registration with a certificate from another root (signed by the key it certifies), and for an account
  // that does not exist: refused, and the nonce is not remembered.
  const strangerRoot = await createAccountSigningKey(owner.accountId);
  const cert = await issueCameraCertificate(buildCsr(crypto, stranger, "cam-stranger"), strangerRoot);
  for (const accountId of [owner.accountId, "acct-0000000000000000"]) {
    const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId, certificate: toBase64Url(cert.certificateDer) })));
    const headers = signRequest(crypto, stranger, { cameraId: "cam-stranger", method: "POST", path: "/v1/camera/register", body, timestamp: now() });
    const r = await request(local.url, "POST", "/v1/camera/register", { headers, body });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  }
  expect(await nonces()).toBe(before);
});
