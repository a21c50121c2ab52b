/**
 * An enrolled camera at work, against the real cloud behind an untrusted proxy: outages (Wi-Fi and cloud)
 * with clips queued in flash and delivered afterwards, roster attacks from the cloud (forged, older,
 * injected key), adding and removing a phone, and unenroll / factory reset from the console.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { addCamera } from "../../host-tools/phone/add-camera";
import { createAccountSigningKey, issueLeafCertificate } from "../../host-tools/phone/certs";
import { startCamera, type CameraApp } from "../../firmware/camera";
import type { CameraAppConfig } from "../../firmware/camera/config";
import { toHex } from "../../firmware/core/bytes";
import { spkiFromP256 } from "../../firmware/core/keys";
import { parseCertificate } from "../../firmware/core/x509";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { TestAccount, type TestPhone } from "./account";
import { makeBoard, until, type TestBoard } from "./harness";
import { CloudProxy } from "./proxy";
import { MemoryFlash } from "../../host-tools/board-sim/flash-file";

const crypto = new NodeCrypto();
let dir: string;
let cloud: CloudServer;
let proxy: CloudProxy;
let account: TestAccount;
const running: { app: CameraApp; board: TestBoard }[] = [];

const FAST: Partial<CameraAppConfig> = {
  clipMs: 600, sensor: { width: 64, height: 48, quality: 20, framesPerSecond: 5 }, segmentSize: 4096,
  uploadRetryMs: 20, uploadRetryMaxMs: 100, rosterRefreshMs: 3_600_000,
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-op-"));
  cloud = await startCloud({ dataDir: dir, port: 0, host: "127.0.0.1" });
  proxy = new CloudProxy(cloud.url);
  await proxy.start();
  account = await TestAccount.create(cloud.url);
});

afterAll(async () => {
  for (const { app, board } of running) {
    app.stop();
    board.setupServer.close();
    board.clock.clearAll();
  }
  await proxy.close();
  await cloud.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Enrolled {
  app: CameraApp;
  board: TestBoard;
  cameraId: string;
  certificate: Uint8Array;
  secret: string;
}

async function enrolledCamera(config: Partial<CameraAppConfig> = {}, flash?: MemoryFlash): Promise<Enrolled> {
  const board = makeBoard({ flash });
  const app = startCamera(board.platform, { ...FAST, ...config });
  running.push({ app, board });
  const url = await board.setupServer.ready();
  const secret = board.console.lines.find((l) => l.startsWith("setup: label secret "))!.slice("setup: label secret ".length);
  const r = await addCamera({ setupUrl: url, secret, wifi: { ssid: "home", password: "home-wifi-pw" }, cloudUrl: proxy.url, signer: account.signer, roster: account.roster });
  await until(() => app.state === "running" && board.log.count("cloud.registered") === 1, "registered").catch((e) => { throw new Error(e.message + board.log.dump()); });
  await app.idle();
  return { app, board, cameraId: r.cameraId, certificate: r.certificate, secret };
}

async function record(cam: Enrolled): Promise<void> {
  const before = cam.board.log.count("record.done");
  cam.board.camera.trigger("motion");
  await until(() => cam.board.log.count("record.done") === before + 1, "clip sealed");
}

async function newClips(known: string[]): Promise<string[]> {
  return (await account.clipIds()).filter((id) => !known.includes(id));
}

const keyIdHex = (p: TestPhone) => toHex(p.keyId);
const dataKeyId = () => toHex(crypto.sha256(parseCertificate(account.dataCert).spki));

async function rosterCommand(cam: Enrolled): Promise<string[]> {
  const start = cam.board.console.lines.length;
  cam.board.console.type("roster refresh");
  await until(() => cam.board.console.lines.slice(start).some((l) => l.startsWith("roster: version")), "roster output");
  return cam.board.console.lines.slice(start);
}

test("Wi-Fi outage: clips go to the flash queue and all arrive when the link returns", async () => {
  const cam = await enrolledCamera();
  const known = await account.clipIds();
  cam.board.net.setUp(false);
  await until(() => cam.app.state === "connecting", "offline");
  for (let i = 0; i < 3; i++) await record(cam);
  expect(cam.app.queue.count).toBeGreaterThan(3 * 3);
  expect(await newClips(known)).toEqual([]);
  // only sealed parts in flash: no frame's bytes appear in the partition
  const flash = (cam.board.flash as unknown as { bytes: Uint8Array }).bytes;
  const needle = Buffer.from(cam.board.camera.frameBytes[1].subarray(300, 340));
  expect(Buffer.from(flash).includes(needle)).toBe(false);

  cam.board.net.setUp(true);
  await until(() => cam.app.queue.count === 0 && cam.app.state === "running", "queue drained");
  await cam.app.idle();
  const ids = await newClips(known);
  expect(ids).toHaveLength(3);
  const sequences = [];
  for (const id of ids) {
    const opened = account.open(await account.download(id), cam.certificate, account.phones.get("phone-a")!);
    expect(opened.frames.length).toBe(3);
    sequences.push(opened.sequence);
  }
  expect(sequences.sort()).toEqual([1, 2, 3]);
  expect(cam.board.log.count("queue.drop")).toBe(0);
});

test("cloud outage (503) with Wi-Fi up: parts queue, retries deliver every clip", async () => {
  const cam = await enrolledCamera();
  const known = await account.clipIds();
  proxy.down = true;
  await record(cam);
  await record(cam);
  expect(cam.app.queue.count).toBeGreaterThan(0);
  expect(cam.board.log.count("upload.defer") + cam.board.log.count("upload.retry")).toBeGreaterThan(0);
  proxy.down = false;
  await until(() => cam.app.queue.count === 0, "delivered");
  await cam.app.idle();
  expect(await newClips(known)).toHaveLength(2);
});

test("roster attacks from the cloud: forged, older, injected key — all refused, clips keep the verified keys", async () => {
  const cam = await enrolledCamera();
  // a second phone joins: roster v2, the camera follows it
  const phoneB = await account.addPhone("phone-b");
  await rosterCommand(cam);
  expect(cam.app.status().roster).toBe(account.rosterVersion);
  const good = Number(cam.app.status().roster);

  // forged: signed by a key that is not the account's
  const other = await createAccountSigningKey(account.accountId);
  proxy.rosterOverride = await account.signRoster(good + 5, [...account.phones.values()], { signer: other });
  await rosterCommand(cam);
  // older: a genuine roster, but version 1
  proxy.rosterOverride = await account.signRoster(1, [account.phones.get("phone-a")!]);
  await rosterCommand(cam);
  // injected: signed by the account key but listing a phone key the root never certified
  const rogueKey = crypto.p256Generate();
  const rogueCert = await issueLeafCertificate(other, "phone", "rogue", spkiFromP256(crypto.p256PublicKey(rogueKey)));
  proxy.rosterOverride = await account.signRoster(good + 1, [...account.phones.values()], { extra: [rogueCert] });
  await rosterCommand(cam);
  proxy.rosterOverride = undefined;

  const rejects = cam.board.log.lines.filter((l) => l.event === "roster.reject").map((l) => l.fields?.code);
  expect(rejects).toEqual(["E_SIGNATURE", "E_ROSTER", "E_CERT"]);
  expect(cam.app.status().roster).toBe(good);

  const known = await account.clipIds();
  await record(cam);
  await cam.app.idle();
  const [id] = await newClips(known);
  const opened = account.open(await account.download(id), cam.certificate, phoneB);
  expect(opened.recipients.sort()).toEqual([keyIdHex(account.phones.get("phone-a")!), keyIdHex(phoneB), dataKeyId()].sort());
  expect(opened.recipients).not.toContain(toHex(crypto.sha256(spkiFromP256(crypto.p256PublicKey(rogueKey)))));
});

test("phone removal: after the roster update new clips are no longer wrapped to the removed phone", async () => {
  const cam = await enrolledCamera();
  if (!account.phones.has("phone-b")) await account.addPhone("phone-b");
  await rosterCommand(cam);
  const phoneB = account.phones.get("phone-b")!;
  const known = await account.clipIds();
  await record(cam);
  await cam.app.idle();
  const [before] = await newClips(known);
  expect(account.open(await account.download(before), cam.certificate, phoneB).frames.length).toBe(3);

  await account.removePhone("phone-b");
  const lines = await rosterCommand(cam);
  expect(lines).toContain("roster: refreshed");
  expect(lines.some((l) => l.includes(keyIdHex(phoneB).slice(0, 16)))).toBe(false);
  const known2 = await account.clipIds();
  await record(cam);
  await cam.app.idle();
  const [after] = await newClips(known2);
  const sealed = await account.download(after);
  expect(() => account.open(sealed, cam.certificate, phoneB)).toThrow();
  const byA = account.open(sealed, cam.certificate, account.phones.get("phone-a")!);
  expect(byA.recipients).not.toContain(keyIdHex(phoneB));
  expect(account.open(sealed, cam.certificate, "data").frames.length).toBe(3);
});

test("a stale roster is refreshed before a clip", async () => {
  const cam = await enrolledCamera({ rosterRefreshMs: 50 });
  const fetches = () => proxy.requests.filter((r) => r === "GET /v1/camera/roster").length;
  await new Promise((r) => setTimeout(r, 60));
  const before = fetches();
  await record(cam);
  expect(fetches()).toBeGreaterThan(before);
});

test("unenroll and factory reset from the console erase keys and certificates, keep the label secret", async () => {
  const cam = await enrolledCamera();
  const secretBefore = cam.board.storage.get("fac.secret");
  cam.board.console.type("unenroll");
  await until(() => cam.app.state === "setup" && cam.board.setupServer.url !== undefined, "setup mode");
  expect(cam.board.storage.keys().filter((k) => k.startsWith("p.") || k.startsWith("r."))).toEqual([]);
  expect(cam.board.storage.get("fac.secret")).toEqual(secretBefore);
  expect(cam.app.status()).toMatchObject({ enrolled: false, state: "setup" });
  // enroll again with the same label, then factory-reset
  const url = await cam.board.setupServer.ready();
  await addCamera({ setupUrl: url, secret: cam.secret, wifi: { ssid: "home", password: "home-wifi-pw" }, cloudUrl: proxy.url, signer: account.signer, roster: account.roster });
  await until(() => cam.app.state === "running", "running again");
  cam.board.console.type("factory-reset");
  await until(() => cam.app.state === "setup" && cam.board.setupServer.url !== undefined, "setup after reset");
  expect(cam.board.storage.keys().filter((k) => k.startsWith("p.") || k.startsWith("r."))).toEqual([]);
  const out = cam.board.console.lines.join("\n");
  expect(out).not.toMatch(/[0-9a-f]{64}/); // no key material printed
});

test("a long press of the setup button re-opens setup mode; the old enrollment stays until a new one commits", async () => {
  const cam = await enrolledCamera({ setupTimeoutMs: 1500 });
  const before = cam.app.status().camera;
  cam.board.camera.trigger("setup-button");
  await until(() => cam.app.state === "setup" && cam.board.setupServer.url !== undefined, "setup mode");
  expect(cam.board.storage.get("p.ok")).toBeDefined();
  // nobody comes: setup times out and the camera goes back to work with its old enrollment
  await until(() => cam.app.state === "running", "back to running");
  expect(cam.app.status()).toMatchObject({ enrolled: true, camera: before });
});

test("a full queue drops the oldest whole clip, logs it, and delivers the newest ones complete", async () => {
  const cam = await enrolledCamera({}, new MemoryFlash(8 * 4096, 4096));
  const known = await account.clipIds();
  cam.board.net.setUp(false);
  await until(() => cam.app.state === "connecting", "offline");
  for (let i = 0; i < 8; i++) await record(cam);
  const drops = cam.board.log.lines.filter((l) => l.event === "queue.drop");
  expect(drops.length).toBeGreaterThan(0);
  expect(drops.map((d) => d.text)).toEqual(drops.map(() => "queue full: oldest clip dropped"));
  cam.board.net.setUp(true);
  await until(() => cam.app.queue.count === 0 && cam.app.state === "running", "drained");
  await cam.app.idle();
  const ids = await newClips(known);
  expect(ids.length).toBeGreaterThan(0);
  expect(ids.length + drops.length).toBe(8);
  const seqs: number[] = [];
  for (const id of ids) seqs.push(account.open(await account.download(id), cam.certificate, account.phones.get("phone-a")!).sequence);
  // the survivors are the newest clips
  seqs.sort((a, b) => a - b);
  expect(seqs[seqs.length - 1]).toBe(8);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 8 - seqs.length + 1 + i));
});
