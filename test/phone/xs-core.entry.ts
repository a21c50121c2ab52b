// Runs in XS with the camera's NativeCrypto (driven by test/phone/xs-core.test.ts): the roster, X.509, DER
// and request-auth code a camera runs, against fixtures the phone made on the host.
/// <reference path="../../firmware/types/sealcam-host-channel.d.ts" />
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { parseDer } from "../../firmware/core/der";
import { keyIdOfSpki, spkiFromP256 } from "../../firmware/core/keys";
import { verifyRoster } from "../../firmware/core/roster";
import { parseCertificate, verifyChain, verifyCertificationRequest } from "../../firmware/core/x509";
import { buildCsr } from "../../firmware/core/csr";
import { parseRequestAuthHeaders, signRequest, verifyRequest } from "../../firmware/core/request-auth";
import { emit } from "sealcam/host-channel";
import { ask, assert, assertThrowsCode, run, test } from "../xs/harness";

const crypto = new NativeCrypto();

interface Fixtures {
  root: Uint8Array;
  roster: Uint8Array;
  rosterVersion: number;
  recipientKeyIds: string[];
  forged: Uint8Array;
  older: Uint8Array;
  injected: Uint8Array;
  leaf: Uint8Array;
  stranger: Uint8Array;
  signedHeaders: { [key: string]: string };
  signedBody: Uint8Array;
  signerPublic: Uint8Array;
}

void (async () => {
  const f = (await ask("fixtures")) as unknown as Fixtures;

  test("a valid roster verifies and yields the sealer's recipients", () => {
    const roster = verifyRoster(crypto, f.roster, f.root, { minVersion: f.rosterVersion });
    assert(roster.version === f.rosterVersion, "version");
    const ids = roster.recipients.map((r) => r.kind + ":" + toHex(r.keyId)).sort();
    assert(ids.join(",") === f.recipientKeyIds.slice().sort().join(","), `recipients ${ids.join(",")}`);
  });
  test("forged, older and injected rosters are refused", () => {
    assertThrowsCode(() => verifyRoster(crypto, f.forged, f.root, { minVersion: 1 }), "E_SIGNATURE", "forged");
    assertThrowsCode(() => verifyRoster(crypto, f.older, f.root, { minVersion: f.rosterVersion }), "E_ROSTER", "older");
    assertThrowsCode(() => verifyRoster(crypto, f.injected, f.root, { minVersion: 1 }), "E_CERT", "injected");
  });
  test("certificate chains: ours verifies, a stranger's does not", () => {
    verifyChain(crypto, parseCertificate(f.leaf), parseCertificate(f.root));
    assertThrowsCode(() => verifyChain(crypto, parseCertificate(f.stranger), parseCertificate(f.root)), "E_CERT", "stranger");
  });
  test("malformed DER is a typed error", () => {
    assertThrowsCode(() => parseDer(fromHex("3080")), "E_FORMAT", "indefinite");
    assertThrowsCode(() => parseDer(fromHex("30810100")), "E_FORMAT", "non-minimal length");
    assertThrowsCode(() => parseDer(fromHex("300000")), "E_FORMAT", "trailing");
  });
  test("a request signed on the host verifies here", () => {
    const auth = parseRequestAuthHeaders(f.signedHeaders);
    verifyRequest(crypto, f.signerPublic, auth, { method: "PUT", path: "/v1/clips/ab/segments/0", bodyHash: crypto.sha256(f.signedBody) }, auth.timestamp);
  });

  // What the host verifies: a CSR and a signed request made here with the camera's crypto.
  const key = crypto.p256Generate();
  const csr = buildCsr(crypto, key, "cam-xs");
  verifyCertificationRequest(crypto, csr);
  const spki = spkiFromP256(crypto.p256PublicKey(key));
  const headers = signRequest(crypto, key, { cameraId: "cam-xs", method: "GET", path: "/v1/camera/roster", timestamp: 1800000000000 });
  emit("made", { csr, spki, keyId: keyIdOfSpki(crypto, spki), headers });
  await run();
})();
