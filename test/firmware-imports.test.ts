/**
 * firmware/ runs in XS on the camera: it may import only its own files, Moddable modules and our native
 * bindings. A Node built-in or an npm package there would only work in the simulator, so it fails here.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const FIRMWARE = path.join(__dirname, "..", "firmware");

// Moddable SDK modules the firmware may use, plus our own native bindings declared in firmware/types.
const ALLOWED = new Set([
  "wifi", "http", "net", "socket", "timer", "time", "preference", "flash", "file", "sntp", "dns/server", "mdns",
  "securesocket", "websocket", "mc/config", "debug", "instrumentation", "embedded:io/image/in/camera",
  "embedded:io/serial", "embedded:io/digital", "embedded:storage/flash", "embedded:storage/key-value",
  "sealcam/native-crypto", "sealcam/native-system", "sealcam/host-channel",
]);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

export function forbiddenImports(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']/g,
    /\bexport\s+(?:type\s+)?[^'"]*?\sfrom\s+["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) {
      const spec = match[1];
      if (spec.startsWith("./") || spec.startsWith("../")) continue;
      if (!ALLOWED.has(spec)) found.push(spec);
    }
  }
  if (/\brequire\s*\(/.test(source)) found.push("require()");
  return found;
}

test("the checker itself catches Node built-ins, npm packages and require()", () => {
  expect(forbiddenImports(`import * as fs from "node:fs";`)).toEqual(["node:fs"]);
  expect(forbiddenImports(`import { x } from "crypto";`)).toEqual(["crypto"]);
  expect(forbiddenImports(`export { p256 } from "@noble/curves/nist.js";`)).toEqual(["@noble/curves/nist.js"]);
  expect(forbiddenImports(`const a = await import("path");`)).toEqual(["path"]);
  expect(forbiddenImports(`const b = require("./x");`)).toEqual(["require()"]);
  expect(forbiddenImports(`import Timer from "timer";\nimport { concat } from "../core/bytes";`)).toEqual([]);
});

test("no file under firmware/ imports a Node built-in or a host package", () => {
  const files = sourceFiles(FIRMWARE);
  expect(files.length).toBeGreaterThan(5);
  const offenders = files
    .map((file) => ({ file: path.relative(FIRMWARE, file), bad: forbiddenImports(fs.readFileSync(file, "utf8")) }))
    .filter((entry) => entry.bad.length > 0);
  expect(offenders).toEqual([]);
});
