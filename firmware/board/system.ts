/**
 * The board's native helpers ("sealcam/native-system": esp_fill_random, MAC, restart, heap, USB console),
 * re-exported with byte-typed results. Board only; the simulator never imports this file.
 */
/// <reference path="../types/sealcam-system.d.ts" />
import * as native from "sealcam/native-system";
import { fail } from "../core/errors";

export const RANDOM_MAX = 65536;

/** Bytes from the hardware RNG (esp_fill_random). */
export function hardwareRandom(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > RANDOM_MAX) fail("E_ARGUMENT", `random length must be 0..${RANDOM_MAX}`);
  if (length === 0) return new Uint8Array(0);
  return new Uint8Array(native.random(length));
}

export function stationMac(): Uint8Array {
  return new Uint8Array(native.macAddress());
}

/** The ROM's CRC-32 (same results as firmware/queue/crc32.ts; installed with useCrc32 after a check). */
export function romCrc32(data: Uint8Array, previous = 0): number {
  return native.crc32(data, previous >>> 0);
}

export function restart(): void {
  native.restart();
}

export function freeHeap(): number {
  return native.freeHeap();
}

export function consoleWrite(bytes: Uint8Array): number {
  return native.consoleWrite(bytes);
}

export function consoleRead(): Uint8Array | undefined {
  const got = native.consoleRead();
  return got === undefined ? undefined : new Uint8Array(got);
}
