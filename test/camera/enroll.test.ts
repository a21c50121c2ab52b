/**
 * The camera application end to end in Node: boot into setup mode, enrollment from the phone over the
 * authenticated setup channel, registration with the real cloud server, a recorded clip that phone A and the
 * account data key can open, and the cloud holding only ciphertext.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { addCamera } from "../../host-tools/phone/add-camera";
import { startCamera, type CameraApp } from "../../firmware/camera";
import { toHex } from "../../firmware/core/bytes";
import { deriveSetupKeys, parseSetupSecret } from "../../firmware/core/setup-channel";
import { TestAccount } from "./account";
import { makeBoard, until, type TestBoard } from "./harness";

export const FAST = {
  clipMs: 1000,
  sensor: { width: 64, height: 48, quality: 20, framesPerSecond: 5 },
  segmentSize: 4096,
  uploadRetryMs: 20,
  uploadRetryMaxMs: 200,
};

let dir: string;
let cloud: CloudServer;
let account: TestAccount;
const cameras: { app: CameraApp; board: TestBoard }[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-camera-"));
  cloud = await startCloud({ dataDir: dir, port: 0, host: "127.0.0.1" });
  account = await TestAccount.create(cloud.url);
});

afterAll(async () => {
  for (const { app, board } of cameras) {
    app.stop();
    board.setupServer.close();
    board.clock.clearAll();
  }
  await cloud.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

export function labelSecret(board: TestBoard): string {
  const line = board.console.lines.find((l) => l.startsWith("setup: label secret "));
  if (!line) throw new Error("no label secret on the console");
  return line.slice("setup: label secret ".length);
}

test("boot -> setup -> enrolled over the setup channel -> registered -> a clip both keys can open", async () => {
  const board = makeBoard();
  const app = startCamera(board.platform, FAST);
  cameras.push({ app, board });
  const setupUrl = await board.setupServer.ready();
  expect(app.state).toBe("setup");
  // The access point: named from the MAC, WPA2 password derived from the label secret with its own label.
  expect(board.wifi.ap?.ssid).toBe("sealcam-ABCD");
  const secret = labelSecret(board);
  expect(board.wifi.ap?.password).toBe(deriveSetupKeys(board.platform.crypto, parseSetupSecret(secret)).wifiPassword);

  const progress: string[] = [];
  const result = await addCamera({
    setupUrl, secret, wifi: { ssid: "home", password: "home-wifi-pw" }, cloudUrl: cloud.url,
    signer: account.signer, roster: account.roster, onProgress: (s) => progress.push(s),
  });
  expect(result.cameraId).toMatch(/^cam-[0-9a-f]{16}$/);
  await until(() => app.state === "running" && board.log.count("cloud.registered") === 1, "registration");
  expect(board.wifi.joined).toEqual({ ssid: "home", password: "home-wifi-pw" });
  expect(board.wifi.ap).toBeUndefined();
  expect(board.setupServer.url).toBeUndefined();
  expect(app.status()).toMatchObject({ enrolled: true, camera: result.cameraId, roster: 1, recipients: 2 });

  board.camera.trigger("motion");
  await until(() => board.log.count("record.done") === 1, "a clip");
  await app.idle();
  const ids = await account.clipIds();
  expect(ids).toHaveLength(1);
  const sealed = await account.download(ids[0]);
  const byPhone = account.open(sealed, result.certificate, account.phones.get("phone-a")!);
  const byData = account.open(sealed, result.certificate, "data");
  expect(byPhone.frames.length).toBe(5);
  const digest = (f: Uint8Array) => toHex(board.platform.crypto.sha256(f));
  // The frames the camera read (the one past the clip length is read, then left out).
  expect(byPhone.frames.map(digest)).toEqual(board.camera.frameBytes.slice(0, 5).map(digest));
  expect(byData.frames.map(digest)).toEqual(byPhone.frames.map(digest));

  // The cloud's files hold no frame bytes, and the logs hold neither the label secret nor the psk.
  const clipFile = fs.readFileSync(path.join(dir, "clips", `${ids[0]}.sealed`));
  expect(clipFile.includes(Buffer.from(board.camera.frameBytes[0].subarray(200, 240)))).toBe(false);
  const logs = board.log.dump();
  expect(logs).not.toContain(secret);
  expect(logs).not.toContain(secret.split("-").join(""));
  expect(logs).not.toContain(toHex(deriveSetupKeys(board.platform.crypto, parseSetupSecret(secret)).psk));

  // The console shows status without secrets.
  board.console.type("status");
  await app.idle();
  const status = board.console.lines[board.console.lines.length - 1];
  expect(status).toMatch(/^status: state=running enrolled=yes camera=cam-[0-9a-f]{16} roster=1 recipients=2 queue=0 wifi=connected clips=1/);
});

test("frames that fill whole segments (the sealer borrows them) arrive intact", async () => {
  const board = makeBoard();
  // Records of exactly one segment (12-byte record header + 4084 bytes): the sealer keeps a view of the
  // caller's buffer until the next write, so the recorder must not wipe it early.
  let n = 0;
  board.camera.readFrame = async () => {
    const jpeg = new Uint8Array(4084).fill(0x30 + (n % 10));
    jpeg[0] = 0xff;
    jpeg[1] = 0xd8;
    board.camera.frameBytes.push(jpeg);
    return { jpeg, time: Date.now() + n++ };
  };
  const app = startCamera(board.platform, { ...FAST, maxFramesPerClip: 4, clipMs: 60_000 });
  cameras.push({ app, board });
  const setupUrl = await board.setupServer.ready();
  const result = await addCamera({
    setupUrl, secret: labelSecret(board), wifi: { ssid: "home", password: "home-wifi-pw" }, cloudUrl: cloud.url,
    signer: account.signer, roster: account.roster,
  });
  await until(() => app.state === "running" && board.log.count("cloud.registered") === 1, "registration");
  const known = await account.clipIds();
  board.camera.trigger("motion");
  await until(() => board.log.count("record.done") === 1, "a clip");
  await app.idle();
  const [id] = (await account.clipIds()).filter((c) => !known.includes(c));
  const opened = account.open(await account.download(id), result.certificate, account.phones.get("phone-a")!);
  expect(opened.frames.map((f) => toHex(f))).toEqual(board.camera.frameBytes.slice(0, 4).map((f) => toHex(f)));
});
