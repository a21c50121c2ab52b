/**
 * Share envelope test vectors (test/vectors/share-v1/*.json, docs/PROTOCOL.md §14.13): the vector shape, the
 * reproduction of an envelope byte for byte from its inputs with any Crypto body (NodeCrypto in jest,
 * NativeCrypto inside XS), and the opening of a vector's envelope (and of its refused variants) as a viewer or
 * TDSK holder does. Portable: no Node imports.
 *
 * The HPKE ephemeral key is the first 32-byte draw of DeterministicCrypto(seed) (DeriveKeyPair, RFC 9180
 * §7.1.3); the RSASSA-PSS signature has a random salt, so it is recorded (`sig`) and handed back to the
 * sealer's `sign` — the reproduction then proves that everything else, and the bytes it is placed in, match.
 */
import type { Crypto } from "../platform/crypto";
import { fromBase64Url, fromHex, toHex } from "../core/bytes";
import { fail } from "../core/errors";
import {
  openClipShareEnvelope, openClipShareKeyEnvelope, openShareEnvelope, parseClipShareEnvelope, parseClipShareKeyEnvelope,
  parseShareEnvelope, sealClipShareEnvelope, sealClipShareKeyEnvelope, sealShareEnvelope,
} from "../core/share-envelope";
import type { StreamName } from "../core/stream-scope";
import { DeterministicCrypto } from "./deterministic-crypto";

export type ShareVectorKind = "share" | "clip-share" | "clip-share-key";

export interface ShareVectorRefused {
  name: string;
  why: string;
  /** The envelope bytes, hex. */
  envelope: string;
  /** The SealcamError code opening it must fail with. */
  expect: string;
  /** Overrides of what the opener is given (default: the vector's own). */
  address?: string;
  clip_id?: string;
  head_hash?: string;
  now?: number;
}

export interface ShareVector {
  name: string;
  description: string;
  kind: ShareVectorKind;
  /** DeterministicCrypto seed (hex) for the sealer: its first 32-byte draw is the HPKE ephemeral key's DeriveKeyPair input. */
  seed: string;
  account_id: string;
  /** The account root certificate DER, hex. */
  root: string;
  /** The private scalar (hex) of the key the envelope is sealed to: the viewer's (share, clip-share-key) or the TDSK (clip-share). */
  recipient_private: string;
  /** The sealed plaintext, hex: a stream key's scalar, a clip key, or a TDSK's scalar. */
  secret: string;
  /** The envelope's `facts` exactly (binary fields base64url, as in the envelope). */
  facts: { [k: string]: unknown };
  /** The account's RSASSA-PSS signature, hex (random salt: recorded, handed back to the sealer). */
  sig: string;
  /** The envelope, hex (canonical JSON). */
  envelope: string;
  /** clip-share: the clip it opens (test/vectors/clip-v1/<vector>) and what the opener is given. */
  clip?: { vector: string; clip_id: string; head_hash: string; now: number };
  refused: ShareVectorRefused[];
}

function s(v: unknown): string {
  if (typeof v !== "string") fail("E_FORMAT", "share vector: expected a string");
  return v;
}

function n(v: unknown): number {
  if (typeof v !== "number") fail("E_FORMAT", "share vector: expected a number");
  return v;
}

/** Seals the vector's envelope again from its inputs; the caller compares it with `envelope` byte for byte. */
export async function reproduceShareVector(base: Crypto, v: ShareVector): Promise<Uint8Array> {
  const crypto = new DeterministicCrypto(base, fromHex(v.seed));
  const sign = async () => fromHex(v.sig);
  const root = fromHex(v.root);
  const secret = fromHex(v.secret);
  const recipient = base.p256Import(fromHex(v.recipient_private));
  const point = base.p256PublicKey(recipient);
  base.p256Destroy(recipient);
  const f = v.facts;
  if (v.kind === "share") {
    const scope = f.scope as { cameras: string[]; streams: StreamName[]; notBefore: number; notAfter?: number; holder: string };
    return sealShareEnvelope(crypto, {
      accountId: s(f.accountId), shareId: s(f.shareId), streamCertificate: fromBase64Url(s(f.streamCertificate)), to: s(f.to),
      scope: { cameras: scope.cameras, streams: scope.streams, notBefore: scope.notBefore, notAfter: scope.notAfter ?? null, holder: scope.holder },
    }, point, secret, root, sign);
  }
  if (v.kind === "clip-share") {
    return sealClipShareEnvelope(crypto, {
      accountId: s(f.accountId), clipId: s(f.clipId), headHash: s(f.headHash), key: fromBase64Url(s(f.key)), notAfter: n(f.notAfter), shareId: s(f.shareId),
    }, secret, root, sign);
  }
  return sealClipShareKeyEnvelope(crypto, {
    accountId: s(f.accountId), clipId: s(f.clipId), key: fromBase64Url(s(f.key)), notAfter: n(f.notAfter), shareId: s(f.shareId), to: s(f.to),
  }, point, secret, root, sign);
}

/**
 * Opens `envelope` (default: the vector's) as its recipient would, with the vector's inputs or the refused
 * entry's overrides; returns the secret (hex). Throws the SealcamError the opener throws.
 */
export function openShareVector(crypto: Crypto, v: ShareVector, override: Partial<ShareVectorRefused> = {}): string {
  const bytes = fromHex(override.envelope ?? v.envelope);
  const key = crypto.p256Import(fromHex(v.recipient_private));
  try {
    if (v.kind === "share") {
      const opened = openShareEnvelope(crypto, parseShareEnvelope(bytes), override.address ?? s(v.facts.to), key);
      const out = toHex(crypto.p256Export(opened.key));
      crypto.p256Destroy(opened.key);
      return out;
    }
    if (v.kind === "clip-share") {
      const clip = v.clip ?? fail("E_FORMAT", "share vector: a clip-share vector names its clip");
      const clipKey = openClipShareEnvelope(crypto, parseClipShareEnvelope(bytes), key, { clipId: override.clip_id ?? clip.clip_id, headHash: override.head_hash ?? clip.head_hash }, override.now ?? clip.now);
      return toHex(clipKey);
    }
    const tdsk = openClipShareKeyEnvelope(crypto, parseClipShareKeyEnvelope(bytes), override.address ?? s(v.facts.to), key);
    const out = toHex(crypto.p256Export(tdsk));
    crypto.p256Destroy(tdsk);
    return out;
  } finally {
    crypto.p256Destroy(key);
  }
}
