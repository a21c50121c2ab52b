/**
 * The cloud's own P-256 key pair (PROTOCOL §14.14): what an owner may grant a snapshot-only stream key to,
 * through the mailbox, exactly as to a viewer. The cloud publishes its public key as an invite
 * (`GET /v1/cloud/invite`); the private key never leaves this file.
 *
 *   <data dir>/cloud-key.json   {"kind":"sealcam-cloud-key","version":1,"scalar":"<64 hex>"}   mode 0600
 *
 * or the file `--key-file` names. Several cloud nodes serving one database MUST all use the same file (copy it
 * with its mode, or mount it): an envelope sealed to one node's key opens on no other. A file readable by group
 * or others is refused (E_STATE), as is a malformed one; a missing one is created (0600, exclusive create).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fromHex, toHex, wipe } from "../../firmware/core/bytes";
import { fail } from "../../firmware/core/errors";
import { spkiFromP256 } from "../../firmware/core/keys";
import type { Crypto, P256PrivateKey } from "../../firmware/platform/crypto";
import { encodeInvite, fingerprint } from "../phone/share-envelope";

export const CLOUD_KEY_FILE = "cloud-key.json";

export interface CloudKey {
  key: P256PrivateKey;
  /** SubjectPublicKeyInfo DER of the public key. */
  spki: Uint8Array;
  /** SEALCAM-INVITE:1:<base64url SPKI>, as a viewer's. */
  invite: string;
  /** The mailbox address: hex SHA-256 of the SPKI. */
  address: string;
  fingerprint: string;
  file: string;
}

function parseKeyFile(text: string, file: string): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("E_FORMAT", `${file} is not JSON; restore the cloud key file from its backup`);
  }
  const v = value as { kind?: unknown; version?: unknown; scalar?: unknown };
  if (!v || v.kind !== "sealcam-cloud-key" || v.version !== 1 || typeof v.scalar !== "string" || !/^[0-9a-f]{64}$/.test(v.scalar)) {
    fail("E_FORMAT", `${file} is not a sealcam cloud key file (kind sealcam-cloud-key, version 1, a 64-hex scalar)`);
  }
  return fromHex(v.scalar as string);
}

/** Loads the cloud key from `keyFile` (default <dataDir>/cloud-key.json), creating it when missing. */
export function loadCloudKey(crypto: Crypto, dataDir: string, keyFile?: string): CloudKey {
  const file = path.resolve(keyFile ?? path.join(dataDir, CLOUD_KEY_FILE));
  let scalar: Uint8Array;
  if (fs.existsSync(file)) {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) fail("E_STATE", `${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`);
    scalar = parseKeyFile(fs.readFileSync(file, "utf8"), file);
  } else {
    const fresh = crypto.p256Generate();
    scalar = crypto.p256Export(fresh);
    crypto.p256Destroy(fresh);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const text = JSON.stringify({ kind: "sealcam-cloud-key", version: 1, scalar: toHex(scalar) });
    try {
      fs.writeFileSync(file, text + "\n", { mode: 0o600, flag: "wx" });
    } catch (error) {
      // Another node or process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      wipe(scalar);
      scalar = parseKeyFile(fs.readFileSync(file, "utf8"), file);
    }
  }
  let key: P256PrivateKey;
  try {
    key = crypto.p256Import(scalar);
  } catch {
    return fail("E_FORMAT", `${file} does not hold a valid P-256 key`);
  } finally {
    wipe(scalar);
  }
  const spki = spkiFromP256(crypto.p256PublicKey(key));
  return { key, spki, invite: encodeInvite(spki), address: toHex(crypto.sha256(spki)), fingerprint: fingerprint(crypto, spki), file };
}
