/**
 * Storage on the board: Moddable's Preference (ESP-IDF NVS) in one domain. NVS writes one key atomically
 * (old or new value after a power cut), which is the Storage contract. Keys 1..15 printable ASCII (the NVS
 * key limit), values up to 4000 bytes (Moddable's Preference limit); bad input throws and changes nothing.
 */
import Preference from "preference";
import { fail } from "../core/errors";
import { STORAGE_KEY_MAX, STORAGE_VALUE_MAX, type Storage } from "../platform/storage";

export const DOMAIN = "sealcam";

function checkKey(key: string): void {
  if (typeof key !== "string" || key.length < 1 || key.length > STORAGE_KEY_MAX)
    fail("E_ARGUMENT", `storage key must be 1..${STORAGE_KEY_MAX} printable ascii characters`);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) fail("E_ARGUMENT", `storage key must be 1..${STORAGE_KEY_MAX} printable ascii characters`);
  }
}

export class BoardStorage implements Storage {
  constructor(private readonly domain: string = DOMAIN) {}

  get(key: string): Uint8Array | undefined {
    checkKey(key);
    const value = Preference.get(this.domain, key);
    if (value === undefined) return undefined;
    if (!(value instanceof ArrayBuffer)) fail("E_STORAGE", `storage key ${key} holds a value sealcam did not write`);
    return new Uint8Array(value.slice(0));
  }

  set(key: string, value: Uint8Array): void {
    checkKey(key);
    if (!(value instanceof Uint8Array)) fail("E_ARGUMENT", "storage value must be bytes");
    if (value.length > STORAGE_VALUE_MAX) fail("E_LIMIT", `storage value is ${value.length} bytes; the limit is ${STORAGE_VALUE_MAX}`);
    // Preference stores ArrayBuffers; hand it an exact copy so a view's neighbours never leak into NVS.
    const copy = new Uint8Array(value.length);
    copy.set(value);
    try {
      Preference.set(this.domain, key, copy.buffer);
    } catch (error) {
      fail("E_STORAGE", `could not write storage key ${key}: ${error instanceof Error ? error.message : "nvs error"}`);
    }
  }

  delete(key: string): void {
    checkKey(key);
    try {
      Preference.delete(this.domain, key);
    } catch (error) {
      fail("E_STORAGE", `could not delete storage key ${key}: ${error instanceof Error ? error.message : "nvs error"}`);
    }
  }

  keys(): string[] {
    return Preference.keys(this.domain).slice().sort();
  }
}
