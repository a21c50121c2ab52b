/**
 * bundleFirmware: firmware TypeScript -> one IIFE script for the XS host (host-tools/board-sim/xs-host).
 *
 *   await bundleFirmware("firmware/camera/main.ts", "build/xs-bundles/camera.js", { alias: { timer: "./sim/timer.ts" } });
 *
 * The bundle starts with the host prelude (timers, console, trace; xs-host/js/prelude.ts), then the entry.
 * Module specifiers that exist only on the board are mapped to their XS-host bodies:
 *   "sealcam/native-crypto" -> xs-host/js/native-crypto.ts, "sealcam/host-channel" -> xs-host/js/host-channel.ts;
 * `options.alias` adds or overrides mappings (specifier -> file path, relative to the repo root or absolute),
 * e.g. for Moddable modules the board simulator provides ("timer", "preference", ...).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

export interface BundleOptions {
  /** Extra specifier -> file mappings (paths relative to the repo root, or absolute). */
  alias?: Record<string, string>;
  /** esbuild `define` (identifier -> JS expression text). */
  define?: Record<string, string>;
  minify?: boolean;
}

/** The repository root (works from the sources, from jest, and from the bundled CLI in dist/). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, "host-tools", "board-sim", "xs-host", "main.c"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the sealcam repository root from " + __dirname);
    dir = parent;
  }
}

export function xsHostAliases(): Record<string, string> {
  const js = path.join(repoRoot(), "host-tools", "board-sim", "xs-host", "js");
  return {
    "sealcam/native-crypto": path.join(js, "native-crypto.ts"),
    "sealcam/host-channel": path.join(js, "host-channel.ts"),
  };
}

export async function bundleFirmware(entry: string, outFile: string, options: BundleOptions = {}): Promise<void> {
  const root = repoRoot();
  const resolve = (file: string) => (path.isAbsolute(file) ? file : path.join(root, file));
  const aliases: Record<string, string> = { ...xsHostAliases() };
  for (const [specifier, file] of Object.entries(options.alias ?? {})) aliases[specifier] = resolve(file);
  const prelude = path.join(root, "host-tools", "board-sim", "xs-host", "js", "prelude.ts");
  const filter = new RegExp(
    "^(" + Object.keys(aliases).map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|") + ")$",
  );
  fs.mkdirSync(path.dirname(resolve(outFile)), { recursive: true });
  await esbuild.build({
    stdin: {
      contents: `import ${JSON.stringify(prelude)};\nimport ${JSON.stringify(resolve(entry))};\n`,
      resolveDir: root,
      sourcefile: "xs-host-entry.ts",
      loader: "ts",
    },
    bundle: true,
    format: "iife",
    target: "es2022",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["import", "default"],
    define: options.define,
    minify: options.minify ?? false,
    charset: "ascii",
    outfile: resolve(outFile),
    logLevel: "silent",
    plugins: [
      {
        name: "sealcam-xs-host-aliases",
        setup(build) {
          build.onResolve({ filter }, (args) => ({ path: aliases[args.path] }));
        },
      },
    ],
  });
}
