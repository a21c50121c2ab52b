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
