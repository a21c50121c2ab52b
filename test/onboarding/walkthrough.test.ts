/**
 * The README's onboarding, walked as a user would with the real `sealcam` CLI, on the board simulator, using
 * only the camera's label text:
 *
 *   - the cloud listens on 127.0.0.1:P (the address the phone uses) and announces http://localhost:P to
 *     cameras (`cloud serve --public-url`): two different strings for the same server, so the test can tell
 *     which one the camera was given. The board's network reaches only http://localhost:P (`board-sim
 *     --cloud`), and its stored cloud URL is read from its NVS file at the end;
 *   - a phone enrolls; a board-sim camera boots and prints its label on the console (`setup: qr SEALCAM:1:...`);
 *   - mistakes first: a mistyped label fails at the Wi-Fi join (its WPA2 password is derived from the secret);
 *     a wrong secret sent to the camera's setup API is refused with the attempts that remain; after the fifth,
 *     setup mode ends and the phone says so and what to do; a loopback cloud for a camera elsewhere is refused;
 *   - the camera is power-cycled (`cut`), and `phone add-camera --label-file F --join` joins its access point
 *     by SSID and derived password on the simulated air, finds the setup address, adds the camera; the camera
 *     records and uploads to the announced URL; the phone lists the clip, verified.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findSetupLabel, parseSetupLabel } from "../../firmware/core/setup-channel";
import { NvsFile } from "../../host-tools/board-sim/nvs-file";
import { bundleCli, Daemon, freePort, runCli, writePrivate } from "./cli-harness";

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-onboard-"));
const air = path.join(tmp, "air");
let cli: string;
let cloud: Daemon | undefined;
let camera: Daemon | undefined;

afterAll(async () => {
  await camera?.stop();
  await cloud?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("onboarding from the label text: join by SSID + derived password, setup address from the join, camera uploads to the announced public URL", async () => {
  cli = await bundleCli("onboarding");
  const env = { PATH: "/usr/bin:/bin", HOME: tmp, SEALCAM_SIM_AIR: air, NO_COLOR: "1" };
  const port = await freePort();
  const phoneCloud = `http://127.0.0.1:${port}`;
  const publicUrl = `http://localhost:${port}`;

  // 1. The cloud, announcing a camera-facing URL that differs from the phone's.
  cloud = new Daemon(cli, ["cloud", "serve", "--port", String(port), "--data", path.join(tmp, "cloud"), "--public-url", publicUrl], env);
  await cloud.waitFor(/cameras told http:\/\/localhost:\d+/);

  // 2. A phone enrolls (README: SEALCAM_LOGIN_PASSWORD, then phone enroll).
  const home = path.join(tmp, "phone");
  const phoneEnv = { ...env, SEALCAM_LOGIN_PASSWORD: "walkthrough sign-in" };
  const enroll = await runCli(cli, ["phone", "enroll", "--home", home, "--cloud", phoneCloud, "--email", "me@example.org", "--name", "pixel"], phoneEnv);
  expect(enroll.stderr).toBe("");
  expect(enroll.code).toBe(0);

  // 3. The camera boots in setup mode; its console shows the label.
  const camDir = path.join(tmp, "cam");
  camera = new Daemon(cli, [
    "board-sim", "--data", camDir, "--cloud", publicUrl, "--no-motion", "--clip-seconds", "1", "--fps", "5",
    "--width", "160", "--height", "120", "--wifi-ssid", "home",
  ], { ...env, SEALCAM_WIFI_PASSWORD: "home-wifi-password" });
  const qr = await camera.waitFor(/uart> setup: qr (\S+)/);
  const setupApi = (await camera.waitFor(/setup API for sealcam-[0-9A-F]{4} at (http:\/\/127\.0\.0\.1:\d+)/))[1];
  const labelText = findSetupLabel(qr[1])!;
  expect(labelText).toBe(qr[1]);
  const label = parseSetupLabel(labelText);
  expect(label.ssid).toMatch(/^sealcam-[0-9A-F]{4}$/);
  // The factory label file says the same, and says to keep it private.
  const labelTxt = fs.readFileSync(path.join(camDir, "label.txt"), "utf8");
  expect(findSetupLabel(labelTxt)).toBe(labelText);
  expect(labelTxt).toMatch(/keep private/);
  // The console line after the QR payload (it may arrive in a later read of the UART).
  await camera.waitFor(/uart> setup: the label gives the Wi-Fi password and the setup key: keep it private/);
  // The user copies the label line into a file (owner-only): that is all the phone gets.
  const labelFile = writePrivate(path.join(tmp, "label"), labelText + "\n");
  const addEnv = { ...env, SEALCAM_WIFI_PASSWORD: "home-wifi-password" };
  const add = (extra: string[], file = labelFile) =>
    runCli(cli, ["phone", "add-camera", "--home", home, "--cloud", phoneCloud, "--label-file", file, "--wifi-ssid", "home", ...extra], addEnv);

  // 4a. A mistyped label (one secret character off): its WPA2 password is wrong, so the join fails.
  const secretPart = labelText.split(":")[3];
  const typo = secretPart[5] === "7" ? "8" : "7";
  const mistyped = writePrivate(path.join(tmp, "label-typo"), `SEALCAM:1:${label.ssid}:${secretPart.slice(0, 5)}${typo}${secretPart.slice(6)}\n`);
  const wrongJoin = await add(["--join"], mistyped);
  expect(wrongJoin.code).toBe(1);
  expect(wrongJoin.stdout).toContain(`camera access point: ${label.ssid}`);
  expect(wrongJoin.stderr).toContain(`cannot join Wi-Fi "${label.ssid}": wrong password`);

  // 4b. A loopback cloud for a camera on another machine is refused before anything is sent.
  const remote = await add(["--setup-url", "http://192.0.2.1"]);
  expect(remote.code).toBe(2); // E_ARGUMENT: a usage error (docs/CLI.md, exit codes)
  expect(remote.stderr).toContain(`the cloud's address for cameras is ${publicUrl}, a loopback address`);
  expect(remote.stderr).toContain("--public-url");

  // 4c. Already on the access point, a wrong secret reaches the camera: refused, with the attempts left.
  for (const left of [4, 3, 2, 1]) {
    const wrong = await add(["--setup-url", setupApi], mistyped);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("the camera refused the label secret");
    expect(wrong.stderr).toContain(`${left} attempt${left === 1 ? "" : "s"} left before setup mode ends`);
  }
  const last = await add(["--setup-url", setupApi], mistyped);
  expect(last.stderr).toContain("too many failed attempts, setup mode has ended");
  await camera.waitFor(/uart> setup: ended \(too-many-failures\)/);

  // 4d. Setup mode is over: the right label now finds no access point, or (already "joined") a closed port;
  // both say what happened and what to do.
  const gone = await add(["--join"]);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain(`cannot join Wi-Fi "${label.ssid}": no such network in range`);
  const refused = await add(["--setup-url", setupApi]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("connection refused");
  for (const text of [gone.stderr, refused.stderr]) {
    expect(text).toContain("Setup mode ends after 5 wrong label secrets");
    expect(text).toContain("power-cycle the camera");
  }

  // 5. Power-cycle the camera: setup mode again. Then the README's command, with only the label file.
  const mark = camera.output.length;
  camera.send("cut");
  await camera.waitFor(/uart> setup: qr /, 30_000, mark);
  const ok = await add(["--join"]);
  expect(ok.stderr).toBe("");
  expect(ok.code).toBe(0);
  const out = ok.stdout;
  expect(out).toContain(`camera access point: ${label.ssid}`);
  expect(out).toMatch(/its Wi-Fi password: {2}[A-Za-z0-9_-]{24} {3}\(WPA2, derived from the label secret\)/);
  expect(out).toMatch(new RegExp(`joined Wi-Fi "${label.ssid}" \\(simulated access point, airspace .*\\); camera at http://127\\.0\\.0\\.1:\\d+`));
  expect(out).toContain(`cloud address for the camera: ${publicUrl} (announced by the cloud)`);
  expect(out).toMatch(/Camera cam-[0-9a-f]{16} is enrolled \(roster version 1\); it now joins "home" and uploads to http:\/\/localhost:\d+\./);
  expect(out + ok.stderr).not.toContain(secretPart);

  // 6. The camera registers and uploads a clip (its network reaches only the announced URL).
  await camera.waitFor(/"e":"cloud\.registered"/, 30_000, mark);
  const beforeClip = camera.output.length;
  camera.send("trigger");
  await camera.waitFor(/"e":"upload\.sent"[^\n]*"final":true|"e":"record\.done"/, 30_000, beforeClip);
  let clips: { verified: boolean }[] = [];
  for (let i = 0; i < 60 && clips.length === 0; i++) {
    const listed = await runCli(cli, ["phone", "clips", "--json", "--home", home, "--cloud", phoneCloud], env);
    expect(listed.code).toBe(0);
    clips = (JSON.parse(listed.stdout) as { verified: boolean; uploadComplete?: boolean }[]).filter((c) => c.verified && c.uploadComplete);
    if (clips.length === 0) await new Promise((r) => setTimeout(r, 500));
  }
  expect(clips.length).toBeGreaterThanOrEqual(1);

  // 7. What the camera stored is the announced URL, not the phone's.
  await camera.stop(); // (whether board-sim exits 0 on SIGTERM is the CLI conformance tests' business)
  camera = undefined;
  const nvs = new NvsFile(camDir);
  try {
    expect(Buffer.from(nvs.get("p.cloud")!).toString("utf8")).toBe(publicUrl);
  } finally {
    nvs.close();
  }
  // The access point went down with setup mode: nothing left on the air.
  expect(fs.readdirSync(air).filter((f) => f.endsWith(".json"))).toEqual([]);
});
