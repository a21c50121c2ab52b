/**
 * The board's Crypto: NativeCrypto (issue 4's PSA module, hardware AES/SHA through ESP-IDF's PSA drivers) with
 * randomBytes taken straight from the hardware RNG (esp_fill_random) rather than through PSA's DRBG, as the
 * ESP-IDF documentation recommends for key material. esp_fill_random is true random while Wi-Fi is on; the
 * camera generates its keys in setup mode, when the soft AP (and so the RF subsystem) is running.
 */
import { NativeCrypto } from "../native/native-crypto";
import type { Crypto } from "../platform/crypto";
import { hardwareRandom } from "./system";

export class BoardCrypto extends NativeCrypto implements Crypto {
  override randomBytes(length: number): Uint8Array {
    return hardwareRandom(length);
  }
}
