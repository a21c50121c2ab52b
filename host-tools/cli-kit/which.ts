/** Finding a program the way a shell would: the first executable file of that name on PATH. */
import * as fs from "node:fs";
import * as path from "node:path";

/** The first executable `name` on PATH, or undefined. */
export function findOnPath(name: string, env: Record<string, string | undefined> = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
