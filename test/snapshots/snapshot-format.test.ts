/**
 * The snapshot object (FORMAT §3.1) and the cloud's key file (PROTOCOL §14.14), without a camera:
 *  - the header's optional `of`: round trip, and refusals (`of` on a non-JPEG type, `of` equal to the object's
 *    own id, malformed), each E_FORMAT; a header without `of` encodes exactly as before;
 *  - in XS with the native module: the camera's sealSnapshot, opened by phone and snapshot holder, refused to a
 *    video-only holder, a non-JPEG preview refused and wiped; the XS-sealed bytes open in Node;
 *  - the cloud key file: created 0600, reused, refused when readable by others or malformed (and left as it was).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toBase64Url } from "../../firmware/core/bytes";
import { encodeCanonicalBytes, parseCanonicalBytes, type CanonicalValue } from "../../firmware/core/canonical-json";
import { hpkeUnwrapper, openClip } from "../../firmware/core/clip";
import { decodeHeader, encodeHeader, type ClipHeader } from "../../firmware/core/clip/header";
import { spkiFromP256 } from "../../firmware/core/keys";
import { runInXs } from "../../host-tools/board-sim/board-sim";
import { syntheticFrame } from "../../host-tools/board-sim/synthetic-camera";
import { loadCloudKey } from "../../host-tools/cloud/cloud-key";
import { parseInvite } from "../../host-tools/phone/share-envelope";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();

function header(extra: Partial<ClipHeader> = {}): ClipHeader {
  return {
    version: 1, clipId: new Uint8Array(16).fill(1), cameraId: "cam-snap", cameraCertHash: new Uint8Array(32).fill(2), sequence: 3,
    startTime: 1_790_000_000_000, contentType: "image/jpeg", segmentSize: 4096, rosterVersion: 1, commitment: new Uint8Array(32).fill(4),
    recipients: [{ alg: "hpke-p256-sha256-aes128gcm", kid: new Uint8Array(32).fill(5), enc: new Uint8Array(65).fill(6), ct: new Uint8Array(32).fill(7) }],
    ...extra,
  };
}

/** A header's canonical JSON with `change` applied (to build headers the encoder would refuse). */
function edited(change: (value: { [k: string]: CanonicalValue }) => void): Uint8Array {
  const value = parseCanonicalBytes(encodeHeader(header({ snapshotOf: new Uint8Array(16).fill(9) })), 16384) as { [k: string]: CanonicalValue };
  change(value);
  return encodeCanonicalBytes(value);
}

test("the header's `of`: round trip; absent on clips (bytes unchanged); refused on a non-JPEG type, on itself, malformed", () => {
  const of = new Uint8Array(16).fill(9);
  const bytes = encodeHeader(header({ snapshotOf: of }));
  expect(new TextDecoder().decode(bytes)).toContain(`"of":"${toBase64Url(of)}"`);
  expect(decodeHeader(bytes).snapshotOf).toEqual(of);
  const plain = encodeHeader(header({ contentType: "video/x-sealcam-frames" }));
  expect(new TextDecoder().decode(plain)).not.toContain('"of"');
  expect(decodeHeader(plain).snapshotOf).toBeUndefined();

  expect(() => encodeHeader(header({ contentType: "video/x-sealcam-frames", snapshotOf: of }))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(() => decodeHeader(edited((v) => { v.type = "video/x-sealcam-frames"; }))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(() => decodeHeader(edited((v) => { v.of = v.clip; }))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(() => decodeHeader(edited((v) => { v.of = toBase64Url(new Uint8Array(15)); }))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(() => decodeHeader(edited((v) => { v.of = 5; }))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(() => decodeHeader(edited((v) => { v.off = v.of; }))).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
});

test("a snapshot sealed by the camera's code in XS (NativeCrypto): who opens it, a non-JPEG refused, opened in Node", async () => {
  const jpeg = syntheticFrame(3, { width: 160, height: 120, quality: 20 });
  const report = (await runInXs("test/snapshots/xs-snapshot.entry.ts", {
    timeoutMs: 100000,
    handlers: {
      jpeg: () => jpeg,
      "open-in-node": (params) => {
        const { sealed, camera, phone, clipOf } = params as { sealed: Uint8Array; camera: Uint8Array; phone: Uint8Array; clipOf: Uint8Array };
        const key = crypto.p256Import(phone);
        const kid = crypto.sha256(spkiFromP256(crypto.p256PublicKey(key)));
        const opened = openClip({ crypto, camera: () => ({ publicKey: camera, certificateHash: crypto.sha256(new Uint8Array([1])) }), unwrappers: [hpkeUnwrapper(crypto, kid, key)] }, sealed);
        if (!opened.header.snapshotOf || Buffer.compare(opened.header.snapshotOf, clipOf) !== 0) throw new Error("the link did not survive");
        return opened.plaintext;
      },
    },
  })) as { passed: string[]; failed: unknown[] };
  expect(report.failed).toEqual([]);
  expect(report.passed).toHaveLength(2);
}, 110000);

test("the cloud key file: created 0600 and reused; refused when others can read it or it is malformed, and left as it was", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cloudkey-"));
  try {
    const a = loadCloudKey(crypto, dir);
    const file = path.join(dir, "cloud-key.json");
    expect(a.file).toBe(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(parseInvite(a.invite)).toEqual(a.spki);
    const b = loadCloudKey(crypto, dir);
    expect(b.address).toBe(a.address);
    expect(b.fingerprint).toBe(a.fingerprint);
    // --key-file elsewhere: another key, same rules.
    const other = loadCloudKey(crypto, dir, path.join(dir, "keys", "node.json"));
    expect(other.address).not.toBe(a.address);

    fs.chmodSync(file, 0o644);
    const before = fs.readFileSync(file);
    expect(() => loadCloudKey(crypto, dir)).toThrow(expect.objectContaining({ code: "E_STATE" }));
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file, '{"kind":"sealcam-cloud-key","version":1,"scalar":"zz"}', { mode: 0o600 });
    expect(() => loadCloudKey(crypto, dir)).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
    fs.writeFileSync(file, JSON.stringify({ kind: "sealcam-cloud-key", version: 1, scalar: "00".repeat(32) }), { mode: 0o600 });
    expect(() => loadCloudKey(crypto, dir)).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
    expect(fs.readFileSync(file, "utf8")).toContain("00".repeat(32));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
