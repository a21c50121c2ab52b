/**
 * Storage: small named values that survive power loss (NVS on the camera, a page file in the simulator).
 *
 * Each `set` is atomic: after a power cut the key holds either the old or the new value, never a mix.
 * Multi-key consistency is the caller's job (write the data first, a commit marker last).
 * Keys are at most 15 ASCII characters (the NVS limit); values at most 4000 bytes.
 */
export interface Storage {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  keys(): string[];
}

export const STORAGE_KEY_MAX = 15;
export const STORAGE_VALUE_MAX = 4000;
