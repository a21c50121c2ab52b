/**
 * The camera's side of this issue, in XS: firmware/core/{der,keys,x509,roster,request-auth}.ts bundled for the
 * XS host and run with the camera's NativeCrypto (mbedtls) against rosters and certificates the phone made
 * with @peculiar/x509 and WebCrypto on the host; and the other way, a CSR and a signed request made in XS
 * checked on the host.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BoardSim, xsHostBinary } from "../../host-tools/board-sim/board-sim";
import { bundleFirmware } from "../../host-tools/board-sim/bundle";
import type { ChannelValue } from "../../host-tools/board-sim/board-sim";
import { toHex } from "../../firmware/core/bytes";
import { spkiFromP256 } from "../../firmware/core/keys";
import { parseRequestAuthHeaders, signRequest, verifyRequest } from "../../firmware/core/request-auth";
import { verifyRoster } from "../../firmware/core/roster";
import { verifyCertificationRequest } from "../../firmware/core/x509";
import * as nodeCrypto from "node:crypto";
import { createAccountSigningKey, issueLeafCertificate } from "../../host-tools/phone/certs";
import { signRoster } from "../../host-tools/phone/phone";
import { assembleRoster, encodeRosterTbs } from "../../firmware/core/roster";
import { rsaPssSha256AlgorithmIdentifier } from "../../firmware/core/x509";
import { signPss } from "../../host-tools/phone/certs";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-xs-core-"));
let sim: BoardSim | undefined;

afterAll(async () => {
  if (sim && !sim.failure) await sim.stop().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("roster, chain, DER and request-auth checks behave the same in XS with NativeCrypto", async () => {
  const account = await createAccountSigningKey("acct-xs");
  const stranger = await createAccountSigningKey("acct-xs");
  const phoneKey = crypto.p256Generate();
  const phoneCert = await issueLeafCertificate(account, "phone", "phone xs", spkiFromP256(crypto.p256PublicKey(phoneKey)));
  const dataSpki = new Uint8Array(nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "der", type: "spki" }));
  const dataCert = await issueLeafCertificate(account, "account-data", "data xs", dataSpki);
  const strangerCert = await issueLeafCertificate(stranger, "phone", "intruder", spkiFromP256(crypto.p256PublicKey(crypto.p256Generate())));
  const entries = [{ role: "phone" as const, certificateDer: phoneCert }, { role: "account-data" as const, certificateDer: dataCert }];
  const handSigned = async (signer: typeof account, version: number, list: typeof entries) => {
    const tbs = encodeRosterTbs(crypto, { accountId: "acct-xs", version, issuedAt: Date.now(), entries: list });
    return assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs));
  };
  const roster = await signRoster(crypto, account, "acct-xs", 5, entries);
  const expected = verifyRoster(crypto, roster, account.rootCertDer, { minVersion: 5 }).recipients.map((r) => `${r.kind}:${toHex(r.keyId)}`);
  const signerKey = crypto.p256Generate();
  const body = new Uint8Array([9, 8, 7]);
  const fixtures = {
    root: account.rootCertDer,
    roster,
    rosterVersion: 5,
    recipientKeyIds: expected,
    forged: await handSigned(stranger, 6, entries),
    older: await signRoster(crypto, account, "acct-xs", 4, entries),
    injected: await handSigned(account, 6, [...entries, { role: "phone", certificateDer: strangerCert }]),
    leaf: phoneCert,
    stranger: strangerCert,
    signedHeaders: signRequest(crypto, signerKey, { cameraId: "cam-host", method: "PUT", path: "/v1/clips/ab/segments/0", body, timestamp: 1800000000000 }),
    signedBody: body,
    signerPublic: crypto.p256PublicKey(signerKey),
  };

  const bundle = path.join(tmp, "xs-core.js");
  await bundleFirmware(path.join(__dirname, "xs-core.entry.ts"), bundle);
  sim = new BoardSim();
  sim.handle("fixtures", () => fixtures as unknown as ChannelValue);
  const made = sim.once("made", 60000);
  const done = sim.once("done", 60000);
  await sim.start(xsHostBinary(false), bundle, { timeoutMs: 60000 });
  const result = (await done) as { passed: string[]; failed: { name: string; message: string }[] };
  expect(result.failed).toEqual([]);
  expect(result.passed).toHaveLength(5);

  const m = (await made) as { csr: Uint8Array; spki: Uint8Array; keyId: Uint8Array; headers: Record<string, string> };
  const request = verifyCertificationRequest(crypto, m.csr);
  expect(request.subjectCommonName).toBe("cam-xs");
  expect(toHex(request.spki)).toBe(toHex(m.spki));
  expect(toHex(m.keyId)).toBe(toHex(crypto.sha256(m.spki)));
  const auth = parseRequestAuthHeaders(m.headers);
  const point = m.spki.subarray(m.spki.length - 65);
  verifyRequest(crypto, point, auth, { method: "GET", path: "/v1/camera/roster", bodyHash: crypto.sha256(new Uint8Array(0)) }, 1800000000000);
  await sim.stop();
});
