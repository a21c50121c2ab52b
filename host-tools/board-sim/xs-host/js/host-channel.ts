/**
 * "sealcam/host-channel" (types and contract: firmware/types/sealcam-host-channel.d.ts), the XS side of the
 * channel to Node. Messages (JSON, one per frame; Uint8Array values travel as attachments, see channel.h):
 *   {t:"req", id, method, params}      a request; the other side answers with
 *   {t:"res", id, ok:true, result} | {t:"res", id, ok:false, error:{message, code?, name?}}
 *   {t:"evt", name, data}              an event, no answer
 *   {t:"fatal", message, stack}        XS -> Node only, sent by main.c for an uncaught exception
 */
/// <reference path="./host-globals.d.ts" />
/// <reference path="../../../../firmware/types/sealcam-host-channel.d.ts" />
import type { ChannelValue } from "sealcam/host-channel";
import { asciiJson, decodeValue, encodeValue, type Json } from "./channel-codec";


interface Pending {
  resolve(value: ChannelValue): void;
  reject(error: Error): void;
  timer?: number;
}

const host = globalThis.__sealcamHost;
const pending = new Map<number, Pending>();
const handlers = new Map<string, (params: ChannelValue) => ChannelValue | Promise<ChannelValue>>();
const listeners = new Map<string, Set<(data: ChannelValue) => void>>();
let nextId = 1;

function post(message: { [key: string]: unknown }): void {
  const bins: Uint8Array[] = [];
  const json = asciiJson(encodeValue(message, bins));
  host.send(json, ...bins);
}

function errorInfo(error: unknown): { message: string; code?: string; name?: string } {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return { message: error.message, name: error.name, ...(typeof code === "string" ? { code } : {}) };
  }
  return { message: String(error) };
}

async function answer(id: number, method: string, params: ChannelValue): Promise<void> {
  const handler = handlers.get(method);
  try {
    if (!handler) throw new Error(`no handler in xs for request "${method}"`);
    const result = await handler(params);
    post({ t: "res", id, ok: true, result });
  } catch (error) {
    post({ t: "res", id, ok: false, error: errorInfo(error) });
  }
}

globalThis.__sealcamChannelReceive = (json: string, attachments: ArrayBuffer[]): void => {
  const bins = attachments.map((buffer) => new Uint8Array(buffer));
  const message = decodeValue(JSON.parse(json) as Json, bins) as { [key: string]: ChannelValue };
  switch (message.t) {
    case "res": {
      const entry = pending.get(message.id as number);
      if (!entry) return;
      pending.delete(message.id as number);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      if (message.ok) entry.resolve(message.result ?? null);
      else {
        entry.reject(replyError((message.error ?? {}) as { message?: string; code?: string }, "request failed"));
      }
      return;
    }
    case "req":
      void answer(message.id as number, message.method as string, message.params ?? null);
      return;
    case "evt": {
      const set = listeners.get(message.name as string);
      // A listener that throws is a firmware bug: it propagates, and the host reports it as fatal.
      if (set) for (const listener of [...set]) listener(message.data ?? null);
      return;
    }
    default:
      throw new Error(`host channel: unknown message type ${String(message.t)}`);
  }
};

export function available(): boolean {
  return host.channel;
}

export function request(method: string, params?: ChannelValue, timeoutMs?: number): Promise<ChannelValue> {
  return new Promise<ChannelValue>((resolve, reject) => {
    const id = nextId++;
    const entry: Pending = { resolve, reject };
    if (timeoutMs !== undefined && timeoutMs > 0)
      entry.timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`request "${method}" timed out after ${timeoutMs} ms`));
      }, timeoutMs) as unknown as number;
    pending.set(id, entry);
    try {
      post({ t: "req", id, method, params: params ?? null });
    } catch (error) {
      pending.delete(id);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

function replyError(info: { message?: string; code?: string }, fallback: string): Error {
  const error = new Error(info.message ?? fallback) as Error & { code?: string };
  if (info.code) error.code = info.code;
  return error;
}

/**
 * A request that blocks XS until Node answers (no other JS runs meanwhile; frames that arrive in between are
 * dispatched after this turn). For what the board does synchronously outside the JS heap, such as reading the
 * queue's flash partition: only the reply's bytes enter the heap, each in a fresh ArrayBuffer.
 */
export function requestSync(method: string, params?: ChannelValue): ChannelValue {
  const id = nextId++;
  const bins: Uint8Array[] = [];
  const json = asciiJson(encodeValue({ t: "req", id, method, params: params ?? null }, bins));
  const [replyJson, attachments] = host.call(id, json, ...bins);
  const message = decodeValue(JSON.parse(replyJson) as Json, attachments.map((buffer) => new Uint8Array(buffer))) as {
    [key: string]: ChannelValue;
  };
  if (message.ok) return message.result ?? null;
  throw replyError((message.error ?? {}) as { message?: string; code?: string }, "request failed");
}

export function emit(name: string, data?: ChannelValue): void {
  post({ t: "evt", name, data: data ?? null });
}

export function on(name: string, handler: (data: ChannelValue) => void): () => void {
  let set = listeners.get(name);
  if (!set) listeners.set(name, (set = new Set()));
  set.add(handler);
  return () => {
    set.delete(handler);
  };
}

export function handle(method: string, handler: (params: ChannelValue) => ChannelValue | Promise<ChannelValue>): void {
  handlers.set(method, handler);
}

export function exit(code: number): void {
  host.exit(code);
}
