/**
 * Runs inside XS (bundled by test/xs/crypto-conformance.test.ts): the camera's NativeCrypto (native module over
 * PSA / Mbed TLS) against known answers (NIST GCM, RFC 5869), Project Wycheproof vectors (fetched from Node,
 * which reads ../shared/vectors at run time), NodeCrypto on random inputs, and hostile inputs that must be
 * rejected with a thrown SealcamError rather than a crash. "config" tells it which share of the vectors to run
 * (all of them normally, a sample under the GC-stress build).
 */
/// <reference path="../../host-tools/board-sim/xs-host/js/host-globals.d.ts" />
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { concat, fromHex, toHex } from "../../firmware/core/bytes";
import { ask, assert, assertHex, assertThrowsCode, note, run, test } from "./harness";

const crypto = new NativeCrypto();
let sample = 1; // run every sample-th vector
let rounds = 12; // NodeCrypto cross-check rounds

interface WycheproofFile<G> {
  testGroups: G[];
}
interface Case {
  tcId: number;
  result: "valid" | "invalid" | "acceptable";
  comment: string;
}

async function vectors<G>(file: string): Promise<WycheproofFile<G> | null> {
  const text = await ask<string | null>("vector", { file });
  return text === null ? null : (JSON.parse(text) as WycheproofFile<G>);
}

const sampled = <T>(list: T[]): T[] => list.filter((_, i) => i % sample === 0);

/** Wycheproof private scalars may carry a leading 00 or be shorter than 32 bytes. */
function scalar32(hex: string): Uint8Array | null {
  let bytes = fromHex(hex);
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  bytes = bytes.subarray(i);
  if (bytes.length > 32) return null;
  const out = new Uint8Array(32);
  out.set(bytes, 32 - bytes.length);
  return out;
}

/** Strict DER ECDSA-Sig-Value -> 64-byte r || s, or null for anything that is not canonical DER. */
function derToP1363(sig: Uint8Array): Uint8Array | null {
  let offset = 0;
  const length = (): number | null => {
    if (offset >= sig.length) return null;
    const first = sig[offset++];
    if (first < 0x80) return first;
    if (first !== 0x81 || offset >= sig.length) return null;
    const value = sig[offset++];
    return value < 0x80 ? null : value;
  };
  const integer = (): Uint8Array | null => {
    if (sig[offset++] !== 0x02) return null;
    const n = length();
    if (n === null || n === 0 || offset + n > sig.length) return null;
    let value = sig.subarray(offset, offset + n);
    offset += n;
    if (value[0] & 0x80) return null; // negative
    if (value.length > 1 && value[0] === 0 && !(value[1] & 0x80)) return null; // not minimal
    if (value[0] === 0 && value.length > 1) value = value.subarray(1);
    if (value.length > 32) return null;
    const out = new Uint8Array(32);
    out.set(value, 32 - value.length);
    return out;
  };
  if (sig[offset++] !== 0x30) return null;
  const total = length();
  if (total === null || offset + total !== sig.length) return null;
  const r = integer();
  if (!r) return null;
  const s = integer();
  if (!s || offset !== sig.length) return null;
  return concat(r, s);
}

function describeCase(file: string, c: Case): string {
  return `${file} tcId ${c.tcId} (${c.result}: ${c.comment})`;
}

test("NIST GCM known answers (AES-128, test cases 1-4)", () => {
  const zero16 = new Uint8Array(16);
  const zero12 = new Uint8Array(12);
  assertHex(crypto.aesGcmSeal(zero16, zero12, new Uint8Array(0), new Uint8Array(0)), "58e2fccefa7e3061367f1d57a4e7455a", "tc1");
  assertHex(crypto.aesGcmSeal(zero16, zero12, new Uint8Array(0), zero16), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf", "tc2");
  const key = fromHex("feffe9928665731c6d6a8f9467308308");
  const iv = fromHex("cafebabefacedbaddecaf888");
  const pt = fromHex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
  );
  const ct =
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";
  assertHex(crypto.aesGcmSeal(key, iv, new Uint8Array(0), pt), ct + "4d5c2af327cd64a62cf35abd2ba6fab4", "tc3");
  const aad = fromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const sealed4 = crypto.aesGcmSeal(key, iv, aad, pt.subarray(0, 60));
  assertHex(sealed4, ct.slice(0, 120) + "5bc94fbc3221a5db94fae95ae7121a47", "tc4");
  assertHex(crypto.aesGcmOpen(key, iv, aad, sealed4), toHex(pt.subarray(0, 60)), "tc4 open");
});

test("RFC 5869 HKDF-SHA256 test cases 1-3", () => {
  const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const cases = [
    {
      ikm: new Uint8Array(22).fill(0x0b), salt: range(0x00, 0x0c), info: range(0xf0, 0xf9), length: 42,
      prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
      okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    },
    {
      ikm: range(0x00, 0x4f), salt: range(0x60, 0xaf), info: range(0xb0, 0xff), length: 82,
      prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
      okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
    },
    {
      ikm: new Uint8Array(22).fill(0x0b), salt: new Uint8Array(0), info: new Uint8Array(0), length: 42,
      prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
      okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    },
  ];
  cases.forEach((c, i) => {
    const prk = crypto.hkdfExtract(c.salt, c.ikm);
    assertHex(prk, c.prk, `case ${i + 1} prk`);
    assertHex(crypto.hkdfExpand(prk, c.info, c.length), c.okm, `case ${i + 1} okm`);
  });
});

test("Wycheproof aes_gcm_test.json (128-bit keys, 96-bit IVs)", async () => {
  interface G { keySize: number; ivSize: number; tagSize: number; tests: (Case & { key: string; iv: string; aad: string; msg: string; ct: string; tag: string })[] }
  const file = await vectors<G>("aes_gcm_test.json");
  if (!file) return note("aes_gcm_test.json absent: skipped");
  let count = 0;
  for (const group of file.testGroups) {
    if (group.keySize !== 128 || group.ivSize !== 96 || group.tagSize !== 128) continue;
    for (const c of sampled(group.tests)) {
      const [key, iv, aad, msg] = [fromHex(c.key), fromHex(c.iv), fromHex(c.aad), fromHex(c.msg)];
      const sealed = fromHex(c.ct + c.tag);
      const opened = crypto.aesGcmOpen(key, iv, aad, sealed);
      if (c.result === "valid") {
        assertHex(crypto.aesGcmSeal(key, iv, aad, msg), c.ct + c.tag, describeCase("aes_gcm", c));
        assertHex(opened, c.msg, describeCase("aes_gcm open", c));
      } else if (c.result === "invalid") assert(opened === null, `${describeCase("aes_gcm", c)} opened`);
      count++;
    }
  }
  assert(count > 0, "no aes-gcm case ran");
  note(`aes_gcm: ${count} cases`);
});

test("Wycheproof hkdf_sha256_test.json", async () => {
  interface G { tests: (Case & { ikm: string; salt: string; info: string; size: number; okm: string })[] }
  const file = await vectors<G>("hkdf_sha256_test.json");
  if (!file) return note("hkdf_sha256_test.json absent: skipped");
  let count = 0;
  for (const group of file.testGroups)
    for (const c of sampled(group.tests)) {
      const prk = crypto.hkdfExtract(fromHex(c.salt), fromHex(c.ikm));
      if (c.result === "valid") assertHex(crypto.hkdfExpand(prk, fromHex(c.info), c.size), c.okm, describeCase("hkdf", c));
      else assertThrowsCode(() => crypto.hkdfExpand(prk, fromHex(c.info), c.size), "E_ARGUMENT", describeCase("hkdf", c));
      count++;
    }
  note(`hkdf: ${count} cases`);
});

function ecdhCase(name: string, c: Case & { private: string; shared: string }, point: Uint8Array | null): void {
  const scalar = scalar32(c.private);
  assert(scalar !== null, `${describeCase(name, c)}: private key does not fit`);
  const key = crypto.p256Import(scalar);
  try {
    let shared: Uint8Array | null = null;
    let error: unknown;
    try {
      if (!point) throw new Error("public key not in our encoding");
      shared = crypto.p256Ecdh(key, point);
    } catch (e) {
      error = e;
    }
    if (c.result === "valid") assertHex(shared, c.shared, describeCase(name, c));
    if (c.result === "invalid") {
      assert(shared === null, `${describeCase(name, c)}: an invalid peer key was accepted`);
      const code = (error as { code?: string }).code;
      assert(!point || code === "E_ARGUMENT", `${describeCase(name, c)}: expected E_ARGUMENT, got ${String(error)}`);
    }
  } finally {
    crypto.p256Destroy(key);
  }
}

test("Wycheproof ecdh_secp256r1_ecpoint_test.json: valid agree, invalid points throw", async () => {
  interface G { tests: (Case & { public: string; private: string; shared: string })[] }
  const file = await vectors<G>("ecdh_secp256r1_ecpoint_test.json");
  if (!file) return note("ecdh_secp256r1_ecpoint_test.json absent: skipped");
  let count = 0;
  for (const group of file.testGroups)
    for (const c of sampled(group.tests)) {
      ecdhCase("ecdh ecpoint", c, fromHex(c.public));
      count++;
    }
  note(`ecdh ecpoint: ${count} cases`);
});

test("Wycheproof ecdh_secp256r1_test.json (SPKI peers; ours is the named-curve uncompressed form)", async () => {
  interface G { tests: (Case & { public: string; private: string; shared: string })[] }
  const file = await vectors<G>("ecdh_secp256r1_test.json");
  if (!file) return note("ecdh_secp256r1_test.json absent: skipped");
  const prefix = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
  let count = 0;
  for (const group of file.testGroups)
    for (const c of sampled(group.tests)) {
      const point = c.public.startsWith(prefix) && c.public.length === prefix.length + 130 ? fromHex(c.public.slice(prefix.length)) : null;
      ecdhCase("ecdh spki", c, point);
      count++;
    }
  note(`ecdh spki: ${count} cases`);
});

test("Wycheproof ecdsa_secp256r1_sha256_p1363_test.json and the DER file (strictly converted)", async () => {
  interface G { publicKey: { uncompressed: string }; tests: (Case & { msg: string; sig: string })[] }
  let count = 0;
  for (const name of ["ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp256r1_sha256_test.json"]) {
    const file = await vectors<G>(name);
    if (!file) {
      note(`${name} absent: skipped`);
      continue;
    }
    const der = !name.includes("p1363");
    for (const group of file.testGroups) {
      const publicKey = fromHex(group.publicKey.uncompressed);
      for (const c of sampled(group.tests)) {
        const raw = der ? derToP1363(fromHex(c.sig)) : fromHex(c.sig);
        const ok = raw !== null && crypto.ecdsaP256Verify(publicKey, fromHex(c.msg), raw);
        if (c.result === "valid") assert(ok, `${describeCase(name, c)} did not verify`);
        if (c.result === "invalid") assert(!ok, `${describeCase(name, c)} verified`);
        count++;
      }
    }
  }
  note(`ecdsa: ${count} cases`);
});

test("Wycheproof rsa_oaep_2048_sha256: our ciphertexts decrypt on the Node side (OpenSSL) with the label", async () => {
  interface G { privateKeyPkcs8: string; tests: (Case & { msg: string; label: string })[] }
  const file = await vectors<G>("rsa_oaep_2048_sha256_mgf1sha256_test.json");
  if (!file) return note("rsa_oaep file absent: skipped");
  let count = 0;
  for (const group of file.testGroups) {
    const pkcs8 = fromHex(group.privateKeyPkcs8);
    const pkcs1 = await ask<Uint8Array>("rsa-public", { pkcs8 });
    for (const c of sampled(group.tests.filter((t) => t.result === "valid"))) {
      const ct = crypto.rsaOaepSha256Encrypt(pkcs1, fromHex(c.msg), fromHex(c.label));
      assert(ct.length === 256, `${describeCase("oaep", c)}: ciphertext is ${ct.length} bytes`);
      const back = await ask<Uint8Array>("oaep-decrypt", { pkcs8, ct, label: fromHex(c.label) });
      assertHex(back, c.msg, describeCase("oaep round trip", c));
      count++;
    }
    assertThrowsCode(() => crypto.rsaOaepSha256Encrypt(pkcs1, new Uint8Array(256 - 66 + 1), new Uint8Array(0)), "E_ARGUMENT", "oaep too long");
  }
  note(`rsa-oaep: ${count} round trips`);
});

test("Wycheproof rsa_pss_2048_sha256_mgf1_32; a salt-20 signature is rejected", async () => {
  interface G { publicKeyAsn: string; tests: (Case & { msg: string; sig: string })[] }
  const file = await vectors<G>("rsa_pss_2048_sha256_mgf1_32_test.json");
  let count = 0;
  if (!file) note("rsa_pss file absent: skipped");
  else
    for (const group of file.testGroups) {
      const pkcs1 = fromHex(group.publicKeyAsn);
      for (const c of sampled(group.tests)) {
        const ok = crypto.rsaPssSha256Verify(pkcs1, fromHex(c.msg), fromHex(c.sig));
        if (c.result === "valid") assert(ok, `${describeCase("pss", c)} did not verify`);
        if (c.result === "invalid") assert(!ok, `${describeCase("pss", c)} verified`);
        count++;
      }
    }
  for (const salt of [32, 20, 0]) {
    const s = await ask<{ pkcs1: Uint8Array; message: Uint8Array; signature: Uint8Array }>("pss-sign", { salt });
    assert(crypto.rsaPssSha256Verify(s.pkcs1, s.message, s.signature) === (salt === 32), `pss salt ${salt}`);
  }
  note(`rsa-pss: ${count} cases`);
});

test("same outputs as NodeCrypto on random inputs (deterministic operations), and each side opens/verifies the other", async () => {
  for (let i = 0; i < rounds; i++) {
    const length = [0, 1, 15, 16, 17, 1000, 65536][i % 7] + (i > 6 ? i : 0);
    const data = crypto.randomBytes(length);
    const key = crypto.randomBytes(16);
    const nonce = crypto.randomBytes(12);
    const aad = crypto.randomBytes(i * 3);
    const salt = crypto.randomBytes(i % 3 === 0 ? 0 : 32);
    const info = crypto.randomBytes(i * 5);
    const stream = crypto.createSha256();
    for (let at = 0; at < data.length; at += 997) stream.update(data.subarray(at, at + 997));
    const mine = {
      sha256: crypto.sha256(data),
      stream: stream.digest(),
      prk: crypto.hkdfExtract(salt, data),
      okm: crypto.hkdfExpand(crypto.sha256(data), info, 1 + ((i * 97) % 500)),
      sealed: crypto.aesGcmSeal(key, nonce, aad, data),
    };
    const node = await ask<{ sha256: Uint8Array; prk: Uint8Array; okm: Uint8Array; sealed: Uint8Array; opened: Uint8Array | null }>("node", {
      op: "symmetric", data, key, nonce, aad, salt, info, length: 1 + ((i * 97) % 500), sealed: mine.sealed,
    });
    assertHex(mine.sha256, toHex(node.sha256), `sha256 round ${i}`);
    assertHex(mine.stream, toHex(node.sha256), `streaming sha256 round ${i}`);
    assertHex(mine.prk, toHex(node.prk), `hkdf extract round ${i}`);
    assertHex(mine.okm, toHex(node.okm), `hkdf expand round ${i}`);
    assertHex(mine.sealed, toHex(node.sealed), `gcm seal round ${i}`);
    assertHex(node.opened, toHex(data), `node opens xs gcm round ${i}`);
    assertHex(crypto.aesGcmOpen(key, nonce, aad, node.sealed), toHex(data), `xs opens node gcm round ${i}`);

    const scalar = crypto.randomBytes(32);
    scalar[0] &= 0x7f; // below n
    const mineKey = crypto.p256Import(scalar);
    const message = crypto.randomBytes(i * 11);
    const peer = crypto.p256Generate();
    const peerPublic = crypto.p256PublicKey(peer);
    const signature = crypto.ecdsaP256Sign(mineKey, message);
    const ec = await ask<{ publicKey: Uint8Array; shared: Uint8Array; signature: Uint8Array; verifies: boolean }>("node", {
      op: "p256", scalar, peer: peerPublic, message, signature,
    });
    assertHex(crypto.p256PublicKey(mineKey), toHex(ec.publicKey), `p256 public round ${i}`);
    assertHex(crypto.p256Ecdh(mineKey, peerPublic), toHex(ec.shared), `ecdh round ${i}`);
    assertHex(crypto.p256Ecdh(peer, crypto.p256PublicKey(mineKey)), toHex(ec.shared), `ecdh other way round ${i}`);
    assertHex(signature, toHex(ec.signature), `deterministic ecdsa round ${i}`);
    assert(ec.verifies, `node verifies xs signature round ${i}`);
    assert(crypto.ecdsaP256Verify(ec.publicKey, message, ec.signature), `xs verifies node signature round ${i}`);
    assertHex(crypto.p256Export(mineKey), toHex(scalar), `export round ${i}`);
    crypto.p256Destroy(mineKey);
    crypto.p256Destroy(peer);
  }
});

test("hostile and malformed inputs are rejected with SealcamError, never a crash", () => {
  const k = new Uint8Array(16);
  const n = new Uint8Array(12);
  const e = new Uint8Array(0);
  for (const bad of [0, 15, 17, 32]) assertThrowsCode(() => crypto.aesGcmSeal(new Uint8Array(bad), n, e, e), "E_ARGUMENT", `gcm key ${bad}`);
  for (const bad of [0, 8, 16]) assertThrowsCode(() => crypto.aesGcmOpen(k, new Uint8Array(bad), e, new Uint8Array(16)), "E_ARGUMENT", `gcm nonce ${bad}`);
  assertThrowsCode(() => crypto.aesGcmSeal(k, n, e, "text" as unknown as Uint8Array), "E_ARGUMENT", "gcm string plaintext");
  const sealed = crypto.aesGcmSeal(k, n, new Uint8Array([1]), new Uint8Array([1, 2, 3]));
  for (let i = 0; i < sealed.length; i++) {
    const flipped = sealed.slice();
    flipped[i] ^= 0x40;
    assert(crypto.aesGcmOpen(k, n, new Uint8Array([1]), flipped) === null, `flipped byte ${i} opened`);
  }
  assert(crypto.aesGcmOpen(k, n, new Uint8Array([2]), sealed) === null, "wrong aad opened");
  assert(crypto.aesGcmOpen(k, n, e, new Uint8Array(15)) === null, "15-byte sealed opened");
  assert(crypto.aesGcmOpen(k, n, e, sealed.subarray(0, 16)) === null, "truncated sealed opened");

  const order = fromHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  for (const [name, scalar] of [["zero", new Uint8Array(32)], ["n", order], ["31 bytes", new Uint8Array(31).fill(1)], ["ff..", new Uint8Array(32).fill(0xff)]] as const)
    assertThrowsCode(() => crypto.p256Import(scalar), "E_ARGUMENT", `p256 import ${name}`);
  const key = crypto.p256Generate();
  const pub = crypto.p256PublicKey(key);
  const offCurve = pub.slice();
  offCurve[64] ^= 1;
  const compressed = concat(new Uint8Array([2 + (pub[64] & 1)]), pub.subarray(1, 33));
  for (const [name, point] of [["off curve", offCurve], ["compressed", compressed], ["infinity", new Uint8Array([0])], ["empty", e], ["x=p", concat(new Uint8Array([4]), new Uint8Array(64).fill(0xff))]] as const) {
    assertThrowsCode(() => crypto.p256Ecdh(key, point), "E_ARGUMENT", `ecdh ${name}`);
    assertThrowsCode(() => crypto.ecdsaP256Verify(point, e, new Uint8Array(64)), "E_ARGUMENT", `verify key ${name}`);
  }
  const sig = crypto.ecdsaP256Sign(key, new Uint8Array([9]));
  assert(crypto.ecdsaP256Verify(pub, new Uint8Array([9]), sig), "good signature");
  assert(!crypto.ecdsaP256Verify(pub, new Uint8Array([8]), sig), "other message verified");
  assert(!crypto.ecdsaP256Verify(pub, new Uint8Array([9]), sig.subarray(0, 63)), "63-byte signature verified");
  assert(!crypto.ecdsaP256Verify(pub, new Uint8Array([9]), new Uint8Array(64)), "r = s = 0 verified");
  assert(!crypto.ecdsaP256Verify(pub, new Uint8Array([9]), concat(order, order)), "r = s = n verified");
  crypto.p256Destroy(key);
  crypto.p256Destroy(key); // idempotent
  assertThrowsCode(() => crypto.p256PublicKey(key), "E_STATE", "public key of destroyed key");
  assertThrowsCode(() => crypto.ecdsaP256Sign(key, e), "E_STATE", "sign with destroyed key");
  assertThrowsCode(() => crypto.p256Ecdh({ kind: "p256-private" }, pub), "E_ARGUMENT", "foreign key object");

  const stream = crypto.createSha256();
  stream.digest();
  assertThrowsCode(() => stream.update(e), "E_STATE", "sha256 update after digest");
  assertThrowsCode(() => stream.digest(), "E_STATE", "sha256 digest twice");
  assertThrowsCode(() => crypto.hkdfExpand(new Uint8Array(32), e, 0), "E_ARGUMENT", "hkdf length 0");
  assertThrowsCode(() => crypto.hkdfExpand(new Uint8Array(32), e, 8161), "E_ARGUMENT", "hkdf length 8161");
  assertThrowsCode(() => crypto.hkdfExpand(new Uint8Array(31), e, 32), "E_ARGUMENT", "hkdf short prk");
  assertThrowsCode(() => crypto.randomBytes(-1), "E_ARGUMENT", "random -1");
  assertThrowsCode(() => crypto.randomBytes(65537), "E_ARGUMENT", "random 65537");
  for (const [name, der] of [["empty", e], ["garbage", new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05])], ["ec point", pub]] as const) {
    assertThrowsCode(() => crypto.rsaOaepSha256Encrypt(der, new Uint8Array(4), e), "E_ARGUMENT", `oaep key ${name}`);
    assertThrowsCode(() => crypto.rsaPssSha256Verify(der, e, new Uint8Array(256)), "E_ARGUMENT", `pss key ${name}`);
  }
  assert(crypto.randomBytes(0).length === 0, "random 0");
  const a = crypto.randomBytes(32);
  const b = crypto.randomBytes(32);
  assert(toHex(a) !== toHex(b), "two random draws are equal");
});

void (async () => {
  const config = await ask<{ sample: number; rounds: number }>("config");
  sample = config.sample;
  rounds = config.rounds;
  note(`gc stress: ${globalThis.__sealcamHost.stress}`);
  await run();
})();
