/**
 * PKCS#10 certification requests (RFC 2986) for the camera's own P-256 key: what the camera sends the phone
 * over the setup channel so the phone can issue its certificate with the account signing key.
 *
 *   CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo SEQUENCE { version INTEGER 0, subject Name, subjectPKInfo, attributes [0] {} },
 *     signatureAlgorithm       SEQUENCE { ecdsa-with-SHA256 },          -- no parameters (RFC 5758)
 *     signature                BIT STRING (ECDSA-Sig-Value DER) }
 *
 * The private key never leaves the Crypto provider: we hand it the to-be-signed bytes and convert its
 * 64-byte r||s answer into the DER ECDSA-Sig-Value that X.509 and `openssl req -verify` expect.
 */
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import { derBitString, derContext, derInteger, derOid, derSequence, derSet, derUtf8String } from "./der";
import { fail } from "./errors";
import { spkiFromP256 } from "./keys";
import { OID_COMMON_NAME, OID_ECDSA_SHA256 } from "./x509";

/** A 64-byte r||s ECDSA signature as DER SEQUENCE { INTEGER r, INTEGER s } (minimal, non-negative). */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) fail("E_ARGUMENT", "ecdsa signature must be 64 bytes r||s");
  return derSequence(derInteger(raw.subarray(0, 32)), derInteger(raw.subarray(32, 64)));
}

/** A Name with one CN attribute (UTF8String). */
export function nameWithCommonName(commonName: string): Uint8Array {
  if (commonName.length === 0 || commonName.length > 64) fail("E_ARGUMENT", "common name must be 1..64 characters");
  return derSequence(derSet(derSequence(derOid(OID_COMMON_NAME), derUtf8String(commonName))));
}

/** Builds and signs a CSR for `key` with subject CN = commonName; returns the DER. */
export function buildCsr(crypto: Crypto, key: P256PrivateKey, commonName: string): Uint8Array {
  const info = derSequence(
    derInteger(0),
    nameWithCommonName(commonName),
    spkiFromP256(crypto.p256PublicKey(key)),
    derContext(0, new Uint8Array(0), true),
  );
  const signature = ecdsaRawToDer(crypto.ecdsaP256Sign(key, info));
  return derSequence(info, derSequence(derOid(OID_ECDSA_SHA256)), derBitString(signature));
}
