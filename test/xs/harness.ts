/**
 * A tiny test runner for code that runs inside XS (bundled by runInXs). Register tests with test(), then
 * call run(): it runs them in order and emits "done" with {passed, failed, notes} to Node, where the jest
 * file asserts on it. Vectors and Node-side helpers are fetched with request() (host channel).
 */
/// <reference path="../../firmware/types/sealcam-host-channel.d.ts" />
import { emit, request } from "sealcam/host-channel";
import type { ChannelValue } from "sealcam/host-channel";
import { SealcamError } from "../../firmware/core/errors";
import { toHex } from "../../firmware/core/bytes";

type TestFn = () => void | Promise<void>;
const tests: [string, TestFn][] = [];
const notes: string[] = [];

export function test(name: string, fn: TestFn): void {
  tests.push([name, fn]);
}

export function note(text: string): void {
  notes.push(text);
}

export class AssertionError extends Error {}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertHex(actual: Uint8Array | null, expected: string, what: string): void {
  if (actual === null) throw new AssertionError(`${what}: got null, expected ${expected}`);
  const hex = toHex(actual);
  if (hex !== expected) throw new AssertionError(`${what}: got ${hex}, expected ${expected}`);
}

/** Asserts fn throws a SealcamError with this code (not a crash, not another error type). */
export function assertThrowsCode(fn: () => unknown, code: string, what: string): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealcamError && error.code === code) return;
    throw new AssertionError(`${what}: expected SealcamError ${code}, got ${String(error)}`);
  }
  throw new AssertionError(`${what}: expected SealcamError ${code}, nothing was thrown`);
}

export async function ask<T = ChannelValue>(method: string, params: ChannelValue = null): Promise<T> {
  return (await request(method, params)) as T;
}

export async function run(): Promise<void> {
  const passed: string[] = [];
  const failed: { name: string; message: string; stack: string }[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
      passed.push(name);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      failed.push({ name, message: e.message, stack: e.stack ?? "" });
    }
  }
  emit("done", { passed, failed, notes });
}
