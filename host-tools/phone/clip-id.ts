/**
 * Clip ids as the tools print them: the full 32 hex characters (`phone clips`, the sim report), the first 16
 * (the camera's `clip.sealed` / `clip.uploaded` events, `make sim`'s "clip 25bb2003fd771fda..."), the first 8
 * (the camera's upload errors). A command taking a clip id accepts any of them: 8 to 32 hex characters, upper
 * or lower case, with a trailing "..." (or "…") tolerated. A prefix is resolved against the account's
 * VERIFIED clips only (ids from camera-signed heads), and must name exactly one.
 */
import { fail } from "../../firmware/core/errors";

export const MIN_CLIP_PREFIX = 8;
export const CLIP_ID_LENGTH = 32;

export type ClipIdQuery = { kind: "full"; clipId: string } | { kind: "prefix"; prefix: string };

/**
 * What a clip argument asks for, or null when it does not look like a clip id at all (then it is a file
 * name). E_ARGUMENT for hex that is too short (under 8) or too long (over 32) to be a clip id.
 */
export function parseClipId(input: string): ClipIdQuery | null {
  const text = input.trim().replace(/(\.\.\.|…)$/, "");
  if (!/^[0-9a-fA-F]+$/.test(text)) return null;
  const hex = text.toLowerCase();
  if (hex.length === CLIP_ID_LENGTH) return { kind: "full", clipId: hex };
  if (hex.length > CLIP_ID_LENGTH) fail("E_ARGUMENT", `'${hex.slice(0, 40)}…' is ${hex.length} hex characters; a clip id has ${CLIP_ID_LENGTH}`);
  if (hex.length < MIN_CLIP_PREFIX) {
    fail("E_ARGUMENT", `clip id '${hex}' is too short: give at least its first ${MIN_CLIP_PREFIX} hex characters (see 'sealcam phone clips')`);
  }
  return { kind: "prefix", prefix: hex };
}

/**
 * The one clip whose id starts with `prefix` among `clips` (verified ones only): E_NOT_FOUND for none,
 * E_ARGUMENT listing the candidates for more than one.
 */
export function matchClipPrefix<T extends { clipId: string }>(prefix: string, clips: T[]): T {
  const matches = clips.filter((c) => c.clipId.startsWith(prefix));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) fail("E_NOT_FOUND", `no verified clip of this account has an id starting with ${prefix} (see 'sealcam phone clips')`);
  const shown = matches.slice(0, 10).map((c) => c.clipId).join(", ");
  return fail("E_ARGUMENT", `clip id ${prefix} is ambiguous: ${matches.length} verified clips start with it (${shown}${matches.length > 10 ? ", …" : ""}); give more characters`);
}
