/**
 * FlashPartition: a raw data partition (the sealed-clip queue). On the camera it is Moddable's `flash`
 * over an ESP-IDF data partition; in the simulator a file of the same size. Semantics follow NOR flash:
 * erase sets a whole block to 0xFF; write can only clear bits; a power cut may leave the block being
 * written or erased in any state, so callers checksum what they write.
 */
export interface FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, data: Uint8Array): void;
  eraseBlock(block: number): void;
}
