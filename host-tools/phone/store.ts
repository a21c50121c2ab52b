/**
 * What a phone keeps under --home:
 *   phone.json     public state: cloud URL, account id, session token, the pinned account root certificate,
 *                  this phone's instance certificate, the newest roster version seen. Mode 0600 (the token).
 *   keystore.json  the instance private key (32-byte P-256 scalar, hex). Mode 0600. This file is the
 *                  simulator's stand-in for the Secure Enclave / StrongBox: on a real phone the key is
 *                  generated inside the secure element and never leaves it. No command prints or uploads it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fromHex, toHex, wipe } from "../../firmware/core/bytes";
import { fail } from "../../firmware/core/errors";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import type { NodeCrypto } from "../platform/node-crypto";
import { writeFileAtomic } from "../cloud/files";

export interface PhoneState {
  cloud: string;
  accountId: string;
  email: string;
  token: string;
  name: string;
  phoneKeyId: string;
  rootCertificate: string; // base64url DER, pinned at enroll/recover
  instanceCertificate: string; // base64url DER
  rosterVersion: number;
}

export function statePath(home: string): string {
  return path.join(home, "phone.json");
}

export function keystorePath(home: string): string {
  return path.join(home, "keystore.json");
}

export function loadState(home: string): PhoneState {
  let text: string;
  try {
    text = fs.readFileSync(statePath(home), "utf8");
  } catch {
    return fail("E_STATE", `no enrolled phone in ${home}: run 'sealcam phone enroll' or 'recover' first`);
  }
  return JSON.parse(text) as PhoneState;
}

export function saveState(home: string, state: PhoneState): void {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileAtomic(statePath(home), new Uint8Array(Buffer.from(JSON.stringify(state, null, 2) + "\n")));
}

export function saveInstanceKey(home: string, crypto: NodeCrypto, key: P256PrivateKey): void {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const scalar = crypto.p256Export(key);
  const text = JSON.stringify({ version: 1, kind: "p256-instance-key", scalar: toHex(scalar) });
  wipe(scalar);
  writeFileAtomic(keystorePath(home), new Uint8Array(Buffer.from(text)));
  fs.chmodSync(keystorePath(home), 0o600);
}

export function loadInstanceKey(home: string, crypto: NodeCrypto): P256PrivateKey {
  const file = keystorePath(home);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return fail("E_STATE", "this phone has no instance key (keystore missing)");
  }
  if ((stat.mode & 0o077) !== 0) fail("E_STATE", `keystore ${file} must be readable by its owner only (chmod 600)`);
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as { scalar?: string };
  if (typeof parsed.scalar !== "string") fail("E_FORMAT", "keystore is damaged");
  const scalar = fromHex(parsed.scalar);
  const key = crypto.p256Import(scalar);
  wipe(scalar);
  return key;
}

/** Deletes the keystore (overwriting it first) and the state file. */
export function deletePhoneKeys(home: string): void {
  const file = keystorePath(home);
  if (fs.existsSync(file)) {
    const size = fs.statSync(file).size;
    fs.writeFileSync(file, Buffer.alloc(size));
    fs.rmSync(file);
  }
  fs.rmSync(statePath(home), { force: true });
}
