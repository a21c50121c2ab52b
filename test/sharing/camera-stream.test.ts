/**
 * The camera decides (firmware in XS on the board simulator, PROTOCOL §14): once the account publishes a roster
 * with stream keys, each clip is wrapped to exactly the stream keys whose certified scope covers this camera,
 * the video stream and the clip's capture time — and to no other. The holder of an in-scope stream key opens
 * the clip with the firmware's own opener; after the key is dropped from the roster (revocation), new clips
 * are not wrapped to it, while what it could already open stays open.
 */
import { toBase64Url, toHex } from "../../firmware/core/bytes";
import { FrameReader, openClip, streamKeyUnwrapper } from "../../firmware/core/clip";
import { spkiFromP256 } from "../../firmware/core/keys";
import { parseRosterUnverified } from "../../firmware/core/roster";
import type { StreamScope } from "../../firmware/core/stream-scope";
import { parseCertificate } from "../../firmware/core/x509";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { issueStreamCertificate, type AccountSigningKey } from "../../host-tools/phone/certs";
import { signRoster } from "../../host-tools/phone/phone";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { World } from "../board-sim/harness";
import { clipRecorder } from "../helpers/next-clip";

const crypto = new NodeCrypto();
const world = new World();
let board: SimulatedBoard;
let cameraId = "";
let signer: AccountSigningKey;

interface StreamKeyHolder { name: string; key: P256PrivateKey; keyId: string; certificate: Uint8Array }

async function streamKey(name: string, scope: Omit<StreamScope, "holder">): Promise<StreamKeyHolder> {
  const key = crypto.p256Generate();
  const spki = spkiFromP256(crypto.p256PublicKey(key));
  const certificate = await issueStreamCertificate(signer, spki, { ...scope, holder: `share:${name}` });
  return { name, key, keyId: toHex(crypto.sha256(spki)), certificate };
}

/** Publishes the next roster: the current phones and data key, plus `streams`. */
async function publish(streams: StreamKeyHolder[]): Promise<void> {
  const state = world.phoneA.state();
  const current = parseRosterUnverified(crypto, await world.roster());
  const entries = current.entries.filter((e) => e.role !== "stream").map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
  for (const s of streams) entries.push({ role: "stream", certificateDer: s.certificate });
  const roster = await signRoster(crypto, signer, state.accountId, current.version + 1, entries);
  const res = await fetch(`${world.cloudUrl}/v1/e2ee/roster`, {
    method: "PUT", headers: { authorization: `Bearer ${state.token}`, "content-type": "application/json" }, body: JSON.stringify({ roster: toBase64Url(roster) }),
  });
  expect(res.status).toBe(200);
  expect(await board.command("roster refresh")).toBe("roster: refreshed");
}

/** Records one clip; returns its id and the key ids (hex) it was sealed to. */
const recordClip = clipRecorder(world);
async function nextClip(): Promise<{ clipId: string; kids: string[] }> {
  const { clipId } = await recordClip(board, cameraId);
  const head = await world.clipHead(clipId);
  return { clipId, kids: head.header.recipients.map((r) => toHex(r.kid)) };
}

async function download(clipId: string): Promise<Uint8Array> {
  const res = await fetch(`${world.cloudUrl}/v1/clips/${clipId}`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } });
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** Opens a clip as a stream-key holder would: the firmware's opener with only the stream key. */
async function openAs(holder: StreamKeyHolder, clipId: string): Promise<number> {
  const account = (await (await fetch(`${world.cloudUrl}/v1/account`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } })).json()) as { cameras: { cameraId: string; certificate: string }[] };
  const camera = account.cameras.find((c) => c.cameraId === cameraId)!;
  const der = new Uint8Array(Buffer.from(camera.certificate, "base64url"));
  const cert = parseCertificate(der);
  if (cert.publicKey.kind !== "p256") throw new Error("camera key is not P-256");
  const publicKey = cert.publicKey.point65;
  const { plaintext } = openClip({
    crypto, camera: () => ({ publicKey, certificateHash: crypto.sha256(der) }),
    unwrappers: [streamKeyUnwrapper(crypto, Buffer.from(holder.keyId, "hex"), holder.key)],
  }, await download(clipId));
  const reader = new FrameReader();
  const frames = reader.push(plaintext);
  reader.end();
  return frames.length;
}

beforeAll(async () => {
  await world.start();
  board = await world.board("cam-stream");
  cameraId = (await world.enrolled(board)).cameraId;
  signer = await world.phoneA.unlockSigningKey();
}, 60000);
afterAll(() => world.close());

test("the camera wraps each clip to exactly the stream keys whose scope covers it; the holder opens it; revocation stops new wraps", async () => {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const hour = 3600_000;
  const sharedVideo = await streamKey("front-door-dsk", { cameras: [cameraId], streams: ["video"], notBefore: now - hour, notAfter: null });
  const everyCamera = await streamKey("all-cameras-tdsk", { cameras: [], streams: ["video"], notBefore: now - hour, notAfter: now + hour });
  const otherCamera = await streamKey("other-camera", { cameras: ["cam-elsewhere"], streams: ["video"], notBefore: now - hour, notAfter: null });
  const snapshotsOnly = await streamKey("snapshots-only", { cameras: [], streams: ["snapshot"], notBefore: now - hour, notAfter: null });
  const expired = await streamKey("expired-tdsk", { cameras: [cameraId], streams: ["video"], notBefore: now - 2 * hour, notAfter: now - hour });
  const future = await streamKey("future-tdsk", { cameras: [cameraId], streams: ["video"], notBefore: now + hour, notAfter: now + 2 * hour });
  await publish([sharedVideo, everyCamera, otherCamera, snapshotsOnly, expired, future]);

  const first = await nextClip();
  const streamKids = first.kids.filter((k) => [sharedVideo, everyCamera, otherCamera, snapshotsOnly, expired, future].some((s) => s.keyId === k));
  expect(streamKids.sort()).toEqual([sharedVideo.keyId, everyCamera.keyId].sort());
  expect(first.kids).toContain(world.phoneA.state().phoneKeyId);
  expect(await openAs(sharedVideo, first.clipId)).toBeGreaterThan(0);
  expect(await openAs(everyCamera, first.clipId)).toBeGreaterThan(0);
  await expect(openAs(otherCamera, first.clipId)).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  await expect(openAs(expired, first.clipId)).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });

  // Revoke the DSK: the next roster drops it. New clips are not wrapped to it; the clip it already had stays open.
  await publish([everyCamera]);
  const second = await nextClip();
  expect(second.kids).not.toContain(sharedVideo.keyId);
  expect(second.kids).toContain(everyCamera.keyId);
  await expect(openAs(sharedVideo, second.clipId)).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  expect(await openAs(sharedVideo, first.clipId)).toBeGreaterThan(0);
}, 90000);
