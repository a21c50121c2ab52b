/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum zlib and PNG use. It detects torn and
 * corrupted flash records; it is not a MAC (queue payloads are already sealed ciphertext).
 */
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

/** Continues a CRC over more bytes: crc32(b, crc32(a)) === crc32(a ++ b). Start with no `previous`. */
export function crc32(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  const t = crcTable();
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
