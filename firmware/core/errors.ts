/**
 * Typed errors. Every failure the firmware, the phone or the cloud reports carries a stable code that
 * means the same thing in C, XS, Node and HTTP replies, and a lower-case message a user can act on.
 */
export type ErrorCode =
  // input that does not parse or breaks a limit
  | "E_FORMAT"
  | "E_VERSION"
  | "E_LIMIT"
  | "E_ARGUMENT"
  // authenticity
  | "E_SIGNATURE"
  | "E_CERT"
  | "E_NO_RECIPIENT"
  | "E_UNWRAP"
  | "E_COMMIT"
  | "E_SEGMENT"
  | "E_TRUNCATED"
  | "E_TRAILING"
  | "E_FOOTER"
  | "E_ROSTER"
  // sharing (docs/PROTOCOL.md §14.8-14.10)
  | "E_SHARE_EXPIRED"
  | "E_SHARE_REVOKED"
  | "E_MISADDRESSED"
  | "E_FOREIGN_ACCOUNT"
  // live view streams (docs/FORMAT.md §12)
  | "E_GAP"
  | "E_REORDER"
  | "E_REPLAY"
  | "E_SESSION"
  | "E_STALL"
  // state and environment
  | "E_STATE"
  | "E_CRYPTO"
  | "E_STORAGE"
  | "E_NETWORK"
  | "E_AUTH"
  | "E_NOT_FOUND"
  | "E_CONFLICT"
  | "E_RATE_LIMIT"
  | "E_TIMEOUT"
  | "E_INTERNAL"
  // serial ports and flashing (host tools)
  | "E_PORT_BUSY"
  | "E_PERMISSION"
  | "E_WRONG_CHIP"
  | "E_VERIFY";

export class SealcamError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = "SealcamError";
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new SealcamError(code, message);
}

export function isSealcamError(value: unknown): value is SealcamError {
  return value instanceof SealcamError;
}
