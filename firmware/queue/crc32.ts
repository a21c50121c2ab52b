/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum zlib and PNG use. It detects torn and
 * corrupted flash records; it is not a MAC (queue payloads are already sealed ciphertext).
 *
 * The portable body is a table-driven loop in JavaScript. In XS on the ESP32-S3 that costs real time per
 * 64 KiB segment, so the board installs the chip's ROM routine (esp_rom_crc32_le, same polynomial, same
 * continuation rule) with useCrc32() after checking it against this one; see firmware/board/main.ts.
 */
export type Crc32 = (data: Uint8Array, previous?: number) => number;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  table = t;
  return t;
}

/** The JavaScript body: crc32Portable(b, crc32Portable(a)) === crc32Portable(a ++ b). */
export function crc32Portable(data: Uint8Array, previous = 0): number {
  const t = crcTable();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

let implementation: Crc32 = crc32Portable;

/** CRC-32 of data, continuing from `previous` (the CRC of what came before; 0 to start). */
export function crc32(data: Uint8Array, previous = 0): number {
  return implementation(data, previous) >>> 0;
}

const CHECK = [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]; // "123456789"

/**
 * Installs a faster CRC-32 body if it agrees with the portable one (check value, continuation, a longer
 * buffer); returns whether it was installed. `undefined` restores the portable body.
 */
export function useCrc32(candidate: Crc32 | undefined): boolean {
  if (!candidate) {
    implementation = crc32Portable;
    return true;
  }
  const check = new Uint8Array(CHECK);
  const long = new Uint8Array(1000);
  for (let i = 0; i < long.length; i++) long[i] = (i * 7 + 3) & 0xff;
  const agrees =
    candidate(check, 0) >>> 0 === 0xcbf43926 &&
    candidate(check.subarray(4), candidate(check.subarray(0, 4), 0)) >>> 0 === 0xcbf43926 &&
    candidate(long, 0) >>> 0 === crc32Portable(long) &&
    candidate(new Uint8Array(0), 0) >>> 0 === 0;
  if (agrees) implementation = candidate;
  return agrees;
}
