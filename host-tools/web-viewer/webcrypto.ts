/**
 * The WebCrypto types the web viewer's logic uses, named once. They are Node's declarations of the same
 * standard API (the root type world has no DOM library); the page (page/, its own tsconfig with DOM) hands
 * the browser's `crypto` to this code. Type-only: nothing of node:crypto reaches the browser bundle.
 */
import type { webcrypto } from "node:crypto";

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type SubtleCrypto = webcrypto.SubtleCrypto;
/** What the viewer needs of `globalThis.crypto`. */
export interface WebCrypto {
  subtle: SubtleCrypto;
  getRandomValues(array: Uint8Array): Uint8Array;
}
