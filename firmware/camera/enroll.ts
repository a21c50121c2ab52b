/**
 * Enrollment over the setup channel (whitepaper "Enrolling a Ring device", step 3): the camera makes its own
 * P-256 key, sends a PKCS#10 request, and accepts back its certificate, the account root, the key roster,
 * the home Wi-Fi and the cloud endpoint, checking each before anything is stored:
 *   - the certificate chains to that root (RSASSA-PSS by the account signing key) and holds our key;
 *   - its CN is a valid camera id (the name the cloud will know us by);
 *   - the roster is signed by the root, lists only keys the root certified, and is for the root's account;
 *   - Wi-Fi and cloud settings are well-formed.
 * Then everything is committed at once (store.ts). The private key never leaves the Crypto provider except
 * as the scalar that goes to storage.
 */
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import type { Clock } from "../platform/clock";
import { constantTimeEqual, fromBase64Url, toBase64Url, toHex, utf8Bytes } from "../core/bytes";
import { buildCsr } from "../core/csr";
import { fail } from "../core/errors";
import { spkiFromP256 } from "../core/keys";
import { isCameraId } from "../core/request-auth";
import { verifyRoster } from "../core/roster";
import { parseCertificate, verifyChain } from "../core/x509";
import type { CameraStore, Provisioning } from "./store";

/** Before this (2021-01-01) the camera has no real time yet, so certificate validity is not checked. */
export const CLOCK_TRUSTED_AFTER = 1609459200000;

export interface ProvisionResult {
  cameraId: string;
  accountId: string;
  rosterVersion: number;
  recipients: number;
}

function bytesField(request: Record<string, unknown>, name: string, max: number): Uint8Array {
  const v = request[name];
  if (typeof v !== "string" || v.length === 0) fail("E_FORMAT", `setup: ${name} missing`);
  if (v.length > Math.ceil((max * 4) / 3)) fail("E_LIMIT", `setup: ${name} too large`);
  return fromBase64Url(v);
}

function textField(value: unknown, name: string, min: number, max: number): string {
  if (typeof value !== "string") fail("E_FORMAT", `setup: ${name} missing`);
  const length = utf8Bytes(value).length;
  if (length < min || length > max) fail("E_FORMAT", `setup: ${name} must be ${min}..${max} bytes`);
  return value;
}

export class Enrollment {
  private key: P256PrivateKey | undefined;
  private csrDer: Uint8Array | undefined;
  private cameraIdValue = "";

  constructor(
    private readonly crypto: Crypto,
    private readonly clock: Clock,
    private readonly store: CameraStore,
    /** A test and simulator hook: called at each storage step of the commit (power-cut injection). */
    private readonly cut?: (step: string) => void,
  ) {}

  /** The CSR for this setup session's key (made on first use, then the same bytes). */
  csr(): { csr: string; cameraId: string } {
    if (!this.key || !this.csrDer) {
      this.key = this.crypto.p256Generate();
      const spki = spkiFromP256(this.crypto.p256PublicKey(this.key));
      this.cameraIdValue = "cam-" + toHex(this.crypto.sha256(spki)).slice(0, 16);
      this.csrDer = buildCsr(this.crypto, this.key, this.cameraIdValue);
    }
    return { csr: toBase64Url(this.csrDer), cameraId: this.cameraIdValue };
  }

  /** Checks and commits a provision request; throws E_CERT/E_ROSTER/E_SIGNATURE/E_FORMAT and stores nothing then. */
  provision(request: Record<string, unknown>): { result: ProvisionResult; provisioning: Provisioning } {
    if (!this.key) fail("E_STATE", "ask for the certificate request first");
    const certificate = bytesField(request, "certificate", 8192);
    const rootDer = bytesField(request, "root", 8192);
    const rosterBytes = bytesField(request, "roster", 64 * 1024);
    const wifiIn = request.wifi as { ssid?: unknown; password?: unknown } | undefined;
    if (!wifiIn || typeof wifiIn !== "object") fail("E_FORMAT", "setup: wifi missing");
    const ssid = textField(wifiIn.ssid, "wifi ssid", 1, 32);
    const password = textField(wifiIn.password, "wifi password", 0, 63);
    if (password.length > 0 && password.length < 8) fail("E_FORMAT", "setup: wifi password must be 8..63 characters (or empty for an open network)");
    const cloudUrl = textField(request.cloudUrl, "cloud url", 8, 200);
    if (!/^https?:\/\/[A-Za-z0-9.\-]+(:[0-9]{1,5})?(\/[A-Za-z0-9\-._~/]*)?$/.test(cloudUrl)) fail("E_FORMAT", "setup: cloud url is not an http(s) url");

    const now = this.clock.now();
    const checkTime = now > CLOCK_TRUSTED_AFTER ? now : undefined;
    const root = parseCertificate(rootDer);
    const cert = verifyChain(this.crypto, parseCertificate(certificate), root, { now: checkTime });
    if (cert.publicKey.kind !== "p256" || !constantTimeEqual(cert.publicKey.point65, this.crypto.p256PublicKey(this.key))) {
      fail("E_CERT", "certificate is not for this camera's key");
    }
    const cameraId = cert.subjectCommonName;
    if (!cameraId || !isCameraId(cameraId)) fail("E_CERT", "certificate CN is not a camera id");
    const roster = verifyRoster(this.crypto, rosterBytes, rootDer, { minVersion: 1, now: checkTime });

    const provisioning: Provisioning = {
      cameraId,
      accountId: roster.accountId,
      keyScalar: this.crypto.p256Export(this.key),
      certificate,
      root: rootDer,
      wifi: { ssid, password },
      cloudUrl: cloudUrl.replace(/\/+$/, ""),
    };
    this.store.commitProvisioning(provisioning, { bytes: rosterBytes, version: roster.version }, this.cut);
    return {
      result: { cameraId, accountId: roster.accountId, rosterVersion: roster.version, recipients: roster.recipients.length },
      provisioning,
    };
  }

  /** The key made for this session, handed over after a successful commit (the caller owns it then). */
  takeKey(): P256PrivateKey | undefined {
    const key = this.key;
    this.key = undefined;
    return key;
  }

  /** Forgets the session key (setup ended without success). */
  destroy(): void {
    if (this.key) this.crypto.p256Destroy(this.key);
    this.key = undefined;
    this.csrDer = undefined;
  }
}
