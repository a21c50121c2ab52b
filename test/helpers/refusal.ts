/** The SealcamError a promise is refused with (anything else, or no refusal at all, fails the test). */
import { SealcamError } from "../../firmware/core/errors";

export async function refusal(p: Promise<unknown>, notRefused = "expected a SealcamError"): Promise<SealcamError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof SealcamError) return error;
    throw error;
  }
  throw new Error(notRefused);
}

/** The code of the SealcamError `f` throws, or `none` when it returns (anything else thrown fails the test). */
export function errorCode(f: () => unknown, none = "ok"): string {
  try {
    f();
  } catch (error) {
    if (error instanceof SealcamError) return error.code;
    throw error;
  }
  return none;
}

/** The code of the SealcamError `p` is refused with, or `none` when it resolves (anything else fails the test). */
export async function refusalCode(p: Promise<unknown>, none = "ok"): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof SealcamError) return error.code;
    throw error;
  }
  return none;
}
