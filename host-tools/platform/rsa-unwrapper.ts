/**
 * Unwraps clip keys sealed to the account data key (RSA-OAEP-SHA256). RSA decryption only ever happens on
 * a phone, so this lives on the host side, over node:crypto.
 */
import * as nodeCrypto from "node:crypto";
import { ALG_RSA_OAEP, CLIP_KEY_LENGTH } from "../../firmware/core/clip/constants";
import type { Unwrapper } from "../../firmware/core/clip/opener";
import { SealcamError } from "../../firmware/core/errors";

export function rsaOaepUnwrapper(keyId: Uint8Array, privateKey: nodeCrypto.KeyObject): Unwrapper {
  return {
    keyId,
    unwrap(entry, wrapLabel) {
      if (entry.alg !== ALG_RSA_OAEP || !("ct" in entry)) throw new SealcamError("E_UNWRAP", "recipient entry is not an rsa-oaep entry");
      let key: Buffer;
      try {
        key = nodeCrypto.privateDecrypt(
          { key: privateKey, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: wrapLabel },
          entry.ct,
        );
      } catch {
        throw new SealcamError("E_UNWRAP", "clip key does not unwrap with the account data key");
      }
      if (key.length !== CLIP_KEY_LENGTH) throw new SealcamError("E_UNWRAP", "unwrapped clip key has the wrong length");
      return new Uint8Array(key);
    },
  };
}
