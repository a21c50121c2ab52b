/**
 * RSA-OAEP (SHA-256) whose seed comes from a seeded stream, for test generators only: EME-OAEP encoded here per
 * RFC 8017 §7.1.1 over a raw RSA public operation, so a sealed clip is reproducible byte for byte. Product code
 * always uses the provider's own OAEP.
 */
import * as nodeCrypto from "node:crypto";
import { concat, u32be } from "../../firmware/core/bytes";
import type { DeterministicCrypto } from "../../firmware/testing/deterministic-crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const base = new NodeCrypto();

function mgf1(seed: Uint8Array, length: number): Uint8Array {
  const out: Uint8Array[] = [];
  for (let i = 0; out.length * 32 < length; i++) out.push(base.sha256(concat(seed, u32be(i))));
  return concat(...out).slice(0, length);
}

/** NodeCrypto with seeded EME-OAEP + raw RSA, so the output never changes for the same stream. */
export class SeededOaepCrypto extends NodeCrypto {
  constructor(private readonly stream: DeterministicCrypto) {
    super();
  }
  override rsaOaepSha256Encrypt(publicKey: Uint8Array, message: Uint8Array, label: Uint8Array): Uint8Array {
    const key = nodeCrypto.createPublicKey({ key: Buffer.from(publicKey), format: "der", type: "pkcs1" });
    const k = ((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >> 3;
    const lHash = base.sha256(label);
    const ps = new Uint8Array(k - message.length - 2 * 32 - 2);
    const db = concat(lHash, ps, new Uint8Array([1]), message);
    const seed = this.stream.randomBytes(32);
    const dbMask = mgf1(seed, db.length);
    const maskedDb = db.map((b, i) => b ^ dbMask[i]);
    const seedMask = mgf1(maskedDb, 32);
    const maskedSeed = seed.map((b, i) => b ^ seedMask[i]);
    const em = concat(new Uint8Array([0]), maskedSeed, maskedDb);
    return new Uint8Array(nodeCrypto.publicEncrypt({ key, padding: nodeCrypto.constants.RSA_NO_PADDING }, em));
  }
}
