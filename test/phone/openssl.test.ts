/**
 * Interoperability with the real OpenSSL CLI (installed by scripts/setup-system.sh): each PKCS#12 backup
 * the cloud stores opens with `openssl pkcs12` and the documented password (hex of the derived key), without
 * -legacy; every certificate of the account verifies against the root with `openssl verify -x509_strict`;
 * everything the account key signs (root, phone, data-key and camera certificates, the roster) carries the one
 * RSASSA-PSS AlgorithmIdentifier PROTOCOL §2 prints, and OpenSSL reads it; and our reader opens a PKCS#12
 * that OpenSSL itself wrote.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { fromBase64Url, toBase64Url } from "../../firmware/core/bytes";
import { buildCsr } from "../../firmware/core/csr";
import { parseDer, sequence } from "../../firmware/core/der";
import { parseCertificate, RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX, rsaPssSha256AlgorithmIdentifier } from "../../firmware/core/x509";
import { signRequest } from "../../firmware/core/request-auth";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { derivePassphraseKey, pkcs12Password } from "../../host-tools/phone/kdf";
import { LABEL_DATA_KEY_WRAP, Phone } from "../../host-tools/phone/phone";
import { readPkcs12, writePkcs12 } from "../../host-tools/phone/pkcs12";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-openssl-"));
let cloud: CloudServer;
let passphrase = "";
const creds = { email: "ossl@example.org", password: "openssl tests 1" };

function openssl(args: string[]): { status: number; out: string } {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  if (r.error) throw new Error(`openssl CLI not runnable (run scripts/setup-system.sh): ${r.error.message}`);
  return { status: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

beforeAll(async () => {
  cloud = await startCloud({ dataDir: path.join(tmp, "cloud") });
  const a = new Phone({ home: path.join(tmp, "a"), cloud: cloud.url });
  passphrase = (await a.enroll(creds, "phone-a")).passphrase;
  // A camera, so there is a camera certificate to verify too.
  const key = crypto.p256Generate();
  const issued = await a.issueCameraCertificate(buildCsr(crypto, key, "cam-ossl"));
  const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId: a.state().accountId, certificate: toBase64Url(issued.certificateDer) })));
  const headers = signRequest(crypto, key, { cameraId: "cam-ossl", method: "POST", path: "/v1/camera/register", body, timestamp: Date.now() });
  expect((await fetch(cloud.url + "/v1/camera/register", { method: "POST", headers, body })).status).toBe(201);
  await new Phone({ home: path.join(tmp, "b"), cloud: cloud.url }).recover(creds, passphrase, "phone-b");
  await a.exportCertificates(path.join(tmp, "pem"));
});

afterAll(async () => {
  await cloud?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("openssl pkcs12 opens both backups with the documented passwords (no -legacy), and refuses a wrong one", async () => {
  const row = (await cloud.store.get("SELECT backup FROM e2ee")) as { backup: string };
  const backup = JSON.parse(row.backup);
  const passphraseKey = derivePassphraseKey(passphrase, backup.kdf);
  const signingFile = path.join(tmp, "signing.p12");
  fs.writeFileSync(signingFile, fromBase64Url(backup.signingKeyP12));
  const signing = openssl(["pkcs12", "-in", signingFile, "-passin", `pass:${pkcs12Password(passphraseKey)}`, "-info", "-nodes"]);
  expect(signing.status).toBe(0);
  expect(signing.out).toContain("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC");
  expect(signing.out).toContain("PRF hmacWithSHA256");
  expect(signing.out).toContain("MAC: sha256");
  expect(signing.out).toContain("-----BEGIN PRIVATE KEY-----");
  expect(signing.out).toContain("-----BEGIN CERTIFICATE-----");
  expect(openssl(["pkcs12", "-in", signingFile, "-passin", `pass:${"0".repeat(64)}`, "-nodes"]).status).not.toBe(0);

  // The data-key backup's password comes from the account signing key (RSA-OAEP), as a recovering phone does it.
  const signingKey = nodeCrypto.createPrivateKey({ key: Buffer.from(readPkcs12(fromBase64Url(backup.signingKeyP12), pkcs12Password(passphraseKey)).privateKeyPkcs8), format: "der", type: "pkcs8" });
  const dataKeyKey = new Uint8Array(nodeCrypto.privateDecrypt({ key: signingKey, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: Buffer.from(LABEL_DATA_KEY_WRAP) }, Buffer.from(fromBase64Url(backup.dataKeyWrapToSigning))));
  const dataFile = path.join(tmp, "data.p12");
  fs.writeFileSync(dataFile, fromBase64Url(backup.dataKeyP12));
  const data = openssl(["pkcs12", "-in", dataFile, "-passin", `pass:${pkcs12Password(dataKeyKey)}`, "-nodes"]);
  expect(data.status).toBe(0);
  expect(data.out).toContain("-----BEGIN PRIVATE KEY-----");
  expect(data.out).toContain("subject=CN = sealcam account data key");
});

test("openssl verify -x509_strict: every exported certificate chains to the account root", () => {
  const dir = path.join(tmp, "pem");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".pem"));
  expect(files).toEqual(expect.arrayContaining(["account-root.pem", "account-data-key.pem", "camera-cam-ossl.pem"]));
  expect(files.filter((f) => f.startsWith("phone-"))).toHaveLength(2);
  for (const file of files) {
    const r = openssl(["verify", "-x509_strict", "-CAfile", path.join(dir, "account-root.pem"), path.join(dir, file)]);
    expect({ file, status: r.status, out: r.out.trim() }).toEqual({ file, status: 0, out: `${path.join(dir, file)}: OK` });
  }
  const text = openssl(["x509", "-in", path.join(dir, "account-root.pem"), "-noout", "-text"]).out;
  expect(text).toContain("rsassaPss");
  expect(text).toMatch(/Salt Length: 0x20/);
  // A certificate from another root does not verify.
  const other = path.join(tmp, "other");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(tmp, "other.key"), "-out", other, "-subj", "/CN=other", "-days", "1"], { stdio: "ignore" });
  expect(openssl(["verify", "-x509_strict", "-CAfile", path.join(dir, "account-root.pem"), other]).status).not.toBe(0);
});

test("one RSASSA-PSS AlgorithmIdentifier for everything the account key signs, byte for byte as PROTOCOL §2 prints it; OpenSSL reads it", async () => {
  expect(Buffer.from(rsaPssSha256AlgorithmIdentifier()).toString("hex")).toBe(RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX);
  const dir = path.join(tmp, "pem");
  const pem = (file: string) => new Uint8Array(new nodeCrypto.X509Certificate(fs.readFileSync(path.join(dir, file))).raw);
  const phones = fs.readdirSync(dir).filter((f) => f.startsWith("phone-"));
  const certs: Record<string, Uint8Array> = {
    root: pem("account-root.pem"), dataKey: pem("account-data-key.pem"), camera: pem("camera-cam-ossl.pem"),
    phoneA: pem(phones[0]), phoneB: pem(phones[1]),
  };
  // The roster the cloud stores (version 2: published by the recovering phone), and the signatureAlgorithm in it.
  const row = (await cloud.store.get("SELECT roster FROM e2ee")) as { roster: Uint8Array };
  const roster = new Uint8Array(row.roster);
  const [, rosterAlg] = sequence(parseDer(roster), "roster", 3, 3);
  const seen: Record<string, string> = { roster: Buffer.from(rosterAlg.der).toString("hex") };
  for (const [name, der] of Object.entries(certs)) {
    const cert = parseCertificate(der);
    seen[name] = Buffer.from(cert.signatureAlgorithmDer).toString("hex");
    // Inside the TBS too (the copy the signature covers).
    const tbsAlg = sequence(parseDer(cert.tbs), "tbs", 7, 10)[2];
    expect(Buffer.from(tbsAlg.der).toString("hex")).toBe(seen[name]);
  }
  const expected = Object.fromEntries(Object.keys(seen).map((k) => [k, RSA_PSS_SHA256_ALGORITHM_IDENTIFIER_HEX]));
  expect(seen).toEqual(expected);

  for (const [name, der] of Object.entries(certs)) {
    const file = path.join(tmp, `alg-${name}.der`);
    fs.writeFileSync(file, der);
    const text = openssl(["x509", "-inform", "DER", "-in", file, "-noout", "-text"]);
    expect({ name, status: text.status }).toEqual({ name, status: 0 });
    const params = text.out.slice(text.out.indexOf("Signature Algorithm: rsassaPss"));
    expect(params).toMatch(/^Signature Algorithm: rsassaPss\s+Hash Algorithm: sha256\s+Mask Algorithm: mgf1 with sha256\s+Salt Length: 0x20\s+Trailer Field: 0x01 \(default\)/);
  }
  const rosterFile = path.join(tmp, "roster.der");
  fs.writeFileSync(rosterFile, roster);
  const parsed = openssl(["asn1parse", "-inform", "DER", "-in", rosterFile]);
  expect(parsed.status).toBe(0);
  expect(parsed.out).toContain(":sealcam-roster-v1");
  // The roster's own signatureAlgorithm, at its offset: OpenSSL decodes the same structure (no NULL anywhere).
  const outer = parseDer(roster);
  const algOffset = roster.length - outer.content.length + sequence(outer, "roster", 3, 3)[0].der.length;
  const alg = openssl(["asn1parse", "-inform", "DER", "-in", rosterFile, "-strparse", String(algOffset)]);
  expect(alg.status).toBe(0);
  expect(alg.out).toContain(":rsassaPss");
  expect(alg.out.match(/:sha256/g)).toHaveLength(2);
  expect(alg.out).toContain(":mgf1");
  expect(alg.out).toMatch(/INTEGER\s+:20/);
  expect(alg.out).not.toContain("NULL");
});

test("our PKCS#12 reader opens what OpenSSL writes with the same algorithms, and OpenSSL opens ours", () => {
  const keyFile = path.join(tmp, "o.key");
  const certFile = path.join(tmp, "o.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-subj", "/CN=ossl", "-days", "1"], { stdio: "ignore" });
  const p12 = path.join(tmp, "o.p12");
  const password = "a".repeat(64);
  execFileSync("openssl", ["pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-out", p12, "-passout", `pass:${password}`,
    "-keypbe", "AES-256-CBC", "-certpbe", "NONE", "-macalg", "sha256", "-iter", "10000"]);
  const opened = readPkcs12(new Uint8Array(fs.readFileSync(p12)), password);
  const expectedKey = nodeCrypto.createPrivateKey(fs.readFileSync(keyFile)).export({ format: "der", type: "pkcs8" });
  expect(Buffer.from(opened.privateKeyPkcs8).equals(expectedKey)).toBe(true);
  expect(() => readPkcs12(new Uint8Array(fs.readFileSync(p12)), "b".repeat(64))).toThrow(expect.objectContaining({ code: "E_UNWRAP" }));
  // And the reverse, with a non-hex printable password.
  const ours = writePkcs12({ privateKeyPkcs8: new Uint8Array(expectedKey), certificateDer: new Uint8Array(new nodeCrypto.X509Certificate(fs.readFileSync(certFile)).raw), password: "Pass word!", friendlyName: "t" });
  const oursFile = path.join(tmp, "ours.p12");
  fs.writeFileSync(oursFile, ours);
  expect(openssl(["pkcs12", "-in", oursFile, "-passin", "pass:Pass word!", "-nodes"]).status).toBe(0);
});
