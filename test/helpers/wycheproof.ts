/**
 * Reads Project Wycheproof vectors from ../shared/vectors/wycheproof at run time (never copied into the repo).
 * SEALCAM_WYCHEPROOF overrides the folder. A missing folder is an error, not a skip.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const WYCHEPROOF_DIR =
  process.env.SEALCAM_WYCHEPROOF ?? path.resolve(__dirname, "..", "..", "..", "shared", "vectors", "wycheproof");

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: "valid" | "invalid" | "acceptable";
  [field: string]: unknown;
}

export interface WycheproofGroup {
  tests: WycheproofTest[];
  [field: string]: unknown;
}

export function loadWycheproof(file: string): WycheproofGroup[] {
  const full = path.join(WYCHEPROOF_DIR, file);
  if (!fs.existsSync(full)) {
    throw new Error(`Wycheproof vectors not found at ${full}: check out ../shared beside the project or set SEALCAM_WYCHEPROOF`);
  }
  return (JSON.parse(fs.readFileSync(full, "utf8")) as { testGroups: WycheproofGroup[] }).testGroups;
}
