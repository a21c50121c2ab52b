/**
 * Stream keys (PROTOCOL §14) in certificates and the roster: the critical stream-scope extension, the roster's
 * `stream` role, the one 16-entry limit, and streamRecipientsFor (which stream keys a clip is wrapped to).
 * Certificates come from the phone's issuer; forgeries and malformed scopes are built by hand with the same
 * library and the account key.
 */
import "reflect-metadata";
import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import * as x509lib from "@peculiar/x509";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { derGeneralizedTime, derInteger, derSequence, derUtf8String, derBitString } from "../../firmware/core/der";
import { spkiFromP256 } from "../../firmware/core/keys";
import { assembleRoster, encodeRosterTbs, verifyRoster, ROSTER_FORMAT, type RosterRole } from "../../firmware/core/roster";
import {
  encodeStreamScope, OID_STREAM_SCOPE, OID_STREAM_SCOPE_DER_HEX, parseStreamScope, streamRecipientsFor, type StreamScope,
} from "../../firmware/core/stream-scope";
import { parseCertificate, rsaPssSha256AlgorithmIdentifier, RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX, verifyChain } from "../../firmware/core/x509";
import {
  createAccountSigningKey, issueLeafCertificate, issueStreamCertificate, signPss, SCOPE_PLACEHOLDER_OID, withScopeOid, type AccountSigningKey,
} from "../../host-tools/phone/certs";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const ACCOUNT = "acct-share";
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0); // notBefore of the scopes below
const T1 = Date.UTC(2026, 10, 8, 12, 0, 0); // notAfter of the TDSK
let account: AccountSigningKey;
let stranger: AccountSigningKey; // same root name, another key
let phoneCert: Uint8Array;
let dataCert: Uint8Array;
const streamKey = crypto.p256Generate();
const streamSpki = spkiFromP256(crypto.p256PublicKey(streamKey));
const tdskScope: StreamScope = { cameras: ["cam-garage"], streams: ["video", "snapshot"], notBefore: T0, notAfter: T1, holder: "share:alice" };
const dskScope: StreamScope = { cameras: [], streams: ["snapshot"], notBefore: T0, notAfter: null, holder: "cloud" };
let tdskCert: Uint8Array;
let dskCert: Uint8Array;

const codeOf = async (fn: () => unknown): Promise<string> => {
  try {
    await fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "none";
};

const p256Spki = () => spkiFromP256(crypto.p256PublicKey(crypto.p256Generate()));
const rsaSpki = () => new Uint8Array(nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "der", type: "spki" }));

async function roster(signer: AccountSigningKey, version: number, entries: { role: RosterRole; certificateDer: Uint8Array }[]) {
  const tbs = encodeRosterTbs(crypto, { accountId: ACCOUNT, version, issuedAt: Date.now(), entries });
  return assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs));
}

/** A leaf signed by `signer` with exactly these extensions (for scopes the issuer refuses to write). */
async function handIssued(signer: AccountSigningKey, spki: Uint8Array, extensions: x509lib.Extension[], usage = x509lib.KeyUsageFlags.keyAgreement) {
  const root = new x509lib.X509Certificate(signer.rootCertDer);
  const cert = await x509lib.X509CertificateGenerator.create({
    serialNumber: "0badc0de", subject: "CN=sealcam stream hand", issuer: root.subject,
    notBefore: new Date(T0 - 86400e3), notAfter: new Date(T0 + 20 * 365 * 86400e3),
    publicKey: spki, signingKey: signer.privateKey, signingAlgorithm: { name: "RSA-PSS", saltLength: 32 } as never,
    extensions: [
      new x509lib.BasicConstraintsExtension(false, undefined, true),
      new x509lib.KeyUsagesExtension(usage, true),
      ...extensions,
    ],
  });
  const der = new Uint8Array(cert.rawData);
  return extensions.some((e) => e.type === SCOPE_PLACEHOLDER_OID) ? withScopeOid(signer, der) : der;
}

/** A scope value encoded by hand (bypassing encodeStreamScope's checks). */
function rawScope(cameras: string[], streams: string[], notBefore: number, notAfter: number | null, holder: string): Uint8Array {
  const items = [derSequence(...cameras.map(derUtf8String)), derSequence(...streams.map(derUtf8String)), derGeneralizedTime(notBefore)];
  if (notAfter !== null) items.push(derGeneralizedTime(notAfter));
  items.push(derUtf8String(holder));
  return derSequence(...items);
}

beforeAll(async () => {
  account = await createAccountSigningKey(ACCOUNT);
  stranger = await createAccountSigningKey(ACCOUNT);
  phoneCert = await issueLeafCertificate(account, "phone", "phone one", p256Spki());
  dataCert = await issueLeafCertificate(account, "account-data", "data", rsaSpki());
  tdskCert = await issueStreamCertificate(account, streamSpki, tdskScope);
  dskCert = await issueStreamCertificate(account, p256Spki(), dskScope);
});

const base = () => [{ role: "phone" as const, certificateDer: phoneCert }, { role: "account-data" as const, certificateDer: dataCert }];

describe("the stream-scope extension", () => {
  test("the OID is 2.25.<UUID as an integer>.1 and its DER is the documented constant", () => {
    const uuid = "2455d238-3abb-4999-b148-06dec2c1faa1";
    const arc = BigInt(`0x${uuid.replace(/-/g, "")}`);
    expect(OID_STREAM_SCOPE).toBe(`2.25.${arc.toString()}.1`);
    const enc = (v: bigint) => {
      const groups: number[] = [];
      do { groups.unshift(Number(v % 128n)); v /= 128n; } while (v > 0n);
      return groups.map((g, i) => g | (i < groups.length - 1 ? 0x80 : 0));
    };
    const content = [2 * 40 + 25, ...enc(arc), 1];
    expect(toHex(new Uint8Array([0x06, content.length, ...content]))).toBe(OID_STREAM_SCOPE_DER_HEX);
  });

  test("a stream certificate carries its scope, critical, and the one PSS AlgorithmIdentifier", () => {
    const cert = verifyChain(crypto, parseCertificate(tdskCert), parseCertificate(account.rootCertDer));
    expect(cert.streamScope).toEqual(tdskScope);
    expect(toHex(cert.signatureAlgorithmDer)).toBe(RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX);
    expect(cert.subjectCommonName).toBe("sealcam stream share:alice");
    expect(parseCertificate(dskCert).streamScope).toEqual(dskScope);
    expect(parseCertificate(phoneCert).streamScope).toBeNull();
    // Round trip of the value itself.
    expect(parseStreamScope(encodeStreamScope(tdskScope))).toEqual(tdskScope);
  });

  test("OpenSSL parses a stream certificate and shows the unknown critical extension", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-stream-"));
    try {
      const file = path.join(tmp, "stream.der");
      fs.writeFileSync(file, tdskCert);
      const text = childProcess.execFileSync("openssl", ["x509", "-inform", "DER", "-in", file, "-noout", "-text"], { encoding: "utf8" });
      expect(text).toContain(`${OID_STREAM_SCOPE}: critical`);
      expect(text).toContain("Key Agreement");
      expect(text).toContain("Signature Algorithm: rsassaPss");
      // Generic X.509 software refuses to use it for anything: it does not understand the critical scope.
      const rootFile = path.join(tmp, "root.pem");
      const leafFile = path.join(tmp, "stream.pem");
      fs.writeFileSync(rootFile, new nodeCrypto.X509Certificate(Buffer.from(account.rootCertDer)).toString());
      fs.writeFileSync(leafFile, new nodeCrypto.X509Certificate(Buffer.from(tdskCert)).toString());
      const verify = childProcess.spawnSync("openssl", ["verify", "-x509_strict", "-CAfile", rootFile, leafFile], { encoding: "utf8" });
      expect(verify.status).not.toBe(0);
      expect(verify.stdout + verify.stderr).toMatch(/unhandled critical extension/i);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("the issuer refuses a bad scope (E_ARGUMENT) and a non-P-256 stream key", async () => {
    expect(await codeOf(() => issueStreamCertificate(account, p256Spki(), { ...tdskScope, streams: ["telemetry" as never] }))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueStreamCertificate(account, p256Spki(), { ...tdskScope, notAfter: T0 }))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueStreamCertificate(account, p256Spki(), { ...tdskScope, holder: "mallory" }))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueStreamCertificate(account, p256Spki(), { ...tdskScope, streams: [] }))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueStreamCertificate(account, p256Spki(), { ...tdskScope, cameras: ["Cam-X"] }))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueStreamCertificate(account, rsaSpki(), tdskScope))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueLeafCertificate(account, "phone", "phone scoped", p256Spki(), Date.now(), tdskScope))).toBe("E_ARGUMENT");
    expect(await codeOf(() => issueLeafCertificate(account, "stream", "stream unscoped", p256Spki()))).toBe("E_ARGUMENT");
  });

  test("malformed scopes in a certificate: E_FORMAT; a non-critical scope: E_CERT", async () => {
    const ext = (value: Uint8Array, critical = true) => new x509lib.Extension(SCOPE_PLACEHOLDER_OID, critical, value);
    const cases: [string, Uint8Array, string][] = [
      ["unknown stream name", rawScope([], ["video", "telemetry"], T0, null, "cloud"), "E_FORMAT"],
      ["notAfter = notBefore", rawScope([], ["video"], T0, T0, "cloud"), "E_FORMAT"],
      ["notAfter < notBefore", rawScope([], ["video"], T1, T0, "cloud"), "E_FORMAT"],
      ["no stream", rawScope([], [], T0, null, "cloud"), "E_FORMAT"],
      ["stream twice", rawScope([], ["video", "video"], T0, null, "cloud"), "E_FORMAT"],
      ["bad holder", rawScope([], ["video"], T0, null, "share:"), "E_FORMAT"],
      ["bad camera id", rawScope(["CAM"], ["video"], T0, null, "cloud"), "E_FORMAT"],
      ["UTCTime instead of GeneralizedTime", derSequence(derSequence(), derSequence(derUtf8String("video")), fromHex("170d3236313130313132303030305a"), derUtf8String("cloud")), "E_FORMAT"],
      ["not a SEQUENCE", derInteger(5), "E_FORMAT"],
      ["trailing field", derSequence(derSequence(), derSequence(derUtf8String("video")), derGeneralizedTime(T0), derGeneralizedTime(T1), derUtf8String("cloud"), derUtf8String("x")), "E_FORMAT"],
    ];
    for (const [name, value, code] of cases) {
      const der = await handIssued(account, p256Spki(), [ext(value)]);
      expect([name, await codeOf(() => parseCertificate(der))]).toEqual([name, code]);
    }
    const nonCritical = await handIssued(account, p256Spki(), [ext(encodeStreamScope(tdskScope), false)]);
    expect(await codeOf(() => parseCertificate(nonCritical))).toBe("E_CERT");
  });
});

describe("the roster's stream role", () => {
  test("a roster with stream keys verifies: clip recipients stay phones + data key, stream keys come with their scope", async () => {
    const bytes = await roster(account, 3, [...base(), { role: "stream", certificateDer: tdskCert }, { role: "stream", certificateDer: dskCert }]);
    const r = verifyRoster(crypto, bytes, account.rootCertDer, { minVersion: 1 });
    expect(r.entries.map((e) => e.role).sort()).toEqual(["account-data", "phone", "stream", "stream"]);
    expect(r.recipients.map((x) => x.kind).sort()).toEqual(["hpke-p256", "rsa-oaep-sha256"]);
    expect(r.streamKeys).toHaveLength(2);
    const tdsk = r.streamKeys.find((k) => k.scope.holder === "share:alice")!;
    expect(toHex(tdsk.publicKey)).toBe(toHex(crypto.p256PublicKey(streamKey)));
    expect(toHex(tdsk.keyId)).toBe(toHex(crypto.sha256(streamSpki)));
  });

  test("a forged stream certificate (another CA, same root name) is E_CERT", async () => {
    const forged = await issueStreamCertificate(stranger, p256Spki(), { ...tdskScope, cameras: [] });
    const bytes = await roster(account, 3, [...base(), { role: "stream", certificateDer: forged }]);
    expect(await codeOf(() => verifyRoster(crypto, bytes, account.rootCertDer, { minVersion: 1 }))).toBe("E_CERT");
  });

  test("a stream entry in a roster signed by another account is E_SIGNATURE", async () => {
    const bytes = await roster(stranger, 3, [...base(), { role: "stream", certificateDer: tdskCert }]);
    expect(await codeOf(() => verifyRoster(crypto, bytes, account.rootCertDer, { minVersion: 1 }))).toBe("E_SIGNATURE");
  });

  test("a stream certificate listed as a phone, or as the data key, is E_ROSTER (it would get every clip)", async () => {
    const asPhone = await roster(account, 3, [{ role: "phone", certificateDer: tdskCert }, { role: "phone", certificateDer: phoneCert }, { role: "account-data", certificateDer: dataCert }]);
    expect(await codeOf(() => verifyRoster(crypto, asPhone, account.rootCertDer, { minVersion: 1 }))).toBe("E_ROSTER");
    const scopedRsa = await handIssued(account, rsaSpki(), [new x509lib.Extension(SCOPE_PLACEHOLDER_OID, true, encodeStreamScope(dskScope))], x509lib.KeyUsageFlags.keyEncipherment);
    const asData = await roster(account, 3, [{ role: "phone", certificateDer: phoneCert }, { role: "account-data", certificateDer: scopedRsa }]);
    expect(await codeOf(() => verifyRoster(crypto, asData, account.rootCertDer, { minVersion: 1 }))).toBe("E_ROSTER");
  });

  test("a phone certificate (no scope) listed as a stream key is E_ROSTER", async () => {
    const phone2 = await issueLeafCertificate(account, "phone", "phone two", p256Spki());
    const bytes = await roster(account, 3, [...base(), { role: "stream", certificateDer: phone2 }]);
    expect(await codeOf(() => verifyRoster(crypto, bytes, account.rootCertDer, { minVersion: 1 }))).toBe("E_ROSTER");
  });

  test("a stream key that is RSA, or lacks keyAgreement, is E_ROSTER", async () => {
    const scope = [new x509lib.Extension(SCOPE_PLACEHOLDER_OID, true, encodeStreamScope(tdskScope))];
    const rsa = await handIssued(account, rsaSpki(), scope);
    const signing = await handIssued(account, p256Spki(), scope, x509lib.KeyUsageFlags.digitalSignature);
    for (const der of [rsa, signing]) {
      const bytes = await roster(account, 3, [...base(), { role: "stream", certificateDer: der }]);
      expect(await codeOf(() => verifyRoster(crypto, bytes, account.rootCertDer, { minVersion: 1 }))).toBe("E_ROSTER");
    }
  });

  test("a stream entry whose certificate has a malformed scope is E_FORMAT; unknown role is E_FORMAT", async () => {
    const bad = await handIssued(account, p256Spki(), [new x509lib.Extension(SCOPE_PLACEHOLDER_OID, true, rawScope([], ["audio", "smell"], T0, null, "cloud"))]);
    const entries = [...base().map((e) => ({ role: e.role as string, der: e.certificateDer })), { role: "stream", der: bad }];
    const handTbs = (list: { role: string; der: Uint8Array }[]) => derSequence(
      derUtf8String(ROSTER_FORMAT), derUtf8String(ACCOUNT), derInteger(3), derGeneralizedTime(T0),
      derSequence(...list.map((e) => ({ ...e, id: crypto.sha256(parseSpkiOf(e.der)) }))
        .sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)))
        .map((e) => derSequence(derUtf8String(e.role), e.der))),
    );
    const sign = async (tbs: Uint8Array) => derSequence(tbs, rsaPssSha256AlgorithmIdentifier(), derBitString(await signPss(account, tbs)));
    expect(await codeOf(async () => verifyRoster(crypto, await sign(handTbs(entries)), account.rootCertDer, { minVersion: 1 }))).toBe("E_FORMAT");
    const viewer = [...base().map((e) => ({ role: e.role as string, der: e.certificateDer })), { role: "viewer", der: tdskCert }];
    expect(await codeOf(async () => verifyRoster(crypto, await sign(handTbs(viewer)), account.rootCertDer, { minVersion: 1 }))).toBe("E_FORMAT");
  });

  test("one limit: 15 phones + data key + 1 stream key = 17 entries is E_LIMIT (made and read); 14 phones + data + 1 stream fits", async () => {
    const phones: Uint8Array[] = [];
    for (let i = 0; i < 15; i++) phones.push(await issueLeafCertificate(account, "phone", `phone ${i}`, p256Spki()));
    const entries = [
      ...phones.map((der) => ({ role: "phone" as const, certificateDer: der })),
      { role: "account-data" as const, certificateDer: dataCert },
      { role: "stream" as const, certificateDer: tdskCert },
    ];
    expect(await codeOf(() => encodeRosterTbs(crypto, { accountId: ACCOUNT, version: 4, issuedAt: T0, entries }))).toBe("E_LIMIT");
    // Hand-assembled and validly signed: the camera refuses it all the same.
    const tbs = derSequence(
      derUtf8String(ROSTER_FORMAT), derUtf8String(ACCOUNT), derInteger(4), derGeneralizedTime(T0),
      derSequence(...entries.map((e) => derSequence(derUtf8String(e.role), e.certificateDer))),
    );
    const signed = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(account, tbs));
    expect(await codeOf(() => verifyRoster(crypto, signed, account.rootCertDer, { minVersion: 1 }))).toBe("E_LIMIT");
    const fits = await roster(account, 4, entries.slice(1));
    const r = verifyRoster(crypto, fits, account.rootCertDer, { minVersion: 1 });
    expect(r.recipients).toHaveLength(15);
    expect(r.streamKeys).toHaveLength(1);
  });
});

function parseSpkiOf(der: Uint8Array): Uint8Array {
  return parseCertificate(der).spki;
}

describe("streamRecipientsFor: the camera's decision, from the verified roster and the capture time only", () => {
  let verified: ReturnType<typeof verifyRoster>;
  beforeAll(async () => {
    verified = verifyRoster(crypto, await roster(account, 3, [...base(), { role: "stream", certificateDer: tdskCert }, { role: "stream", certificateDer: dskCert }]), account.rootCertDer, { minVersion: 1 });
  });
  const holders = (cameraId: string, stream: "video" | "snapshot" | "audio" | "live", captureTime: number) =>
    streamRecipientsFor(verified, { cameraId, stream, captureTime }).map((r) => verified.streamKeys.find((k) => toHex(k.keyId) === toHex(r.keyId))!.scope.holder).sort();

  test("in scope: camera, stream and captureTime in [notBefore, notAfter)", () => {
    expect(holders("cam-garage", "video", T0)).toEqual(["share:alice"]);
    expect(holders("cam-garage", "video", T1 - 1)).toEqual(["share:alice"]);
    expect(holders("cam-garage", "snapshot", T0 + 1000)).toEqual(["cloud", "share:alice"]);
    const r = streamRecipientsFor(verified, { cameraId: "cam-garage", stream: "video", captureTime: T0 });
    expect(r).toEqual([{ kind: "hpke-p256-stream", keyId: crypto.sha256(streamSpki), publicKey: crypto.p256PublicKey(streamKey) }]);
  });

  test("out of scope: another camera, another stream, before notBefore, at and after notAfter", () => {
    expect(holders("cam-porch", "video", T0 + 1000)).toEqual([]);
    expect(holders("cam-porch", "snapshot", T0 + 1000)).toEqual(["cloud"]); // the DSK names all cameras
    expect(holders("cam-garage", "audio", T0 + 1000)).toEqual([]);
    expect(holders("cam-garage", "live", T0 + 1000)).toEqual([]);
    expect(holders("cam-garage", "snapshot", T0 - 1)).toEqual([]);
    expect(holders("cam-garage", "video", T1)).toEqual([]);
    expect(holders("cam-garage", "video", T1 + 1)).toEqual([]);
    expect(holders("cam-garage", "snapshot", T1 + 365 * 86400e3)).toEqual(["cloud"]); // a DSK has no end
  });

  test("a malformed query is E_ARGUMENT; a roster without stream keys gives none", () => {
    expect(() => streamRecipientsFor(verified, { cameraId: "cam-garage", stream: "smell" as never, captureTime: T0 })).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
    expect(() => streamRecipientsFor(verified, { cameraId: "Cam", stream: "video", captureTime: T0 })).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
    expect(() => streamRecipientsFor(verified, { cameraId: "cam-garage", stream: "video", captureTime: -1 })).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
    expect(streamRecipientsFor({ streamKeys: [] }, { cameraId: "cam-garage", stream: "video", captureTime: T0 })).toEqual([]);
  });
});
