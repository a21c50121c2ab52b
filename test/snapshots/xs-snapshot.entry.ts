/**
 * Runs inside XS with the camera's NativeCrypto (driven by test/snapshots/snapshot-format.test.ts): a snapshot
 * sealed by the camera's own sealSnapshot (firmware/camera/snapshot.ts) from a real JPEG, to a phone and to the
 * stream keys whose scope covers `snapshot`; opened here by the phone and by the snapshot holder, refused to the
 * video-only holder (E_NO_RECIPIENT); a preview that is not a JPEG is refused (E_FORMAT) and wiped; the sealed
 * bytes handed to Node to open there too.
 */
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { concat, constantTimeEqual } from "../../firmware/core/bytes";
import { hpkeUnwrapper, openClip, streamKeyUnwrapper } from "../../firmware/core/clip";
import { spkiFromP256 } from "../../firmware/core/keys";
import type { StreamKey, StreamScope } from "../../firmware/core/stream-scope";
import { sealSnapshot } from "../../firmware/camera/snapshot";
import { ask, assert, assertThrowsCode, run, test } from "../xs/harness";

const crypto = new NativeCrypto();

void (async () => {
  const jpeg = await ask<Uint8Array>("jpeg");
  const camera = crypto.p256Generate();
  const phone = crypto.p256Generate();
  const snapKey = crypto.p256Generate();
  const videoKey = crypto.p256Generate();
  const kid = (k: ReturnType<typeof crypto.p256Generate>) => crypto.sha256(spkiFromP256(crypto.p256PublicKey(k)));
  const scope = (streams: StreamScope["streams"], holder: string): StreamScope => ({ cameras: ["cam-xs-snap"], streams, notBefore: 1_790_000_000_000, notAfter: null, holder });
  const streamKeys: StreamKey[] = [
    { keyId: kid(videoKey), publicKey: crypto.p256PublicKey(videoKey), scope: scope(["video"], "share:video") },
    { keyId: kid(snapKey), publicKey: crypto.p256PublicKey(snapKey), scope: scope(["snapshot"], "cloud") },
  ];
  const roster = { version: 4, recipients: [{ kind: "hpke-p256" as const, keyId: kid(phone), publicKey: crypto.p256PublicKey(phone) }], streamKeys };
  const sealing = { crypto, cameraKey: camera, cameraId: "cam-xs-snap", cameraCertHash: crypto.sha256(new Uint8Array([1])), sequence: 9, roster };
  const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: crypto.sha256(new Uint8Array([1])) });
  const clipOf = crypto.randomBytes(16);
  const time = 1_790_000_000_500;

  test("a snapshot sealed in XS: one segment, linked by the signed `of`, phone and snapshot holder open it, the video holder cannot", async () => {
    const sealed = sealSnapshot(sealing, { jpeg: Uint8Array.from(jpeg), time }, clipOf);
    assert(sealed.parts.length === 3 && sealed.parts[1].kind === "final" && sealed.parts[2].index === 1, "head, final segment, footer");
    assert(sealed.streams === 1, `wrapped to ${sealed.streams} stream keys`);
    const bytes = concat(...sealed.parts.map((p) => p.bytes));
    const byPhone = openClip({ crypto, camera: identity, unwrappers: [hpkeUnwrapper(crypto, kid(phone), phone)] }, bytes);
    assert(constantTimeEqual(byPhone.plaintext, jpeg), "phone opens the JPEG");
    assert(byPhone.header.contentType === "image/jpeg" && byPhone.header.startTime === time, "type and time");
    assert(byPhone.header.snapshotOf !== undefined && constantTimeEqual(byPhone.header.snapshotOf, clipOf), "signed of");
    const bySnap = openClip({ crypto, camera: identity, unwrappers: [streamKeyUnwrapper(crypto, kid(snapKey), snapKey)] }, bytes);
    assert(constantTimeEqual(bySnap.plaintext, jpeg), "snapshot holder opens it");
    assertThrowsCode(() => openClip({ crypto, camera: identity, unwrappers: [streamKeyUnwrapper(crypto, kid(videoKey), videoKey)] }, bytes), "E_NO_RECIPIENT", "video-only holder");
    const inNode = await ask<Uint8Array>("open-in-node", { sealed: bytes, camera: crypto.p256PublicKey(camera), phone: crypto.p256Export(phone), clipOf });
    assert(constantTimeEqual(inNode, jpeg), "Node opens the XS snapshot");
  });

  test("a preview that is not a JPEG is refused (E_FORMAT) and wiped; nothing is sealed", () => {
    const bogus = new Uint8Array([1, 2, 3, 4, 5, 6]);
    assertThrowsCode(() => sealSnapshot(sealing, { jpeg: bogus, time }, clipOf), "E_FORMAT", "not a JPEG");
    assert(bogus.every((b) => b === 0), "the preview is wiped");
  });

  await run();
})();
