/**
 * What the XS host's C (host-tools/board-sim/xs-host/main.c) puts on globalThis before the bundle runs,
 * and the callbacks it calls. Only the host's own JS (this folder) touches these.
 */
/* eslint-disable no-var */
type SealcamNativeFunction = (this: unknown, ...args: unknown[]) => unknown;

interface SealcamHostGlobals {
  print(text: string): void;
  send(json: string, ...attachments: Uint8Array[]): void;
  /** Sends a {"t":"req","id":id,...} frame and blocks until Node's answer with that id: [json, attachments]. */
  call(id: number, json: string, ...attachments: Uint8Array[]): [string, ArrayBuffer[]];
  now(): number;
  exit(code: number): void;
  gc(): void;
  newNative(kind: "p256" | "sha256"): object;
  readonly channel: boolean;
  readonly stress: boolean;
}

declare var __sealcamNative: Record<string, SealcamNativeFunction>;
declare var __sealcamHost: SealcamHostGlobals;
declare var __sealcamHostTick: (() => number) | undefined;
declare var __sealcamChannelReceive: ((json: string, attachments: ArrayBuffer[]) => void) | undefined;
