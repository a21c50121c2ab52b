/**
 * The real phone (issue 3's Phone, enrolled with a passphrase backup) adds the camera through the CLI command
 * `sealcam phone add-camera`, then opens the camera's clip with `Phone.open`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { Phone } from "../../host-tools/phone/phone";
import { startCamera, type CameraApp } from "../../firmware/camera";
import { makeBoard, until, type TestBoard } from "./harness";

let dir: string;
let cloud: CloudServer;
let app: CameraApp | undefined;
let board: TestBoard | undefined;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-phonecli-"));
  cloud = await startCloud({ dataDir: path.join(dir, "cloud"), port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  app?.stop();
  board?.setupServer.close();
  board?.clock.clearAll();
  await cloud.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("sealcam phone add-camera enrolls the camera; the phone opens its clip", async () => {
  const home = path.join(dir, "phone-a");
  const phone = new Phone({ home, cloud: cloud.url });
  await phone.enroll({ email: "owner@example.org", password: "correct horse battery" }, "phone-a");

  board = makeBoard();
  app = startCamera(board.platform, { clipMs: 600, sensor: { width: 64, height: 48, quality: 20, framesPerSecond: 5 }, segmentSize: 4096 });
  const setupUrl = await board.setupServer.ready();
  const secret = board.console.lines.find((l) => l.startsWith("setup: label secret "))!.slice("setup: label secret ".length);

  const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const write = process.stdout.write;
    const ewrite = process.stderr.write;
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      return { code: await phoneMain(["add-camera", "--home", home, "--cloud", cloud.url, "--setup-url", setupUrl, "--wifi-ssid", "home", ...args]), stdout: out.join(""), stderr: err.join("") };
    } finally {
      process.stdout.write = write;
      process.stderr.write = ewrite;
    }
  };
  // Secrets on the command line (visible in ps) are refused before anything happens, naming the safe ways.
  const refusedSecret = await run(["--secret", secret, "--wifi-password-file", "/dev/null"]);
  expect(refusedSecret.code).toBe(2);
  expect(refusedSecret.stderr).toContain("--secret is not accepted");
  expect(refusedSecret.stderr).toContain("--secret-file");
  expect(refusedSecret.stderr).toContain("SEALCAM_SETUP_SECRET");
  expect(refusedSecret.stderr).not.toContain(secret);
  const refusedWifi = await run(["--wifi-password", "home-wifi-pw"]);
  expect(refusedWifi.code).toBe(2);
  expect(refusedWifi.stderr).toContain("--wifi-password-file");
  expect(refusedWifi.stderr).toContain("SEALCAM_WIFI_PASSWORD");
  expect(board.console.lines.filter((l) => l.includes("enrolled"))).toEqual([]);

  // The label file as the board simulator writes it ("secret: ..." line), the Wi-Fi password from the environment.
  const labelFile = path.join(dir, "label.txt");
  fs.writeFileSync(labelFile, `sealcam camera sealcam-test\nsecret: ${secret}\nqr: SEALCAM:1:sealcam-test:x\n`, { mode: 0o600 });
  process.env.SEALCAM_WIFI_PASSWORD = "home-wifi-pw";
  let result: Awaited<ReturnType<typeof run>>;
  try {
    result = await run(["--secret-file", labelFile]);
  } finally {
    delete process.env.SEALCAM_WIFI_PASSWORD;
  }
  const code = result.code;
  const lines = [result.stdout];
  expect(result.stderr).toBe("");
  expect(code).toBe(0);
  expect(lines.join("")).toMatch(/Camera cam-[0-9a-f]{16} is enrolled \(roster version 1\)/);
  expect(lines.join("")).not.toContain(secret);

  await until(() => app!.state === "running" && board!.log.count("cloud.registered") === 1, "registered");
  board.camera.trigger("motion");
  await until(() => board!.log.count("record.done") === 1, "clip");
  await app.idle();
  const clips = await phone.clips();
  expect(clips.filter((c) => c.verified && c.complete)).toHaveLength(1);
  const framesDir = path.join(dir, "frames");
  const opened = await phone.open(clips[0].clipId, path.join(dir, "clip.bin"), framesDir);
  expect(opened.frames).toBe(3);
  expect(opened.cameraId).toBe(app.status().camera);
  const first = fs.readFileSync(path.join(framesDir, fs.readdirSync(framesDir).sort()[0]));
  expect(Buffer.compare(first, Buffer.from(board.camera.frameBytes[0]))).toBe(0);
});
