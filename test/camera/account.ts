/**
 * A test account on the real cloud server: a real account signing key and root (issue 3's certs.ts), real
 * phone instance keys and account data key, real signed rosters. The key backups the cloud stores are
 * opaque to it, so this fixture uploads random bytes of the right sizes there: these tests exercise the
 * camera, not recovery (test/phone covers that with the phone library).
 */
import * as nodeCrypto from "node:crypto";
import { fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { openClip, hpkeUnwrapper, FrameReader } from "../../firmware/core/clip";
import { spkiFromP256 } from "../../firmware/core/keys";
import { assembleRoster, encodeRosterTbs } from "../../firmware/core/roster";
import { parseCertificate, rsaPssSha256AlgorithmIdentifier } from "../../firmware/core/x509";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import {
  createAccountSigningKey, issueLeafCertificate, signPss, type AccountSigningKey,
} from "../../host-tools/phone/certs";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { rsaOaepUnwrapper } from "../../host-tools/platform/rsa-unwrapper";

const crypto = new NodeCrypto();

export interface TestPhone {
  name: string;
  key: P256PrivateKey;
  certificate: Uint8Array;
  keyId: Uint8Array;
}

async function call(base: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const rand = (n: number) => toBase64Url(new Uint8Array(nodeCrypto.randomBytes(n)));
const kdf = () => ({ alg: "scrypt-pbkdf2-sha256", scryptN: 16384, scryptR: 8, scryptP: 1, scryptSalt: rand(16), pbkdf2Iterations: 1000, pbkdf2Salt: rand(16) });

export class TestAccount {
  phones = new Map<string, TestPhone>();
  rosterVersion = 0;
  roster: Uint8Array = new Uint8Array(0);

  private constructor(
    readonly cloudUrl: string,
    readonly accountId: string,
    public token: string,
    private readonly email: string,
    readonly signer: AccountSigningKey,
    readonly dataKey: nodeCrypto.KeyObject,
    readonly dataCert: Uint8Array,
  ) {}

  static async create(cloudUrl: string, email = `user-${toHex(crypto.randomBytes(4))}@example.org`): Promise<TestAccount> {
    const created = await call(cloudUrl, "POST", "/v1/accounts", undefined, { email, password: "correct horse battery" });
    const accountId = created.accountId as string;
    const signer = await createAccountSigningKey(accountId);
    const rsa = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const dataSpki = new Uint8Array(rsa.publicKey.export({ format: "der", type: "spki" }));
    const dataCert = await issueLeafCertificate(signer, "account-data", "sealcam account data key", dataSpki);
    const account = new TestAccount(cloudUrl, accountId, created.token as string, email, signer, rsa.privateKey, dataCert);
    const phone = await account.newPhone("phone-a");
    const roster = await account.signRoster(1, [phone]);
    await call(cloudUrl, "POST", "/v1/e2ee", account.token, {
      rootCertificate: toBase64Url(signer.rootCertDer),
      dataKeyCertificate: toBase64Url(dataCert),
      backup: { kdf: kdf(), dataKeyKdf: kdf(), signingKeyP12: rand(1200), dataKeyP12: rand(1200), dataKeyWrapToSigning: rand(256) },
      authVerifier: rand(32),
      phone: { name: "phone-a", certificate: toBase64Url(phone.certificate), wraps: { passphraseKey: rand(113), dataKey: rand(113) } },
      roster: toBase64Url(roster),
    });
    account.phones.set("phone-a", phone);
    account.rosterVersion = 1;
    account.roster = roster;
    return account;
  }

  async newPhone(name: string): Promise<TestPhone> {
    const key = crypto.p256Generate();
    const spki = spkiFromP256(crypto.p256PublicKey(key));
    const certificate = await issueLeafCertificate(this.signer, "phone", name, spki);
    return { name, key, certificate, keyId: crypto.sha256(spki) };
  }

  /** A roster signed by the account key (or, with `signer`, by someone else's key). */
  async signRoster(version: number, phones: TestPhone[], options: { signer?: AccountSigningKey; extra?: Uint8Array[] } = {}): Promise<Uint8Array> {
    const entries = [
      { role: "account-data" as const, certificateDer: this.dataCert },
      ...phones.map((p) => ({ role: "phone" as const, certificateDer: p.certificate })),
      ...(options.extra ?? []).map((c) => ({ role: "phone" as const, certificateDer: c })),
    ];
    const tbs = encodeRosterTbs(crypto, { accountId: this.accountId, version, issuedAt: Date.now(), entries });
    const signer = options.signer ?? this.signer;
    return assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs));
  }

  async addPhone(name: string): Promise<TestPhone> {
    const phone = await this.newPhone(name);
    const roster = await this.signRoster(this.rosterVersion + 1, [...this.phones.values(), phone]);
    await call(this.cloudUrl, "POST", "/v1/e2ee/phones", this.token, {
      name, certificate: toBase64Url(phone.certificate), wraps: { passphraseKey: rand(113), dataKey: rand(113) }, roster: toBase64Url(roster),
    });
    this.phones.set(name, phone);
    this.rosterVersion++;
    this.roster = roster;
    return phone;
  }

  async removePhone(name: string): Promise<void> {
    const phone = this.phones.get(name);
    if (!phone) throw new Error(`no phone ${name}`);
    const rest = [...this.phones.values()].filter((p) => p !== phone);
    const roster = await this.signRoster(this.rosterVersion + 1, rest);
    await call(this.cloudUrl, "POST", `/v1/e2ee/phones/${toHex(phone.keyId)}/remove`, this.token, { roster: toBase64Url(roster) });
    // The cloud ends the removed phone's sessions (ours, if it was the last phone added): sign in again.
    this.token = (await call(this.cloudUrl, "POST", "/v1/sessions", undefined, { email: this.email, password: "correct horse battery" })).token as string;
    this.phones.delete(name);
    this.rosterVersion++;
    this.roster = roster;
  }

  async clipIds(): Promise<string[]> {
    const r = await call(this.cloudUrl, "GET", "/v1/clips", this.token);
    const clips = r.clips as { clipId: string; complete: boolean }[];
    return clips.filter((c) => c.complete).map((c) => c.clipId);
  }

  async download(clipId: string): Promise<Uint8Array> {
    const res = await fetch(`${this.cloudUrl}/v1/clips/${clipId}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (res.status !== 200) throw new Error(`download ${clipId}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Opens a sealed clip with one phone's instance key (or the account data key) and returns its JPEG frames. */
  open(sealed: Uint8Array, cameraCert: Uint8Array, with_: TestPhone | "data"): { frames: Uint8Array[]; recipients: string[]; sequence: number } {
    const cert = parseCertificate(cameraCert);
    if (cert.publicKey.kind !== "p256") throw new Error("camera cert is not P-256");
    const publicKey = cert.publicKey.point65;
    const unwrapper = with_ === "data"
      ? rsaOaepUnwrapper(crypto.sha256(parseCertificate(this.dataCert).spki), this.dataKey)
      : hpkeUnwrapper(crypto, with_.keyId, with_.key);
    const { header, plaintext } = openClip({
      crypto, camera: () => ({ publicKey, certificateHash: crypto.sha256(cameraCert) }), unwrappers: [unwrapper],
    }, sealed);
    const reader = new FrameReader();
    const frames = reader.push(plaintext).map((f) => f.jpeg);
    reader.end();
    return { frames, recipients: header.recipients.map((r) => toHex(r.kid)), sequence: header.sequence };
  }
}

export function b64(bytes: Uint8Array): string {
  return toBase64Url(bytes);
}
export { fromBase64Url };
