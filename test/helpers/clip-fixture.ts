/** Keys and options for clip tests: a camera, a phone (P-256 instance key) and an account data key (RSA). */
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { rsaOaepUnwrapper } from "../../host-tools/platform/rsa-unwrapper";
import type { Crypto, P256PrivateKey } from "../../firmware/platform/crypto";
import { ClipSealer, hpkeUnwrapper, type OpenerOptions, type RecipientKey, type SealerOptions } from "../../firmware/core/clip";
import { concat } from "../../firmware/core/bytes";

export const crypto = new NodeCrypto();

export function p256Spki(point: Uint8Array): Uint8Array {
  // SubjectPublicKeyInfo for id-ecPublicKey / prime256v1 with an uncompressed point.
  const prefix = Uint8Array.from(Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"));
  return concat(prefix, point);
}

/** A P-256 key and its key id (SHA-256 of its SPKI), as a phone's or a stream key's. */
export interface KeyWithId {
  key: P256PrivateKey;
  keyId: Uint8Array;
}

/** A fresh P-256 key with its key id. */
export function newKeyWithId(c: Crypto = crypto): KeyWithId {
  const key = c.p256Generate();
  return { key, keyId: c.sha256(p256Spki(c.p256PublicKey(key))) };
}

export interface Party {
  camera: P256PrivateKey;
  cameraCertHash: Uint8Array;
  phone: P256PrivateKey;
  phoneKeyId: Uint8Array;
  dataKey: nodeCrypto.KeyObject;
  dataPublicPkcs1: Uint8Array;
  dataKeyId: Uint8Array;
}

let rsaCache: nodeCrypto.KeyPairKeyObjectResult | undefined;

export function makeParty(c: Crypto = crypto): Party {
  rsaCache ??= nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const camera = c.p256Generate();
  const phone = c.p256Generate();
  const spki = new Uint8Array(rsaCache.publicKey.export({ format: "der", type: "spki" }));
  return {
    camera,
    cameraCertHash: c.randomBytes(32),
    phone,
    phoneKeyId: c.sha256(p256Spki(c.p256PublicKey(phone))),
    dataKey: rsaCache.privateKey,
    dataPublicPkcs1: new Uint8Array(rsaCache.publicKey.export({ format: "der", type: "pkcs1" })),
    dataKeyId: c.sha256(spki),
  };
}

export function recipients(p: Party, c: Crypto = crypto): RecipientKey[] {
  return [
    { kind: "hpke-p256", keyId: p.phoneKeyId, publicKey: c.p256PublicKey(p.phone) },
    { kind: "rsa-oaep-sha256", keyId: p.dataKeyId, publicKey: p.dataPublicPkcs1 },
  ];
}

export function sealerOptions(p: Party, overrides: Partial<SealerOptions> = {}): SealerOptions {
  return {
    crypto,
    cameraKey: p.camera,
    cameraId: "cam-test-1",
    cameraCertHash: p.cameraCertHash,
    sequence: 7,
    startTime: 1_790_000_000_000,
    contentType: "video/x-sealcam-frames",
    recipients: recipients(p),
    rosterVersion: 3,
    segmentSize: 4096,
    ...overrides,
  };
}

export function openerOptions(p: Party, use: "phone" | "data" | "both" = "both"): OpenerOptions {
  const unwrappers = [];
  if (use !== "data") unwrappers.push(hpkeUnwrapper(crypto, p.phoneKeyId, p.phone));
  if (use !== "phone") unwrappers.push(rsaOaepUnwrapper(p.dataKeyId, p.dataKey));
  return {
    crypto,
    camera: () => ({ publicKey: crypto.p256PublicKey(p.camera), certificateHash: p.cameraCertHash }),
    unwrappers,
  };
}

export interface SealedParts {
  head: Uint8Array;
  segments: Uint8Array[];
  footer: Uint8Array;
  whole: Uint8Array;
}

export function seal(options: SealerOptions, plaintext: Uint8Array, chunk = 1000): SealedParts {
  const sealer = new ClipSealer(options);
  const segments: Uint8Array[] = [];
  for (let i = 0; i < plaintext.length; i += chunk) {
    for (const s of sealer.write(plaintext.subarray(i, i + chunk))) segments.push(s.bytes);
  }
  const { segment, footer } = sealer.finish();
  segments.push(segment.bytes);
  return { head: sealer.head, segments, footer, whole: concat(sealer.head, ...segments, footer) };
}
