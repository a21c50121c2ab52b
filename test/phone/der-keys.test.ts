/** firmware/core/der.ts and keys.ts: strict DER in both directions, SubjectPublicKeyInfo against OpenSSL. */
import * as nodeCrypto from "node:crypto";
import { fromHex, toHex } from "../../firmware/core/bytes";
import {
  children, derBoolean, derContext, derGeneralizedTime, derInteger, derOctetString, derOid, derSequence, derUtcTime,
  derUtf8String, derBitString, parseDer, readBitString, readBoolean, readOid, readSmallInteger, readString, readTime,
  readUnsignedInteger, DER_MAX_INPUT,
} from "../../firmware/core/der";
import { keyIdOfSpki, parseSpki, spkiFromP256, spkiFromRsa } from "../../firmware/core/keys";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const hex = (h: string) => fromHex(h.replace(/\s+/g, ""));
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "none";
};

test("writer output matches known DER encodings", () => {
  expect(toHex(derOid("1.2.840.113549.1.1.10"))).toBe("06092a864886f70d01010a");
  expect(toHex(derOid("2.5.29.19"))).toBe("0603551d13");
  expect(toHex(derInteger(0))).toBe("020100");
  expect(toHex(derInteger(127))).toBe("02017f");
  expect(toHex(derInteger(128))).toBe("02020080");
  expect(toHex(derInteger(256))).toBe("02020100");
  expect(toHex(derInteger(hex("0000ff")))).toBe("020200ff");
  expect(toHex(derBoolean(true))).toBe("0101ff");
  expect(toHex(derUtcTime(Date.UTC(2026, 10, 24, 3, 4, 5)))).toBe(toHex(new Uint8Array(Buffer.concat([Buffer.from([0x17, 13]), Buffer.from("261124030405Z")]))));
  expect(toHex(derGeneralizedTime(Date.UTC(2051, 0, 2, 3, 4, 5)))).toBe(toHex(new Uint8Array(Buffer.concat([Buffer.from([0x18, 15]), Buffer.from("20510102030405Z")]))));
  expect(toHex(derContext(3, derInteger(1), true))).toBe("a303020101");
  const long = derOctetString(new Uint8Array(300));
  expect(toHex(long.subarray(0, 4))).toBe("0482012c");
});

test("reader round-trips what the writer writes", () => {
  const der = derSequence(
    derInteger(2 ** 40 + 5), derOid("1.2.840.10045.3.1.7"), derUtf8String("kamera ü"), derBoolean(false),
    derBitString(hex("0102")), derUtcTime(Date.UTC(2030, 5, 6, 7, 8, 9)), derGeneralizedTime(Date.UTC(2099, 11, 31, 23, 59, 59)),
  );
  const [i, o, s, b, bits, t1, t2] = children(parseDer(der));
  expect(readSmallInteger(i, "i")).toBe(2 ** 40 + 5);
  expect(readOid(o, "o")).toBe("1.2.840.10045.3.1.7");
  expect(readString(s, "s")).toBe("kamera ü");
  expect(readBoolean(b, "b")).toBe(false);
  expect(toHex(readBitString(bits, "bits", true).bytes)).toBe("0102");
  expect(readTime(t1, "t")).toBe(Date.UTC(2030, 5, 6, 7, 8, 9));
  expect(readTime(t2, "t")).toBe(Date.UTC(2099, 11, 31, 23, 59, 59));
});

test.each([
  ["indefinite length", "3080 0000", "E_FORMAT"],
  ["non-minimal long length", "3081 05 0203010001", "E_FORMAT"],
  ["length with leading zero", "3082 0005 0203010001", "E_FORMAT"],
  ["length too large", "3084 00000001 00", "E_LIMIT"],
  ["truncated content", "3005 0201", "E_FORMAT"],
  ["truncated header", "30", "E_FORMAT"],
  ["trailing bytes", "3000 00", "E_FORMAT"],
  ["high tag number", "1f2200", "E_FORMAT"],
])("malformed DER is refused: %s", (_name, input, code) => {
  expect(codeOf(() => parseDer(hex(input)))).toBe(code);
});

test.each([
  ["non-minimal integer", () => readUnsignedInteger(parseDer(hex("02020001")), "x")],
  ["negative integer", () => readUnsignedInteger(parseDer(hex("0201ff")), "x")],
  ["empty integer", () => readUnsignedInteger(parseDer(hex("0200")), "x")],
  ["non-canonical boolean", () => readBoolean(parseDer(hex("010101")), "x")],
  ["bit string with dirty unused bits", () => readBitString(parseDer(hex("03020701")), "x", false)],
  ["bit string not whole bytes", () => readBitString(parseDer(hex("03020780")), "x", true)],
  ["non-minimal oid arc", () => readOid(parseDer(hex("06028001")), "x")],
  ["truncated oid", () => readOid(parseDer(hex("060188")), "x")],
  ["month 13", () => readTime(parseDer(new Uint8Array(Buffer.concat([Buffer.from([0x17, 13]), Buffer.from("261301000000Z")]))), "x")],
  ["30 February", () => readTime(parseDer(new Uint8Array(Buffer.concat([Buffer.from([0x17, 13]), Buffer.from("260230000000Z")]))), "x")],
  ["time without Z", () => readTime(parseDer(new Uint8Array(Buffer.concat([Buffer.from([0x17, 13]), Buffer.from("2602010000001")]))), "x")],
  ["printable string with '@'", () => readString(parseDer(new Uint8Array([0x13, 1, 0x40])), "x")],
  ["wrong tag", () => readSmallInteger(parseDer(hex("0400")), "x")],
])("typed E_FORMAT for %s", (_name, fn) => {
  expect(codeOf(fn)).toBe("E_FORMAT");
});

test("size and depth limits", () => {
  expect(codeOf(() => parseDer(new Uint8Array(DER_MAX_INPUT + 1)))).toBe("E_LIMIT");
  let deep = derInteger(1);
  for (let i = 0; i < 40; i++) deep = derSequence(deep);
  expect(codeOf(() => parseDer(deep))).toBe("E_LIMIT");
  expect(codeOf(() => readSmallInteger(parseDer(derInteger(hex("0100000000000000"))), "x"))).toBe("E_LIMIT");
});

test("P-256 SubjectPublicKeyInfo equals OpenSSL's, and parses back", () => {
  const key = crypto.p256Generate();
  const point = crypto.p256PublicKey(key);
  const spki = spkiFromP256(point);
  const jwk = { kty: "EC", crv: "P-256", x: Buffer.from(point.subarray(1, 33)).toString("base64url"), y: Buffer.from(point.subarray(33)).toString("base64url") };
  const openssl = nodeCrypto.createPublicKey({ key: jwk, format: "jwk" }).export({ format: "der", type: "spki" });
  expect(toHex(spki)).toBe(openssl.toString("hex"));
  const parsed = parseSpki(spki);
  expect(parsed.kind).toBe("p256");
  expect(toHex((parsed as { point65: Uint8Array }).point65)).toBe(toHex(point));
  expect(toHex(keyIdOfSpki(crypto, spki))).toBe(nodeCrypto.createHash("sha256").update(spki).digest("hex"));
});

test("RSA SubjectPublicKeyInfo: PKCS#1 extracted exactly, rebuilt identically; weak or foreign keys refused", () => {
  const { publicKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const spki = new Uint8Array(publicKey.export({ format: "der", type: "spki" }));
  const parsed = parseSpki(spki);
  expect(parsed).toMatchObject({ kind: "rsa", modulusBits: 2048 });
  expect(toHex((parsed as { pkcs1Der: Uint8Array }).pkcs1Der)).toBe(publicKey.export({ format: "der", type: "pkcs1" }).toString("hex"));
  expect(toHex(spkiFromRsa((parsed as { pkcs1Der: Uint8Array }).pkcs1Der))).toBe(toHex(spki));
  const small = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "der", type: "spki" });
  expect(codeOf(() => parseSpki(new Uint8Array(small)))).toBe("E_FORMAT");
  const p384 = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey.export({ format: "der", type: "spki" });
  expect(codeOf(() => parseSpki(new Uint8Array(p384)))).toBe("E_FORMAT");
  const ed = nodeCrypto.generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" });
  expect(codeOf(() => parseSpki(new Uint8Array(ed)))).toBe("E_FORMAT");
  const raw = nodeCrypto.createECDH("prime256v1");
  raw.generateKeys();
  const c = new Uint8Array(raw.getPublicKey(undefined, "compressed"));
  expect(codeOf(() => spkiFromP256(c))).toBe("E_ARGUMENT");
});
