/**
 * The host's flash partitions behave like NOR flash: erase sets 0xFF, write only clears bits, ranges are
 * checked, and the power-cut wrapper leaves an operation half done exactly at its byte budget.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileFlash, MemoryFlash, PowerCut, PowerCutFlash } from "../../host-tools/board-sim/flash-file";
import type { FlashPartition } from "../../firmware/platform/flash";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-flash-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function norSemantics(make: () => FlashPartition & { close?: () => void }): void {
  const flash = make();
  expect(flash.byteLength).toBe(4 * 256);
  expect(flash.blockSize).toBe(256);
  expect(Array.from(flash.read(0, 4))).toEqual([0xff, 0xff, 0xff, 0xff]);
  flash.write(10, new Uint8Array([0x0f, 0xf0, 0x55]));
  expect(Array.from(flash.read(10, 3))).toEqual([0x0f, 0xf0, 0x55]);
  // Writing without an erase only clears bits.
  flash.write(10, new Uint8Array([0xf0, 0x0f, 0xaa]));
  expect(Array.from(flash.read(10, 3))).toEqual([0x00, 0x00, 0x00]);
  flash.write(300, new Uint8Array([1, 2, 3]));
  flash.eraseBlock(0);
  expect(Array.from(flash.read(10, 3))).toEqual([0xff, 0xff, 0xff]);
  expect(Array.from(flash.read(300, 3))).toEqual([1, 2, 3]);
  // Bad ranges throw and change nothing.
  expect(() => flash.write(1023, new Uint8Array([0, 0]))).toThrow(/outside/);
  expect(Array.from(flash.read(1023, 1))).toEqual([0xff]);
  expect(() => flash.read(-1, 1)).toThrow(/outside/);
  expect(() => flash.eraseBlock(4)).toThrow(/does not exist/);
  expect(() => flash.eraseBlock(1.5)).toThrow(/does not exist/);
  flash.close?.();
}

test("MemoryFlash follows NOR semantics", () => {
  norSemantics(() => new MemoryFlash(1024, 256));
  expect(() => new MemoryFlash(1000, 256)).toThrow(/whole number of blocks/);
});

test("FileFlash follows NOR semantics and persists across reopen", () => {
  const file = path.join(dir, "nor.bin");
  norSemantics(() => new FileFlash(file, 1024, 256));
  expect(fs.statSync(file).size).toBe(1024);
  const again = new FileFlash(file, 1024, 256);
  expect(Array.from(again.read(300, 3))).toEqual([1, 2, 3]);
  again.close();
  expect(() => new FileFlash(file, 2048, 256)).toThrow(/expected 2048/);
});

test("PowerCutFlash cuts a write at the budget and leaves the byte at the cut half programmed", () => {
  const inner = new MemoryFlash(1024, 256);
  const flash = new PowerCutFlash(inner, { budget: 5 });
  flash.write(0, new Uint8Array([1, 2]));
  expect(() => flash.write(2, new Uint8Array([0x10, 0x20, 0x30, 0x40, 0x50]))).toThrow(PowerCut);
  expect(flash.cut).toBe(true);
  expect(flash.spent).toBe(5);
  expect(Array.from(inner.read(0, 8))).toEqual([1, 2, 0x10, 0x20, 0x30, 0xff & (0x40 | 0xf0), 0xff, 0xff]);
  expect(() => flash.read(0, 1)).toThrow(PowerCut);
  expect(() => flash.eraseBlock(0)).toThrow(PowerCut);
});

test("PowerCutFlash cuts an erase part way through the block", () => {
  const inner = new MemoryFlash(1024, 256);
  inner.write(256, new Uint8Array(256)); // block 1 all zero
  const flash = new PowerCutFlash(inner, { budget: 100 });
  expect(() => flash.eraseBlock(1)).toThrow(PowerCut);
  const block = inner.read(256, 256);
  expect(block.subarray(0, 100).every((b) => b === 0xff)).toBe(true);
  expect(block[100]).toBe(0x0f);
  expect(block.subarray(101).every((b) => b === 0)).toBe(true);
  const clean = new PowerCutFlash(new MemoryFlash(1024, 256), { budget: 3, tornByte: "none" });
  expect(() => clean.write(0, new Uint8Array([0, 0, 0, 0]))).toThrow(PowerCut);
});
