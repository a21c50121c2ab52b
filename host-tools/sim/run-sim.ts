/**
 * The main job (`sealcam sim`, `make sim`): the whole system on this host, end to end.
 *
 *   cloud server  ->  phone A enrolls (passphrase printed)  ->  camera boots in setup mode (firmware in XS)
 *   ->  phone A adds it over the authenticated setup channel  ->  camera joins Wi-Fi, registers; its synthetic
 *   camera films a room where someone walks through now and then: the firmware detects the motion and
 *   records clips (with pre-roll), seals them to the roster and uploads  ->  phone A opens them  ->  phone B is recovered from the
 *   passphrase and opens the same clips through the account data key  ->  after the first clip, phone A shares
 *   the camera (video + snapshots) with a viewer and grants the cloud its snapshots: the viewer opens exactly
 *   the later clips, the cloud's timeline shows exactly their snapshots  ->  report (who could open what), with
 *   a scan of the cloud's data folder for any plaintext JPEG.
 *
 * Every output lands in one folder (`outDir`); the report names it. Throws SimFailure (with the step that
 * failed) on any failure; `main` turns that into a non-zero exit.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fromBase64Url } from "../../firmware/core/bytes";
import { parseClipHead } from "../../firmware/core/clip/head";
import { startCloud, type CloudServer } from "../cloud/server";
import { addCamera } from "../phone/add-camera";
import { CloudClient } from "../phone/client";
import { Phone, type VerifiedClip } from "../phone/phone";
import { shareWithCloud, timeline } from "../phone/cloud-features";
import { createShare } from "../phone/share";
import { Viewer } from "../viewer/viewer";
import { toHex } from "../../firmware/core/bytes";
import { ALG_HPKE_P256_STREAM } from "../../firmware/core/clip/constants";
import { SealcamError } from "../../firmware/core/errors";
import { SimulatedBoard, type FirmwareRunner } from "../board-sim/simulator";
import type { LogRecord } from "../board-sim/services";

export interface SimOptions {
  outDir: string;
  clips: number;
  clipSeconds: number;
  fps: number;
  width: number;
  height: number;
  runner: () => FirmwareRunner;
  engineName: string;
  print: (line: string) => void;
}

export class SimFailure extends Error {
  constructor(readonly step: string, message: string) {
    super(`${step}: ${message}`);
    this.name = "SimFailure";
  }
}

export interface ClipResult {
  clipId: string;
  frames: number;
  plaintextBytes: number;
  sealedBytes: number;
  recipients: number;
  recipientKinds: string[];
  openedByA: string;
  openedByB: string;
}

export interface SimReport {
  outDir: string;
  /** What started the clips: always "motion" (the firmware's own detector on the synthetic scene). */
  recordedOn: string;
  /** The scene the camera filmed. */
  scene: string;
  motionEvents: number;
  timings: Record<string, number>;
  clips: ClipResult[];
  passphraseWords: number;
  cloudFilesScanned: number;
  cloudBytesScanned: number;
  plaintextFound: string[];
  /** Sharing (PROTOCOL §14): set when at least 2 clips were recorded (the share starts after clip 1). */
  sharing: SharingResult | null;
}

/** Who could open what: one row per clip, one cell per holder ("opened" or the refusal's code). */
export interface SharingResult {
  viewerFingerprint: string;
  viewerShareId: string;
  cloudShareId: string;
  /** The clip index (1-based) from which the share and the cloud's grant apply. */
  sharedFrom: number;
  rows: {
    clip: number;
    clipId: string;
    phoneA: string;
    phoneB: string;
    viewerVideo: string;
    viewerSnapshot: string;
    cloudSnapshot: string;
    /** Whether the clip's video head lists the cloud's key (it must never). */
    cloudVideo: string;
  }[];
}

const WIFI = { ssid: "sealcam-home", password: "correct-horse-wifi" };

function u8(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Rejects when the camera firmware dies on its own (not a power cut): every step then fails at once. */
let firmwareDied: Promise<never> = new Promise<never>(() => {});

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await Promise.race([run(), firmwareDied]);
  } catch (error) {
    if (error instanceof SimFailure) throw error;
    const e = error as { code?: string; message?: string };
    throw new SimFailure(name, `${e.code ? e.code + ": " : ""}${e.message ?? String(error)}`);
  }
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : entry.isFile() ? [full] : [];
  });
}

/** A JPEG start: SOI + APP0 "JFIF\0" (random ciphertext matches with odds of 2^-72 per offset), or SOI+APP0. */
function findJpegMarkers(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf(0xff); at >= 0 && at + 10 < data.length; at = data.indexOf(0xff, at + 1)) {
    if (data[at + 1] === 0xd8 && data[at + 2] === 0xff && data[at + 3] === 0xe0 && data.toString("latin1", at + 6, at + 11) === "JFIF\0") count++;
  }
  return count;
}

/**
 * Looks through every file under `root` for JPEG starts (SOI + APP0 "JFIF") and for a 64-byte window from the
 * middle of each frame's entropy-coded data. Returns what it found, named relative to `base`.
 */
export function scanForPlaintext(root: string, frames: Buffer[], base = root): { files: number; bytes: number; found: string[] } {
  const found: string[] = [];
  let bytes = 0;
  const files = listFiles(root);
  for (const file of files) {
    const data = fs.readFileSync(file);
    bytes += data.length;
    const markers = findJpegMarkers(data);
    if (markers > 0) found.push(`${path.relative(base, file)}: ${markers} JPEG start marker(s)`);
    for (const [n, frame] of frames.entries()) {
      const probe = frame.subarray(Math.floor(frame.length / 2), Math.floor(frame.length / 2) + 64);
      if (data.indexOf(probe) >= 0) found.push(`${path.relative(base, file)}: bytes of frame ${n + 1}`);
    }
  }
  return { files: files.length, bytes, found };
}

export async function runSim(options: SimOptions): Promise<SimReport> {
  const out = path.resolve(options.outDir);
  // Only a folder this job made before (it holds our marker), or an empty one, is emptied.
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !fs.existsSync(path.join(out, ".sealcam-sim"))) {
    throw new SimFailure("prepare the output folder", `${out} is not empty and was not made by sealcam sim; choose another --out`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, ".sealcam-sim"), "outputs of sealcam sim; emptied by the next run\n");
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const since = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
  const say = (line: string) => options.print(`[${since()}s] ${line}`);
  const mark = (name: string, start: number) => (timings[name] = Date.now() - start);

  let cloud: CloudServer | undefined;
  let board: SimulatedBoard | undefined;
  const cameraLog = fs.createWriteStream(path.join(out, "camera-uart.log"));
  try {
    // 1. The cloud.
    let start = Date.now();
    cloud = await step("start the cloud", () => startCloud({ dataDir: path.join(out, "cloud"), port: 0, host: "127.0.0.1" }));
    const cloudUrl = cloud.url;
    mark("cloud start", start);
    say(`cloud: listening on ${cloudUrl} (data in ${path.join(out, "cloud")})`);

    // 2. Phone A enrolls: E2EE on, passphrase shown once.
    start = Date.now();
    const credentials = { email: "alice@example.org", password: "alice-sign-in-password" };
    const phoneA = new Phone({ home: path.join(out, "phone-a"), cloud: cloudUrl });
    const enrolled = await step("enroll phone A", () => phoneA.enroll(credentials, "phone-a"));
    mark("phone A enroll", start);
    say(`phone A: enrolled ${credentials.email}; E2EE on (account ${enrolled.accountId})`);
    say(`phone A: passphrase (write it down): ${enrolled.passphrase}`);

    // 3. The camera: firmware in XS, unprovisioned -> setup mode.
    start = Date.now();
    board = new SimulatedBoard({
      dataDir: path.join(out, "camera"),
      runner: options.runner,
      firmwareConfig: {
        clipMs: Math.round(options.clipSeconds * 1000),
        sensor: { width: options.width, height: options.height, quality: 12, framesPerSecond: options.fps },
        uploadRetryMs: 500,
        uploadRetryMaxMs: 2000,
        // Recording on its own: motion in the scene, 1 s of pre-roll, 2 s of cooldown after each clip.
        motion: { enabled: true, preRollMs: 1000, cooldownMs: 2000 },
        // One preview snapshot per clip (FORMAT §3.1, PROTOCOL §14.14).
        snapshot: { enabled: true, width: 160, height: 120, quality: 20 },
      },
      scene: "still",
      network: { ssid: WIFI.ssid, password: WIFI.password, allowedOrigin: new URL(cloudUrl).origin },
    });
    const theBoard = board;
    theBoard.on("uart", (line: string) => cameraLog.write(line + "\n"));
    firmwareDied = new Promise<never>((_, reject) => {
      theBoard.once("crash", (reason: string) => reject(new Error(`the camera firmware stopped: ${reason}`)));
    });
    firmwareDied.catch(() => {});
    const setupStarted = theBoard.waitForLog("setup.start", 20000);
    await step("boot the camera", async () => {
      await theBoard.start();
      await setupStarted;
      const deadline = Date.now() + 10000;
      while (!theBoard.setupUrl && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (!theBoard.setupUrl) throw new Error("the setup API did not come up");
    });
    mark("camera boot to setup mode", start);
    say(`camera: booted in setup mode (${options.engineName}); soft AP ${theBoard.factory.ssid}, setup API ${theBoard.setupUrl}`);
    if (theBoard.uartPath) say(`camera: UART on ${theBoard.uartPath} (${theBoard.uart!.devicePath}); log in ${path.join(out, "camera-uart.log")}`);

    // 4. Phone A adds the camera over the setup channel.
    start = Date.now();
    const registered = theBoard.waitForLog("cloud.registered", 30000);
    const added = await step("add the camera from phone A", async () => {
      const signer = await phoneA.unlockSigningKey();
      const client = new CloudClient(cloudUrl, phoneA.state().token);
      const { roster } = await client.json<{ roster: string }>("GET", "/v1/e2ee/roster");
      try {
        return await addCamera({
          setupUrl: theBoard.setupUrl,
          secret: theBoard.factory.setupSecretText,
          wifi: WIFI,
          cloudUrl,
          signer,
          roster: fromBase64Url(roster),
          onProgress: (text) => say(`phone A: ${text}`),
        });
      } finally {
        signer.pkcs8.fill(0);
      }
    });
    await step("camera joins Wi-Fi and registers", () => registered);
    mark("add camera + register", start);
    say(`camera: joined "${WIFI.ssid}", certificate registered with the cloud (camera ${added.cameraId}, roster v${added.rosterVersion})`);

    // 5. Record clips on motion: someone walks through the room for 2 s, every clip length + 4 s (the clip, the
    // 2 s cooldown and a quiet gap); the firmware sees it in its own frames. No trigger is sent.
    start = Date.now();
    const period = options.clipSeconds + 4;
    const scene = `motion:${period}/2/1`;
    let shared: { viewer: Viewer; fingerprint: string; shareId: string; cloudShareId: string; cloudKeyId: string } | undefined;
    const outcomes: LogRecord[] = [];
    const starts: LogRecord[] = [];
    let motionEvents = 0;
    let notify: (() => void) | undefined;
    theBoard.on("log", (r: LogRecord) => {
      if (r.e === "motion.event") motionEvents++;
      if (r.e === "record.start") starts.push(r);
      if (r.e === "record.done" || r.e === "record.fail") {
        outcomes.push(r);
        notify?.();
      }
    });
    theBoard.setScene(scene);
    say(`camera: filming scene "${scene}" (a 2 s walk every ${period} s); recording on motion`);
    for (let i = 1; i <= options.clips; i++) {
      const record = await step(`record clip ${i} on motion`, async () => {
        const deadline = Date.now() + (period + options.clipSeconds) * 1000 + 30000;
        while (outcomes.length < i) {
          if (Date.now() > deadline) throw new Error(`no clip recorded within ${Math.round((deadline - start) / 1000)} s (motion events: ${motionEvents})`);
          await new Promise<void>((resolve) => {
            notify = resolve;
            setTimeout(resolve, 500);
          });
        }
        const r = outcomes[i - 1];
        if (r.e !== "record.done") throw new Error(`camera: ${r.m} ${JSON.stringify(r.f ?? {})}`);
        if (starts[i - 1]?.f?.reason !== "motion") throw new Error(`clip ${i} was started by ${String(starts[i - 1]?.f?.reason)}, not motion`);
        return { done: r, start: starts[i - 1] };
      });
      say(`camera: motion -> clip ${i}/${options.clips} sealed: ${record.done.f?.frames} frames (${record.start.f?.preRoll} of pre-roll), ${record.done.f?.sealedBytes} bytes (clip ${record.done.f?.clip}...)`);
      if (i === 1 && options.clips >= 2) {
        // The room goes quiet while phone A shares, so the next clip is sealed under the new roster.
        theBoard.setScene("still");
        shared = await step("share the camera with a viewer and the cloud", async () => {
          const viewer = new Viewer(path.join(out, "viewer"));
          const { invite, fingerprint } = viewer.init(cloudUrl);
          say(`viewer: identity made; invite fingerprint ${fingerprint}`);
          const share = await createShare(phoneA, { invite, cameras: [added.cameraId], streams: ["video", "snapshot"], notAfter: null });
          if (share.viewerFingerprint !== fingerprint) throw new Error("the fingerprint phone A saw is not the viewer's");
          say(`phone A: shared ${added.cameraId} (video + snapshots) with viewer ${fingerprint}: share ${share.shareId}, roster v${share.rosterVersion}`);
          const cloudShare = await shareWithCloud(phoneA, { cameras: [added.cameraId], streams: ["snapshot"], notAfter: null });
          say(`phone A: granted the cloud its snapshots only (share ${cloudShare.shareId}, roster v${cloudShare.rosterVersion})`);
          const answer = await theBoard.command("roster refresh");
          if (answer !== "roster: refreshed") throw new Error(`the camera answered "${answer}" to roster refresh`);
          say(`camera: roster v${cloudShare.rosterVersion} adopted; the next clips are wrapped to the viewer's and the cloud's keys`);
          return { viewer, fingerprint, shareId: share.shareId, cloudShareId: cloudShare.shareId, cloudKeyId: cloudShare.keyId };
        });
        theBoard.setScene(scene);
      }
    }
    theBoard.setScene("still");
    mark("record on motion + seal", start);

    // 6. Uploads land on the cloud.
    start = Date.now();
    const clips = await step("upload the clips", async () => {
      const deadline = Date.now() + 60000;
      for (;;) {
        const listed = (await phoneA.clips()).filter((c): c is VerifiedClip => c.verified && c.cameraId === added.cameraId);
        const complete = listed.filter((c) => c.complete);
        if (complete.length >= options.clips) return complete.sort((a, b) => a.startTime - b.startTime);
        if (Date.now() > deadline) throw new Error(`only ${complete.length} of ${options.clips} clips complete on the cloud after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    mark("upload", start);
    say(`cloud: ${clips.length} complete clips stored (${clips.reduce((n, c) => n + (c.size ?? 0), 0)} bytes of ciphertext)`);

    // 7. Phone A opens them.
    start = Date.now();
    const results: ClipResult[] = [];
    const client = new CloudClient(cloudUrl, phoneA.state().token);
    for (const [i, clip] of clips.entries()) {
      const sealed = await step(`download clip ${i + 1}`, () => client.bytes(`/v1/clips/${clip.clipId}`));
      fs.mkdirSync(path.join(out, "sealed"), { recursive: true });
      fs.writeFileSync(path.join(out, "sealed", `clip-${i + 1}-${clip.clipId}.sealed`), sealed);
      const head = parseClipHead(sealed);
      const dir = path.join(out, "phone-a", `clip-${i + 1}`);
      const opened = await step(`open clip ${i + 1} on phone A`, () => phoneA.open(clip.clipId, path.join(dir, "clip.frames"), dir));
      results.push({
        clipId: clip.clipId,
        frames: opened.frames,
        plaintextBytes: opened.bytes,
        sealedBytes: sealed.length,
        recipients: head.header.recipients.length,
        recipientKinds: head.header.recipients.map((r) => String(r.alg)),
        openedByA: dir,
        openedByB: "",
      });
      say(`phone A: opened clip ${i + 1}: ${opened.frames} frames -> ${dir}`);
    }
    mark("open on phone A", start);

    // 8. Phone B: recovered from the passphrase; opens the same clips through the account data key.
    start = Date.now();
    const phoneB = new Phone({ home: path.join(out, "phone-b"), cloud: cloudUrl });
    const recovered = await step("recover phone B from the passphrase", () => phoneB.recover(credentials, enrolled.passphrase, "phone-b"));
    say(`phone B: recovered from the passphrase (roster v${recovered.rosterVersion})`);
    for (const [i, result] of results.entries()) {
      const dir = path.join(out, "phone-b", `clip-${i + 1}`);
      const opened = await step(`open clip ${i + 1} on phone B`, () => phoneB.open(result.clipId, path.join(dir, "clip.frames"), dir));
      if (opened.bytes !== result.plaintextBytes || opened.frames !== result.frames) {
        throw new SimFailure(`open clip ${i + 1} on phone B`, "phone B decrypted something different from phone A");
      }
      const a = fs.readFileSync(path.join(result.openedByA, "clip.frames"));
      const b = fs.readFileSync(path.join(dir, "clip.frames"));
      if (!a.equals(b)) throw new SimFailure(`open clip ${i + 1} on phone B`, "phone B's plaintext differs from phone A's");
      result.openedByB = dir;
      say(`phone B: opened clip ${i + 1} with the account data key: ${opened.frames} frames -> ${dir}`);
    }
    mark("recover B + open", start);

    // 9. Sharing: the viewer opens exactly the clips after the share; the cloud's timeline has exactly their
    // snapshots; no clip's video is wrapped to the cloud's key.
    let sharing: SharingResult | null = null;
    if (shared) {
      start = Date.now();
      const { viewer } = shared;
      sharing = await step("the viewer and the cloud's timeline", async () => {
        const accepted = await viewer.accept();
        if (accepted.accepted.length !== 1 || accepted.refused.length > 0) throw new Error(`the viewer accepted ${accepted.accepted.length} share(s), refused ${accepted.refused.length}`);
        say(`viewer: accepted share ${shared!.shareId}; pinned account root ${accepted.rootFingerprint}`);
        const listed = await viewer.clips();
        const { events } = await timeline(phoneA);
        const rows: SharingResult["rows"] = [];
        fs.mkdirSync(path.join(out, "timeline"), { recursive: true });
        const code = (error: unknown) => (error instanceof SealcamError ? error.code : String(error));
        for (const [i, result] of results.entries()) {
          const dir = path.join(out, "viewer", `clip-${i + 1}`);
          let viewerVideo = "opened";
          try {
            const opened = await viewer.open(result.clipId, path.join(dir, "clip.frames"), dir);
            const a = fs.readFileSync(path.join(result.openedByA, "clip.frames"));
            if (!a.equals(fs.readFileSync(path.join(dir, "clip.frames")))) throw new Error(`the viewer's clip ${i + 1} differs from phone A's`);
            if (opened.frames !== result.frames) throw new Error(`the viewer opened ${opened.frames} frames of clip ${i + 1}, phone A ${result.frames}`);
          } catch (error) {
            if (!(error instanceof SealcamError)) throw error;
            viewerVideo = code(error);
          }
          const clip = listed.clips.find((c) => c.clipId === result.clipId);
          let viewerSnapshot = clip?.snapshot ? "opened" : "not listed";
          if (clip?.snapshot) {
            try {
              await viewer.open(clip.snapshot.snapshotId, path.join(dir, "snapshot.jpg"));
            } catch (error) {
              if (!(error instanceof SealcamError)) throw error;
              viewerSnapshot = code(error);
            }
          }
          const event = events.find((e) => e.clipId === result.clipId);
          let cloudSnapshot = event ? (event.image ? "opened" : (event.reason ?? "no image")) : "no event";
          if (event?.image) {
            const jpeg = Buffer.from(event.image.base64, "base64");
            if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) cloudSnapshot = "not a JPEG";
            else fs.writeFileSync(path.join(out, "timeline", `clip-${i + 1}.jpg`), jpeg, { flag: "w" });
          }
          const sealed = fs.readFileSync(path.join(out, "sealed", `clip-${i + 1}-${result.clipId}.sealed`));
          const head = parseClipHead(u8(sealed));
          const wrappedToCloud = head.header.recipients.some((r) => r.alg === ALG_HPKE_P256_STREAM && toHex(r.kid) === shared!.cloudKeyId);
          rows.push({ clip: i + 1, clipId: result.clipId, phoneA: "opened", phoneB: "opened", viewerVideo, viewerSnapshot, cloudSnapshot, cloudVideo: wrappedToCloud ? "WRAPPED" : "not a recipient" });
        }
        return { viewerFingerprint: shared!.fingerprint, viewerShareId: shared!.shareId, cloudShareId: shared!.cloudShareId, sharedFrom: 2, rows };
      });
      for (const row of sharing.rows) {
        const expected = row.clip >= sharing.sharedFrom ? "opened" : undefined;
        const fine = (cell: string) => (expected ? cell === expected : cell !== "opened");
        if (!fine(row.viewerVideo) || !fine(row.viewerSnapshot) || !fine(row.cloudSnapshot) || row.cloudVideo !== "not a recipient") {
          throw new SimFailure("the viewer and the cloud's timeline", `clip ${row.clip}: viewer video ${row.viewerVideo}, viewer snapshot ${row.viewerSnapshot}, cloud snapshot ${row.cloudSnapshot}, cloud video ${row.cloudVideo} (expected ${expected ? "opened from clip " + sharing.sharedFrom : "refused before the share"})`);
        }
        say(`viewer: clip ${row.clip} video ${row.viewerVideo}, snapshot ${row.viewerSnapshot}; cloud: snapshot ${row.cloudSnapshot}, video ${row.cloudVideo}`);
      }
      mark("sharing", start);
    }

    // 9. The cloud holds only ciphertext: no frame, no JPEG marker anywhere in its data folder.
    start = Date.now();
    const frames: Buffer[] = [];
    for (const result of results) {
      for (const file of fs.readdirSync(result.openedByA).filter((f) => f.endsWith(".jpg"))) {
        frames.push(fs.readFileSync(path.join(result.openedByA, file)));
      }
    }
    if (frames.length === 0) throw new SimFailure("check the cloud", "no decrypted frames to look for");
    const scan = scanForPlaintext(path.join(out, "cloud"), frames, out);
    mark("ciphertext scan", start);
    const report: SimReport = {
      outDir: out,
      recordedOn: "motion",
      scene,
      motionEvents,
      timings,
      clips: results,
      passphraseWords: enrolled.passphrase.trim().split(/\s+/).length,
      cloudFilesScanned: scan.files,
      cloudBytesScanned: scan.bytes,
      plaintextFound: scan.found,
      sharing,
    };
    fs.writeFileSync(path.join(out, "report.json"), JSON.stringify(report, null, 2) + "\n");
    for (const line of formatReport(report, frames.length)) options.print(line);
    if (scan.found.length > 0) throw new SimFailure("check the cloud", `plaintext found in the cloud's data: ${scan.found.join("; ")}`);
    return report;
  } finally {
    firmwareDied = new Promise<never>(() => {});
    await board?.stop().catch(() => undefined);
    await cloud?.close().catch(() => undefined);
    cameraLog.end();
  }
}

export function formatReport(report: SimReport, framesChecked: number): string[] {
  const lines: string[] = [];
  const total = (f: (c: ClipResult) => number) => report.clips.reduce((n, c) => n + f(c), 0);
  lines.push("", "sealcam sim report");
  lines.push(`  outputs         ${report.outDir}`);
  lines.push("  timings (ms)    " + Object.entries(report.timings).map(([k, v]) => `${k} ${v}`).join(", "));
  lines.push(`  recording       on motion (scene ${report.scene}, ${report.motionEvents} motion events)`);
  lines.push(`  clips           ${report.clips.length}: ${total((c) => c.frames)} frames, ${total((c) => c.plaintextBytes)} plaintext bytes sealed into ${total((c) => c.sealedBytes)} bytes`);
  for (const [i, c] of report.clips.entries()) {
    lines.push(`    clip ${i + 1} ${c.clipId}: ${c.frames} frames, ${c.plaintextBytes} -> ${c.sealedBytes} bytes, ${c.recipients} recipients (${c.recipientKinds.join(", ")})`);
  }
  lines.push(`  phone A frames  ${report.clips.map((c) => c.openedByA).join(" ")}`);
  lines.push(`  phone B frames  ${report.clips.map((c) => c.openedByB).join(" ")}`);
  if (report.sharing) {
    const sh = report.sharing;
    lines.push(`  sharing         viewer ${sh.viewerFingerprint} (share ${sh.viewerShareId}: video + snapshots from clip ${sh.sharedFrom}); cloud grant ${sh.cloudShareId} (snapshots only)`);
    lines.push("  who opened what clip  phone A  phone B  viewer video     viewer snapshot  cloud snapshot   cloud video");
    for (const r of sh.rows) {
      lines.push(`    ${String(r.clip).padEnd(19)} ${r.phoneA.padEnd(8)} ${r.phoneB.padEnd(8)} ${r.viewerVideo.padEnd(16)} ${r.viewerSnapshot.padEnd(16)} ${r.cloudSnapshot.padEnd(16)} ${r.cloudVideo}`);
    }
    lines.push(`  timeline        ${path.join(report.outDir, "timeline")} (the snapshots the cloud decrypted, as it served them)`);
  }
  lines.push(
    `  cloud check     ${report.cloudFilesScanned} files, ${report.cloudBytesScanned} bytes scanned for ${framesChecked} frames and JPEG/JFIF markers: ` +
      (report.plaintextFound.length === 0 ? "ciphertext only" : `PLAINTEXT FOUND (${report.plaintextFound.length})`),
  );
  lines.push(`  report          ${path.join(report.outDir, "report.json")}`);
  return lines;
}
