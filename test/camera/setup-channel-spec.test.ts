/**
 * docs/PROTOCOL.md §6.3-6.4 re-implemented from the text with node:crypto alone, and compared byte for byte
 * with firmware/core/setup-channel.ts under fixed ephemeral keys: the spec and the code say the same thing.
 */
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { SetupInitiator, SetupResponder, deriveSetupKeys } from "../../firmware/core/setup-channel";
import type { Crypto, P256PrivateKey } from "../../firmware/platform/crypto";
import { toHex } from "../../firmware/core/bytes";

/** NodeCrypto whose p256Generate hands out the given scalars in order (deterministic transcripts). */
function fixedEphemerals(scalars: Uint8Array[]): Crypto {
  const base = new NodeCrypto();
  const queue = scalars.slice();
  return Object.assign(Object.create(Object.getPrototypeOf(base)) as NodeCrypto, base, {
    p256Generate(): P256PrivateKey {
      const s = queue.shift();
      if (!s) throw new Error("no more fixed scalars");
      return base.p256Import(s);
    },
  });
}

// ---- the reference, written from the document ----
const sha256 = (...parts: Buffer[]) => nodeCrypto.createHash("sha256").update(Buffer.concat(parts)).digest();
const hmac = (key: Buffer, data: Buffer) => nodeCrypto.createHmac("sha256", key).update(data).digest();
function hkdf(ck: Buffer, ikm: Buffer, n: number): Buffer[] {
  const prk = hmac(ck, ikm);
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; i <= n; i++) {
    t = hmac(prk, Buffer.concat([t, Buffer.from([i])]));
    out.push(t);
  }
  return out;
}
function seal(k: Buffer, n: number, aad: Buffer, p: Buffer): Buffer {
  const nonce = Buffer.concat([Buffer.alloc(8), Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])]);
  const c = nodeCrypto.createCipheriv("aes-128-gcm", k, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(p), c.final(), c.getAuthTag()]);
}
function pub(scalar: Buffer): Buffer {
  const e = nodeCrypto.createECDH("prime256v1");
  e.setPrivateKey(scalar);
  return e.getPublicKey();
}
function dh(scalar: Buffer, peer: Buffer): Buffer {
  const e = nodeCrypto.createECDH("prime256v1");
  e.setPrivateKey(scalar);
  return e.computeSecret(peer);
}

class Ref {
  h: Buffer;
  ck: Buffer;
  k: Buffer = Buffer.alloc(0);
  n = 0;
  constructor() {
    this.h = sha256(Buffer.from("Noise_NNpsk0+confirm_P256_AES128GCM_SHA256/sealcam-setup/1"));
    this.ck = this.h;
  }
  mixHash(d: Buffer) { this.h = sha256(this.h, d); }
  mixKey(ikm: Buffer) { const [ck, t] = hkdf(this.ck, ikm, 2); this.ck = ck; this.k = t.subarray(0, 16); this.n = 0; }
  mixKeyAndHash(ikm: Buffer) { const [ck, th, t] = hkdf(this.ck, ikm, 3); this.ck = ck; this.mixHash(th); this.k = t.subarray(0, 16); this.n = 0; }
  encryptAndHash(p: Buffer) { const c = seal(this.k, this.n++, this.h, p); this.mixHash(c); return c; }
}

test("the three handshake messages and the first frame each way match the specification", () => {
  const secret = Buffer.alloc(20, 0x42);
  const phoneScalar = Buffer.alloc(32, 0x11);
  const cameraScalar = Buffer.alloc(32, 0x22);
  // psk per §6.1
  const prk = hmac(Buffer.from("sealcam-setup/1"), secret);
  const psk = hmac(prk, Buffer.concat([Buffer.from("sealcam-setup/1 psk"), Buffer.from([1])]));
  const code = deriveSetupKeys(new NodeCrypto(), new Uint8Array(secret));
  expect(toHex(code.psk)).toBe(psk.toString("hex"));

  const cameraPayload = Buffer.from('{"ssid":"sealcam-ABCD"}');
  // reference transcript
  const r = new Ref();
  r.mixKeyAndHash(psk);
  const eP = pub(phoneScalar);
  r.mixHash(Buffer.from([1, 1])); r.mixHash(eP); r.mixKey(eP);
  const m1 = Buffer.concat([Buffer.from([1, 1]), eP, r.encryptAndHash(Buffer.alloc(0))]);
  const eC = pub(cameraScalar);
  r.mixHash(Buffer.from([1, 2])); r.mixHash(eC); r.mixKey(eC); r.mixKey(dh(cameraScalar, eP));
  const m2 = Buffer.concat([Buffer.from([1, 2]), eC, r.encryptAndHash(cameraPayload)]);
  r.mixHash(Buffer.from([1, 3]));
  const m3 = Buffer.concat([Buffer.from([1, 3]), r.encryptAndHash(Buffer.from("sealcam-setup/1 confirm"))]);
  const [k1, k2] = hkdf(r.ck, Buffer.alloc(0), 2);
  const head = Buffer.from([1, 0x10, 0, 0, 0, 0]);
  const f1 = Buffer.concat([head, seal(k1.subarray(0, 16), 0, Buffer.concat([r.h, head]), Buffer.from("to camera"))]);
  const f2 = Buffer.concat([head, seal(k2.subarray(0, 16), 0, Buffer.concat([r.h, head]), Buffer.from("to phone"))]);

  // the implementation
  const phone = new SetupInitiator(fixedEphemerals([new Uint8Array(phoneScalar)]), code.psk);
  const camera = new SetupResponder(fixedEphemerals([new Uint8Array(cameraScalar)]), code.psk);
  const c1 = phone.hello();
  expect(toHex(c1)).toBe(m1.toString("hex"));
  const { reply } = camera.readHello(c1, new Uint8Array(cameraPayload));
  expect(toHex(reply)).toBe(m2.toString("hex"));
  phone.readReply(reply);
  const c3 = phone.confirm();
  expect(toHex(c3)).toBe(m3.toString("hex"));
  const session = camera.readConfirm(c3);
  expect(toHex(session.id)).toBe(r.h.toString("hex"));
  expect(toHex(phone.session.seal(new Uint8Array(Buffer.from("to camera"))))).toBe(f1.toString("hex"));
  expect(toHex(session.seal(new Uint8Array(Buffer.from("to phone"))))).toBe(f2.toString("hex"));
});
