/**
 * Snapshots and the cloud as an opt-in snapshot holder (FORMAT §3.1, PROTOCOL §14.14), with the camera firmware
 * in XS on the board simulator:
 *  - each clip yields a snapshot object whose SIGNED header links it (`of`) to the clip; the phone pairs them from
 *    verified heads and opens the snapshot: a JPEG (SOI..EOI) smaller than the clip's frames;
 *  - a `video`-only share holder cannot open the snapshot (E_NO_RECIPIENT), a `snapshot` holder can;
 *  - the cloud without a grant lists events without images and says why; `share --to cloud --stream video` is
 *    refused and changes nothing; after the snapshot-only grant the timeline has images for later clips, the cloud
 *    trying the clip's VIDEO with its key gets E_NO_RECIPIENT; a subscribed phone gets a preview alert carrying
 *    the snapshot; after `revoke cloud` the next snapshot is not the cloud's.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBase64Url, fromHex, toBase64Url, toHex } from "../../firmware/core/bytes";
import { openClip, streamKeyUnwrapper } from "../../firmware/core/clip";
import { FrameReader } from "../../firmware/core/clip/frames";
import { parseClipHead } from "../../firmware/core/clip/head";
import { openShareEnvelope, parseShareEnvelope } from "../../firmware/core/share-envelope";
import { parseCertificate } from "../../firmware/core/x509";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { loadCloudKey } from "../../host-tools/cloud/cloud-key";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { cloudInvite, followAlerts, shareWithCloud, timeline, type TimelineEvent } from "../../host-tools/phone/cloud-features";
import { CloudClient } from "../../host-tools/phone/client";
import type { VerifiedClip } from "../../host-tools/phone/phone";
import { createShare, listShares, revokeShare } from "../../host-tools/phone/share";
import { cameraIdentity } from "../../host-tools/phone/verify-head";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { Viewer } from "../../host-tools/viewer/viewer";
import { World } from "../board-sim/harness";
import { clipRecorder } from "../helpers/next-clip";
import { runCli } from "../helpers/run-cli";
import { spkiFromP256 } from "../../firmware/core/keys";
import { parseRosterUnverified } from "../../firmware/core/roster";
import { sealShareEnvelope } from "../../firmware/core/share-envelope";
import type { StreamScope } from "../../firmware/core/stream-scope";
import { issueStreamCertificate, signPss } from "../../host-tools/phone/certs";
import { signRoster } from "../../host-tools/phone/phone";

const crypto = new NodeCrypto();
const world = new World();
let cam: SimulatedBoard;
let camId = "";
let tmp: string;

/** Width and height from a baseline/progressive JPEG's SOF marker. */
function jpegSize(jpeg: Uint8Array): { width: number; height: number } {
  let i = 2;
  while (i + 9 < jpeg.length) {
    if (jpeg[i] !== 0xff) throw new Error("not a JPEG marker");
    const marker = jpeg[i + 1];
    const length = (jpeg[i + 2] << 8) | jpeg[i + 3];
    if (marker >= 0xc0 && marker <= 0xc2) return { height: (jpeg[i + 5] << 8) | jpeg[i + 6], width: (jpeg[i + 7] << 8) | jpeg[i + 8] };
    i += 2 + length;
  }
  throw new Error("no SOF marker");
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 4 && b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
}

/** Runs `sealcam phone ARGV` in this process; stdout and stderr captured. */
function runPhone(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return runCli(phoneMain, [...argv, "--home", world.phoneA.home, "--cloud", world.cloudUrl]);
}

/** Records one clip; returns it as the phone lists it (verified, with its paired snapshot). */
const recordClip = clipRecorder(world);
function nextClip(): Promise<VerifiedClip> {
  return recordClip(cam, camId);
}

/** The timeline event for `clipId` (the snapshot's signed `of`, or the clip itself). */
async function eventFor(clipId: string): Promise<TimelineEvent> {
  const t = await timeline(world.phoneA);
  const e = t.events.find((x) => x.clipId === clipId);
  if (!e) throw new Error(`no timeline event for ${clipId}`);
  return e;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-snap-"));
  await world.start();
  cam = await world.board("cam-snap", {
    firmwareConfig: {
      clipMs: 600,
      sensor: { width: 320, height: 240, quality: 20, framesPerSecond: 5 },
      snapshot: { enabled: true, width: 160, height: 120, quality: 25 },
      uploadRetryMs: 200,
      uploadRetryMaxMs: 500,
      handshakeTimeoutMs: 5000,
    },
  });
  camId = (await world.enrolled(cam)).cameraId;
}, 60000);
afterAll(async () => {
  await world.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a clip yields a snapshot linked in its signed header; phones open it; video-only holders cannot, snapshot holders can", async () => {
  const videoViewer = new Viewer(path.join(tmp, "video-viewer"));
  const snapViewer = new Viewer(path.join(tmp, "snap-viewer"));
  const videoShare = await createShare(world.phoneA, { invite: videoViewer.init(world.cloudUrl).invite, cameras: [camId], streams: ["video"], notAfter: null });
  const snapShare = await createShare(world.phoneA, { invite: snapViewer.init(world.cloudUrl).invite, cameras: [camId], streams: ["snapshot"], notAfter: null });
  expect(await cam.command("roster refresh")).toBe("roster: refreshed");
  expect((await videoViewer.accept()).accepted.map((s) => s.shareId)).toEqual([videoShare.shareId]);
  expect((await snapViewer.accept()).accepted.map((s) => s.shareId)).toEqual([snapShare.shareId]);

  const clip = await nextClip();
  // Paired from verified heads: the snapshot's signed `of` is this clip, same camera.
  expect(clip.snapshot).toBeDefined();
  const snapshotId = clip.snapshot!.snapshotId;
  const listing = await world.phoneA.listing();
  expect(listing.clips.some((c) => c.clipId === snapshotId)).toBe(false); // a snapshot is not a clip
  const snap = listing.snapshots.find((s) => s.clipId === snapshotId)!;
  expect(snap).toMatchObject({ verified: true, cameraId: camId, contentType: "image/jpeg", snapshotOf: clip.clipId });
  const head = parseClipHead(await new CloudClient(world.cloudUrl, world.phoneA.state().token).bytes(`/v1/clips/${snapshotId}/head`));
  expect(toHex(head.header.snapshotOf!)).toBe(clip.clipId);
  // Uploaded before its clip, so the phone sees it once the clip is there; its capture time is the trigger's.
  expect(snap.complete).toBe(true);

  // The phone opens it: a JPEG, smaller than the clip's frames.
  const jpegFile = path.join(tmp, "snap.jpg");
  const opened = await world.phoneA.open(snapshotId, jpegFile);
  expect(opened.snapshotOf).toBe(clip.clipId);
  const jpeg = new Uint8Array(fs.readFileSync(jpegFile));
  expect(isJpeg(jpeg)).toBe(true);
  const framesPlain = path.join(tmp, "clip.plain");
  await world.phoneA.open(clip.clipId, framesPlain);
  const frames = [...new FrameReader().push(new Uint8Array(fs.readFileSync(framesPlain)))];
  expect(frames.length).toBeGreaterThan(0);
  const frameSize = jpegSize(frames[0].jpeg);
  const snapSize = jpegSize(jpeg);
  expect(frameSize).toEqual({ width: 320, height: 240 });
  expect(snapSize).toEqual({ width: 160, height: 120 });
  expect(jpeg.length).toBeLessThan(frames[0].jpeg.length);

  // The holders: video-only cannot open the snapshot, snapshot-only can (and gets the same bytes), and not the video.
  await expect(videoViewer.open(snapshotId, path.join(tmp, "x.jpg"))).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  expect(fs.existsSync(path.join(tmp, "x.jpg"))).toBe(false);
  expect((await videoViewer.open(clip.clipId, path.join(tmp, "v.plain"))).bytes).toBeGreaterThan(0);
  const viaViewer = path.join(tmp, "viewer-snap.jpg");
  expect((await snapViewer.open(snapshotId, viaViewer)).shareId).toBe(snapShare.shareId);
  expect(Buffer.compare(fs.readFileSync(viaViewer), Buffer.from(jpeg))).toBe(0);
  await expect(snapViewer.open(clip.clipId, path.join(tmp, "y.plain"))).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  const snapList = await snapViewer.clips();
  expect(snapList.clips).toEqual([]);
  expect(snapList.snapshots.map((s) => [s.clipId, s.snapshotOf])).toEqual([[snapshotId, clip.clipId]]);
  const videoList = await videoViewer.clips();
  expect(videoList.clips.map((c) => c.clipId)).toEqual([clip.clipId]);
  expect(videoList.clips[0].snapshot).toBeUndefined(); // the video holder sees no snapshot

  // The phone CLI lists the clip with its snapshot (--json gains `snapshot`).
  const listed = await runPhone(["clips", "--json"]);
  expect(listed.code).toBe(0);
  const json = JSON.parse(listed.out) as { clipId: string; snapshot: { snapshotId: string; verifiedLink: boolean } | null }[];
  expect(json.find((c) => c.clipId === clip.clipId)!.snapshot).toMatchObject({ snapshotId, verifiedLink: true });

  await revokeShare(world.phoneA, videoShare.shareId);
  await revokeShare(world.phoneA, snapShare.shareId);
  expect(await cam.command("roster refresh")).toBe("roster: refreshed");
}, 120000);

test("the cloud: no grant, no image; video refused; snapshot grant opens later snapshots only; alerts; revoke stops it", async () => {
  // Without a grant: the event is listed, without an image, and says why.
  const before = await nextClip();
  const none = await eventFor(before.clipId);
  expect(none).toMatchObject({ cameraId: camId, snapshotId: before.snapshot!.snapshotId, image: null, reason: "no-grant" });

  // --to cloud with the video stream is refused, by the library and the CLI, and nothing changes.
  const rosterBefore = (await listShares(world.phoneA)).length;
  const version = world.phoneA.state().rosterVersion;
  await expect(shareWithCloud(world.phoneA, { cameras: [camId], streams: ["video"], notAfter: null })).rejects.toMatchObject({ code: "E_ARGUMENT" });
  await expect(shareWithCloud(world.phoneA, { cameras: [camId], streams: ["snapshot", "video"], notAfter: null })).rejects.toMatchObject({ code: "E_ARGUMENT" });
  const refused = await runPhone(["share", "--to", "cloud", "--stream", "video", "--yes"]);
  expect(refused.code).not.toBe(0);
  expect(refused.err).toMatch(/^sealcam phone: .*snapshot.*\[E_ARGUMENT\]/);
  expect((await listShares(world.phoneA)).length).toBe(rosterBefore);
  expect(world.phoneA.state().rosterVersion).toBe(version);

  // The grant: the cloud's invite (fingerprint from its key file), a snapshot-only key through the mailbox.
  const invite = await cloudInvite(world.phoneA);
  const cloudKeyFile = path.join(world.dir, "cloud", "cloud-key.json");
  expect(fs.statSync(cloudKeyFile).mode & 0o777).toBe(0o600);
  const cloudKey = loadCloudKey(crypto, path.join(world.dir, "cloud"));
  expect(invite.fingerprint).toBe(cloudKey.fingerprint);
  const grant = await shareWithCloud(world.phoneA, { cameras: [camId], streams: ["snapshot"], notAfter: null, invite });
  expect(grant.shareId).toMatch(/^cloud-[0-9a-f]{12}$/);
  expect((await listShares(world.phoneA)).find((s) => s.holder === "cloud")!.scope.streams).toEqual(["snapshot"]);
  expect(await cam.command("roster refresh")).toBe("roster: refreshed");

  // A preview alert: subscribed before the clip, it arrives with the decrypted snapshot.
  const alerts: TimelineEvent[] = [];
  const sub = followAlerts(world.phoneA, (e) => alerts.push(e), { count: 1 });
  await sub.ready;
  const granted = await nextClip();
  expect(await sub.done).toBe(1);
  expect(alerts[0]).toMatchObject({ clipId: granted.clipId, snapshotId: granted.snapshot!.snapshotId, reason: null, cameraId: camId });
  const alertJpeg = new Uint8Array(Buffer.from(alerts[0].image!.base64, "base64"));
  expect(isJpeg(alertJpeg)).toBe(true);

  // The timeline: the granted clip's snapshot has its image (the same bytes the phone decrypts); the earlier one
  // was never wrapped to the cloud's key, so it still has none.
  const shown = await eventFor(granted.clipId);
  expect(shown.reason).toBeNull();
  const phoneJpeg = path.join(tmp, "granted.jpg");
  await world.phoneA.open(granted.snapshot!.snapshotId, phoneJpeg);
  expect(Buffer.from(shown.image!.base64, "base64").equals(fs.readFileSync(phoneJpeg))).toBe(true);
  expect(await eventFor(before.clipId)).toMatchObject({ image: null, reason: "not-in-scope" });

  // The cloud trying the clip's VIDEO with the key it was granted: not a recipient.
  // The cloud took its envelope out of the mailbox (it never counts against the 64-envelope limit) into its grants.
  expect((await world.cloud.store.get("SELECT COUNT(*) AS n FROM mailbox WHERE to_hash = ?", [cloudKey.address]))).toEqual({ n: 0 });
  const message = ((await world.cloud.store.get("SELECT envelope FROM cloud_grants WHERE share_id = ?", [grant.shareId])) as { envelope: Buffer });
  const { key } = openShareEnvelope(crypto, parseShareEnvelope(new Uint8Array(message.envelope)), cloudKey.address, cloudKey.key);
  const keyId = fromHex(grant.keyId);
  const root = parseCertificate(fromBase64Url(world.phoneA.state().rootCertificate));
  const account = await new CloudClient(world.cloudUrl, world.phoneA.state().token).json<{ cameraCertificates: { certificate: string }[] }>("GET", "/v1/account");
  const sealedVideo = await new CloudClient(world.cloudUrl, world.phoneA.state().token).bytes(`/v1/clips/${granted.clipId}`);
  const options = { crypto, unwrappers: [streamKeyUnwrapper(crypto, keyId, key)], camera: (h: Parameters<typeof cameraIdentity>[1]) => cameraIdentity(crypto, h, root, account.cameraCertificates) };
  expect(() => openClip(options, sealedVideo)).toThrow(expect.objectContaining({ code: "E_NO_RECIPIENT" }));
  const sealedSnap = await new CloudClient(world.cloudUrl, world.phoneA.state().token).bytes(`/v1/clips/${granted.snapshot!.snapshotId}`);
  expect(isJpeg(openClip(options, sealedSnap).plaintext)).toBe(true);

  // Revoke: the next clip's snapshot is not wrapped to the cloud's key; the timeline says so.
  await revokeShare(world.phoneA, "cloud");
  expect(await cam.command("roster refresh")).toBe("roster: refreshed");
  const after = await nextClip();
  const sealedAfter = await new CloudClient(world.cloudUrl, world.phoneA.state().token).bytes(`/v1/clips/${after.snapshot!.snapshotId}`);
  expect(parseClipHead(sealedAfter).header.recipients.some((r) => toHex(r.kid) === grant.keyId)).toBe(false);
  expect(() => openClip(options, sealedAfter)).toThrow(expect.objectContaining({ code: "E_NO_RECIPIENT" }));
  expect(await eventFor(after.clipId)).toMatchObject({ snapshotId: after.snapshot!.snapshotId, image: null, reason: "revoked" });
  // What it was granted before stays open to it (by design).
  expect((await eventFor(granted.clipId)).reason).toBeNull();

  // The CLI: `phone timeline --json --images DIR` writes exactly the images the cloud could open.
  const images = path.join(tmp, "timeline-images");
  const cli = await runPhone(["timeline", "--json", "--limit", "10", "--images", images]);
  expect(cli.code).toBe(0);
  const events = JSON.parse(cli.out) as TimelineEvent[];
  expect(events.map((e) => e.clipId)).toEqual(expect.arrayContaining([before.clipId, granted.clipId, after.clipId]));
  expect(fs.readdirSync(images).sort()).toEqual(events.filter((e) => e.image).map((e) => `${e.snapshotId}.jpg`).sort());
  expect(fs.readdirSync(images)).toContain(`${granted.snapshot!.snapshotId}.jpg`);
  expect((await runPhone(["timeline", "--limit", "0"])).code).toBe(2);
  crypto.p256Destroy(key);
}, 120000);

test("a 'cloud' key whose certificate also names video (made by hand, past the phone's refusal): the camera wraps only snapshots to it, and the cloud never uses it", async () => {
  const state = world.phoneA.state();
  const signer = await world.phoneA.unlockSigningKey();
  const key = crypto.p256Generate();
  const spki = spkiFromP256(crypto.p256PublicKey(key));
  const keyId = toHex(crypto.sha256(spki));
  const scope: StreamScope = { cameras: [camId], streams: ["video", "snapshot"], notBefore: Math.floor(Date.now() / 1000) * 1000 - 60_000, notAfter: null, holder: "cloud" };
  const certificate = await issueStreamCertificate(signer, spki, scope);
  const current = parseRosterUnverified(crypto, await world.roster());
  const entries = current.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
  entries.push({ role: "stream", certificateDer: certificate });
  const roster = await signRoster(crypto, signer, state.accountId, current.version + 1, entries);
  await new CloudClient(world.cloudUrl, state.token).json("PUT", "/v1/e2ee/roster", { roster: toBase64Url(roster) });
  const cloudKey = loadCloudKey(crypto, path.join(world.dir, "cloud"));
  const scalar = crypto.p256Export(key);
  const envelope = await sealShareEnvelope(crypto, { shareId: "cloud-0badc0ffee00", accountId: state.accountId, streamCertificate: certificate, scope, to: cloudKey.address },
    crypto.p256PublicKey(cloudKey.key), scalar, signer.rootCertDer, (m) => signPss(signer, m));
  await new CloudClient(world.cloudUrl, state.token).json("POST", "/v1/mailbox", { to: cloudKey.address, envelope: toBase64Url(envelope) });
  expect(await cam.command("roster refresh")).toBe("roster: refreshed");

  const clip = await nextClip();
  const client = new CloudClient(world.cloudUrl, state.token);
  const videoHead = parseClipHead(await client.bytes(`/v1/clips/${clip.clipId}/head`));
  const snapHead = parseClipHead(await client.bytes(`/v1/clips/${clip.snapshot!.snapshotId}/head`));
  expect(videoHead.header.recipients.some((r) => toHex(r.kid) === keyId)).toBe(false); // never video to a "cloud" key
  expect(snapHead.header.recipients.some((r) => toHex(r.kid) === keyId)).toBe(true);
  // The cloud holds the key but refuses a grant naming more than snapshots: no image, and the grant is not listed.
  const t = await timeline(world.phoneA);
  expect(t.grants.some((g) => g.keyId === keyId)).toBe(false);
  expect(t.events.find((e) => e.clipId === clip.clipId)).toMatchObject({ image: null });
  crypto.p256Destroy(key);
}, 60000);
