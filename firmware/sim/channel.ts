/**
 * The simulator's link from the firmware (in XS) to the Node half of the board simulator.
 *
 * Every sim platform body talks through this one small interface, so the transport (issue 4's
 * "sealcam/host-channel" pipe in the XS host, or a direct in-process link in Node) is chosen in one place.
 * Method names and shapes are listed in docs/BOARD-SIM.md ("Channel methods"); the Node side is
 * host-tools/board-sim/services.ts.
 *
 * Errors: the Node side reports failures as "<CODE>: <message>" (CODE one of the ErrorCode values);
 * `rethrow` turns them back into SealcamError so sim bodies fail with the same codes the board would use.
 */
import { SealcamError, type ErrorCode } from "../core/errors";

export type ChannelValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | ChannelValue[]
  | { [key: string]: ChannelValue };

export type ChannelParams = { [key: string]: ChannelValue };

export interface SimChannel {
  /**
   * A message that needs no answer (storage and flash writes, log and console lines, radio switches). The
   * channel is one ordered pipe and Node applies these in order before anything sent later, so a write
   * posted here is on the medium before any later effect can be seen outside: a power cut (which kills the
   * firmware between two messages) observes exactly what a blocking write would have left.
   */
  post(method: string, params: ChannelParams): void;
  /** A call answered later (boot snapshot, radio, HTTP, camera frames, sleeps). */
  call(method: string, params: ChannelParams): Promise<ChannelValue>;
  /**
   * A call the firmware waits for, as the board waits for an SPI flash read: nothing else runs until Node
   * answers. Only for quick, local work ("flash.read"). Posts sent before it are applied before it is answered
   * (one ordered pipe). Throws as `call` rejects.
   */
  callSync(method: string, params: ChannelParams): ChannelValue;
  /** Events from Node: "wifi.state", "setup.request", "camera.trigger", "console.line". */
  onEvent(callback: (name: string, payload: ChannelParams) => void): void;
}

const CODES: ErrorCode[] = [
  "E_FORMAT", "E_VERSION", "E_LIMIT", "E_ARGUMENT", "E_SIGNATURE", "E_CERT", "E_NO_RECIPIENT", "E_UNWRAP",
  "E_COMMIT", "E_SEGMENT", "E_TRUNCATED", "E_TRAILING", "E_FOOTER", "E_ROSTER", "E_STATE", "E_CRYPTO",
  "E_STORAGE", "E_NETWORK", "E_AUTH", "E_NOT_FOUND", "E_CONFLICT", "E_RATE_LIMIT", "E_TIMEOUT", "E_INTERNAL",
];

/** Turns whatever the transport threw into a SealcamError with the code the Node side gave. */
export function toSealcamError(error: unknown, fallback: ErrorCode): SealcamError {
  if (error instanceof SealcamError) return error;
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(error);
  if (typeof e?.code === "string" && (CODES as string[]).indexOf(e.code) >= 0) {
    return new SealcamError(e.code as ErrorCode, message);
  }
  const colon = message.indexOf(": ");
  if (colon > 0) {
    const code = message.slice(0, colon);
    if ((CODES as string[]).indexOf(code) >= 0) return new SealcamError(code as ErrorCode, message.slice(colon + 2));
  }
  return new SealcamError(fallback, message);
}

export function asObject(value: ChannelValue): ChannelParams {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || Array.isArray(value)) {
    throw new SealcamError("E_INTERNAL", "board simulator sent an unexpected reply");
  }
  return value;
}

export function asBytes(value: ChannelValue | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new SealcamError("E_INTERNAL", "board simulator sent no bytes");
  return value;
}

export function asNumber(value: ChannelValue | undefined): number {
  if (typeof value !== "number") throw new SealcamError("E_INTERNAL", "board simulator sent no number");
  return value;
}

export function asString(value: ChannelValue | undefined): string {
  if (typeof value !== "string") throw new SealcamError("E_INTERNAL", "board simulator sent no string");
  return value;
}

export function asStringMap(value: ChannelValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value !== null && value !== undefined && typeof value === "object" && !(value instanceof Uint8Array) && !Array.isArray(value)) {
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (typeof v === "string") out[key] = v;
    }
  }
  return out;
}
