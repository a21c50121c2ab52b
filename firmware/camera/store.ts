/**
 * What the camera keeps across power cuts, on top of the platform Storage (each `set` atomic, values of at
 * most 4000 bytes, names of at most 15 characters).
 *
 *   fac.secret     the label secret (factory data; survives unenroll and factory reset)
 *   p.key p.cert p.root p.wifi p.cloud p.meta    the provisioning written at enrollment
 *   p.ok           the commit marker, written last: {"v":1,"hash":SHA-256 over the p.* values}
 *   r.ptr          the accepted roster: {"slot","n","len","ver","hash"}; its bytes in r.<slot><i> chunks
 *   c.seq          the next clip sequence number (u32be), advanced before a clip is sealed
 *   s.hellos       SHA-256 of the last 64 setup hellos' phone ephemeral keys (32 bytes each, oldest first), so a
 *                  captured hello is refused in every later setup session too (docs/PROTOCOL.md §6.3, §6.7)
 *
 * Enrollment is atomic by ordering: p.ok goes first out and last in. On boot, p.* or r.* without a valid p.ok
 * are leftovers of a cut enrollment and are wiped, so a camera is either enrolled or not, never half. A
 * roster update writes the idle slot, then flips r.ptr in one `set`.
 */
import type { Crypto } from "../platform/crypto";
import type { Storage } from "../platform/storage";
import { concat, constantTimeEqual, fromHex, readU32be, toHex, u32be, utf8Bytes, utf8String } from "../core/bytes";
import { fail } from "../core/errors";

export const KEY_SECRET = "fac.secret";
const KEY_OK = "p.ok";
const KEY_ROSTER_PTR = "r.ptr";
const KEY_SEQUENCE = "c.seq";
const KEY_SEEN_HELLOS = "s.hellos";
/** How many setup hellos the camera remembers (each a 32-byte hash: 2 KiB, one storage value). */
export const SEEN_HELLOS_MAX = 64;
const HASH = 32;
const PROVISION_KEYS = ["p.key", "p.cert", "p.root", "p.wifi", "p.cloud", "p.meta"] as const;
const CHUNK = 3900;

export interface WifiCredentials {
  ssid: string;
  password: string;
}

export interface Provisioning {
  cameraId: string;
  accountId: string;
  /** The camera's P-256 private scalar (32 bytes). Only the store and the key loader touch it. */
  keyScalar: Uint8Array;
  certificate: Uint8Array;
  root: Uint8Array;
  wifi: WifiCredentials;
  cloudUrl: string;
}

export interface StoredRoster {
  bytes: Uint8Array;
  version: number;
}

function json(value: unknown): Uint8Array {
  return utf8Bytes(JSON.stringify(value));
}

function parseJson(bytes: Uint8Array | undefined): unknown {
  if (!bytes) return undefined;
  try {
    return JSON.parse(utf8String(bytes));
  } catch {
    return undefined;
  }
}

export class CameraStore {
  constructor(private readonly storage: Storage, private readonly crypto: Crypto) {}

  // --- factory data -------------------------------------------------------------------------------------

  setupSecret(): Uint8Array | undefined {
    return this.storage.get(KEY_SECRET);
  }

  setSetupSecret(secret: Uint8Array): void {
    this.storage.set(KEY_SECRET, secret);
  }

  // --- provisioning -------------------------------------------------------------------------------------

  private provisionHash(values: Uint8Array[]): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const v of values) parts.push(u32be(v.length), v);
    return this.crypto.sha256(concat(...parts));
  }

  private encode(p: Provisioning): Uint8Array[] {
    return [
      p.keyScalar,
      p.certificate,
      p.root,
      json({ ssid: p.wifi.ssid, password: p.wifi.password }),
      utf8Bytes(p.cloudUrl),
      json({ cameraId: p.cameraId, accountId: p.accountId }),
    ];
  }

  /**
   * Writes a complete enrollment: marker out, data in, roster in, marker last. `cut` is a test hook the
   * board simulator also uses: it is called with the name of each step so a power cut can be injected.
   */
  commitProvisioning(p: Provisioning, roster: StoredRoster, cut?: (step: string) => void): void {
    const values = this.encode(p);
    for (const v of values) if (v.length > 4000) fail("E_LIMIT", "provisioning item too large for storage");
    this.storage.delete(KEY_OK);
    cut?.("marker-removed");
    this.wipeProvisioningData();
    for (let i = 0; i < PROVISION_KEYS.length; i++) {
      this.storage.set(PROVISION_KEYS[i], values[i]);
      cut?.(`wrote-${PROVISION_KEYS[i]}`);
    }
    this.writeRoster(roster, cut);
    this.storage.set(KEY_OK, json({ v: 1, hash: toHex(this.provisionHash(values)) }));
    cut?.("committed");
  }

  /**
   * The committed enrollment, or undefined. Leftovers of an interrupted enrollment (data without a valid
   * marker) are wiped here; `repaired` tells the caller so it can log it.
   */
  loadProvisioning(): { provisioning: Provisioning | undefined; repaired: boolean } {
    const marker = parseJson(this.storage.get(KEY_OK)) as { v?: unknown; hash?: unknown } | undefined;
    const values = PROVISION_KEYS.map((k) => this.storage.get(k));
    const leftovers = values.some((v) => v !== undefined) || this.storage.keys().some((k) => k.startsWith("r."));
    const wipeAll = (): { provisioning: undefined; repaired: boolean } => {
      const had = leftovers || marker !== undefined;
      this.wipeProvisioning();
      return { provisioning: undefined, repaired: had };
    };
    if (!marker || marker.v !== 1 || typeof marker.hash !== "string") return wipeAll();
    if (values.some((v) => v === undefined)) return wipeAll();
    const present = values as Uint8Array[];
    let hash: Uint8Array;
    try {
      hash = fromHex(marker.hash);
    } catch {
      return wipeAll();
    }
    if (!constantTimeEqual(hash, this.provisionHash(present))) return wipeAll();
    const wifi = parseJson(present[3]) as { ssid?: unknown; password?: unknown } | undefined;
    const meta = parseJson(present[5]) as { cameraId?: unknown; accountId?: unknown } | undefined;
    if (!wifi || typeof wifi.ssid !== "string" || typeof wifi.password !== "string") return wipeAll();
    if (!meta || typeof meta.cameraId !== "string" || typeof meta.accountId !== "string") return wipeAll();
    if (!this.loadRoster()) return wipeAll();
    return {
      provisioning: {
        cameraId: meta.cameraId,
        accountId: meta.accountId,
        keyScalar: present[0],
        certificate: present[1],
        root: present[2],
        wifi: { ssid: wifi.ssid, password: wifi.password },
        cloudUrl: utf8String(present[4]),
      },
      repaired: false,
    };
  }

  isProvisioned(): boolean {
    return this.storage.get(KEY_OK) !== undefined;
  }

  /** Erases keys, certificates, roster, Wi-Fi and cloud settings: marker first, so a cut leaves "not enrolled". */
  wipeProvisioning(): void {
    this.storage.delete(KEY_OK);
    this.wipeProvisioningData();
  }

  private wipeProvisioningData(): void {
    for (const k of PROVISION_KEYS) this.storage.delete(k);
    for (const k of this.storage.keys()) if (k.startsWith("r.") && k !== KEY_ROSTER_PTR) this.storage.delete(k);
    this.storage.delete(KEY_ROSTER_PTR);
  }

  // --- roster -------------------------------------------------------------------------------------------

  loadRoster(): StoredRoster | undefined {
    const ptr = parseJson(this.storage.get(KEY_ROSTER_PTR)) as
      | { slot?: unknown; n?: unknown; len?: unknown; ver?: unknown; hash?: unknown }
      | undefined;
    if (!ptr || (ptr.slot !== "a" && ptr.slot !== "b") || typeof ptr.n !== "number" || typeof ptr.len !== "number") return undefined;
    if (typeof ptr.ver !== "number" || typeof ptr.hash !== "string") return undefined;
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < ptr.n; i++) {
      const c = this.storage.get(`r.${ptr.slot}${i}`);
      if (!c) return undefined;
      chunks.push(c);
    }
    const bytes = concat(...chunks);
    if (bytes.length !== ptr.len || toHex(this.crypto.sha256(bytes)) !== ptr.hash) return undefined;
    return { bytes, version: ptr.ver };
  }

  /** Stores a verified roster in the idle slot and flips the pointer (one atomic set). */
  writeRoster(roster: StoredRoster, cut?: (step: string) => void): void {
    const current = parseJson(this.storage.get(KEY_ROSTER_PTR)) as { slot?: unknown } | undefined;
    const slot = current && current.slot === "a" ? "b" : "a";
    for (const k of this.storage.keys()) if (k.startsWith(`r.${slot}`)) this.storage.delete(k);
    let n = 0;
    for (let off = 0; off < roster.bytes.length; off += CHUNK) {
      this.storage.set(`r.${slot}${n}`, roster.bytes.slice(off, off + CHUNK));
      n++;
    }
    cut?.("wrote-roster-chunks");
    this.storage.set(
      KEY_ROSTER_PTR,
      json({ slot, n, len: roster.bytes.length, ver: roster.version, hash: toHex(this.crypto.sha256(roster.bytes)) }),
    );
    cut?.("wrote-roster-pointer");
  }

  // --- setup hellos already seen -------------------------------------------------------------------------

  /** The remembered hello hashes, oldest first. A damaged value (wrong length) is read as far as it is whole. */
  loadSeenHellos(): Uint8Array[] {
    const stored = this.storage.get(KEY_SEEN_HELLOS);
    const out: Uint8Array[] = [];
    if (!stored) return out;
    for (let off = 0; off + HASH <= stored.length && out.length < SEEN_HELLOS_MAX; off += HASH) out.push(stored.slice(off, off + HASH));
    return out;
  }

  /** Replaces the remembered hello hashes (the newest SEEN_HELLOS_MAX of them) in one atomic `set`. */
  saveSeenHellos(hashes: Uint8Array[]): void {
    const kept = hashes.slice(Math.max(0, hashes.length - SEEN_HELLOS_MAX));
    for (const h of kept) if (h.length !== HASH) fail("E_ARGUMENT", "a seen-hello hash must be 32 bytes");
    this.storage.set(KEY_SEEN_HELLOS, concat(...kept));
  }

  // --- clip sequence ------------------------------------------------------------------------------------

  /** Reserves the next clip sequence number; it is persisted before use, so it is never reused. */
  reserveSequence(): number {
    const stored = this.storage.get(KEY_SEQUENCE);
    const next = stored && stored.length === 4 ? readU32be(stored, 0) : 1;
    if (next >= 0xffffffff) fail("E_LIMIT", "clip sequence numbers exhausted");
    this.storage.set(KEY_SEQUENCE, u32be(next + 1));
    return next;
  }

  peekSequence(): number {
    const stored = this.storage.get(KEY_SEQUENCE);
    return stored && stored.length === 4 ? readU32be(stored, 0) : 1;
  }
}
