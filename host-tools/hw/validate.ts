/**
 * Checks what a real-board build depends on but no machine here can build: the mcconfig manifests in
 * manifests/, the board definitions in hw/ and their partition tables. Each rule has a stable id (the tests
 * break every rule on purpose); docs/HARDWARE.md lists them.
 *
 *   const problems = validateAll({ root });   // [] when everything is consistent
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CAMERA_PIN_NAMES, listBoards, loadBoard, type Board, type Partition } from "./boards";

export interface Problem {
  rule: string;
  file: string;
  message: string;
}

const KIB = 1024;
const APP_ALIGN = 0x10000;
const DATA_ALIGN = 0x1000;
const TABLE_SIZE = 0x1000; // the table sector at 0x8000 (0xC00 bytes used)
const MIN_QUEUE = 64 * KIB;

const MANIFEST_KEYS = new Set([
  "include", "modules", "preload", "resources", "data", "platforms", "defines", "config", "creation", "strip",
  "typescript", "build", "recipes", "commonjs", "bundle",
]);
const PLATFORM_KEYS = new Set([
  "include", "modules", "preload", "resources", "data", "defines", "config", "build", "error", "warning", "dependency",
  "creation", "strip",
]);
/** Variables the Moddable SDK or the environment define. */
const SDK_VARIABLES = new Set([
  "MODDABLE", "MODULES", "BUILD", "COMMODETTO", "PIU", "IDF_PATH", "PLATFORM", "SUBPLATFORM", "FULLPLATFORM",
  "SUBPLATFORMDIRECTORY", "SUBPLATFORMMANIFEST", "BUILD_SIMULATOR", "IO",
]);
const SOURCE_EXTENSIONS = [".ts", ".d.ts", ".js", ".c", ".cc", ".cpp", ".h", ".json"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isComment(key: string): boolean {
  return key.startsWith("//");
}

function readJson(file: string, problems: Problem[]): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    problems.push({ rule: "file-missing", file, message: "file does not exist" });
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    problems.push({ rule: "json", file, message: `not valid JSON: ${(error as Error).message}` });
    return undefined;
  }
}

/** Does a manifest module path (no extension; may end in /*) name real files? */
function modulePathExists(base: string, value: string): boolean {
  const full = path.resolve(base, value);
  if (value.endsWith("/*")) {
    const dir = full.slice(0, -2);
    return fs.existsSync(dir) && fs.statSync(dir).isDirectory() && fs.readdirSync(dir).some((f) => SOURCE_EXTENSIONS.some((e) => f.endsWith(e)));
  }
  return SOURCE_EXTENSIONS.some((e) => fs.existsSync(full + e));
}

function isLocal(value: string): boolean {
  return value.startsWith("./") || value.startsWith("../");
}

function checkVariables(value: string, file: string, defined: Set<string>, problems: Problem[]): void {
  for (const m of value.matchAll(/\$\(([A-Za-z0-9_]+)\)/g))
    if (!SDK_VARIABLES.has(m[1]) && !defined.has(m[1]))
      problems.push({ rule: "variable", file, message: `$(${m[1]}) is not defined by the Moddable SDK or any build section` });
}

function strings(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  return undefined;
}

interface ManifestContext {
  defined: Set<string>;
  moduleSpecifiers: Set<string>;
}

/** Is a module specifier declared, directly or through a "prefix/*" entry? */
function declared(ctx: ManifestContext, specifier: string): boolean {
  if (ctx.moduleSpecifiers.has(specifier)) return true;
  for (const s of ctx.moduleSpecifiers) if (s.endsWith("/*") && specifier.startsWith(s.slice(0, -1)) && !specifier.slice(s.length - 1).includes("/")) return true;
  return false;
}

/** Checks the parts every manifest (root, included or platform section) may have. */
function checkSections(m: Record<string, unknown>, file: string, ctx: ManifestContext, problems: Problem[], keys: Set<string>): void {
  const base = path.dirname(file);
  for (const key of Object.keys(m))
    if (!isComment(key) && !keys.has(key)) problems.push({ rule: "unknown-key", file, message: `'${key}' is not a manifest property mcconfig knows` });

  if ("build" in m) {
    if (!isObject(m.build)) problems.push({ rule: "build", file, message: "'build' must be an object of strings" });
    else
      for (const [name, value] of Object.entries(m.build)) {
        if (isComment(name)) continue;
        if (typeof value !== "string") problems.push({ rule: "build", file, message: `build.${name} must be a string` });
        else {
          checkVariables(value, file, ctx.defined, problems);
          if (value.startsWith("./") && /FILE|PATH/.test(name) && !fs.existsSync(path.resolve(base, value)))
            problems.push({ rule: "path", file, message: `build.${name}: ${value} does not exist` });
        }
      }
  }

  if ("include" in m) {
    const list = strings(m.include);
    if (!list) problems.push({ rule: "include", file, message: "'include' must be a string or an array of strings" });
    else
      for (const inc of list) {
        checkVariables(inc, file, ctx.defined, problems);
        if (isLocal(inc)) {
          const target = path.resolve(base, inc);
          if (!fs.existsSync(target)) problems.push({ rule: "path", file, message: `include ${inc} does not exist` });
          else validateManifestFile(target, ctx, problems, false);
        }
      }
  }

  if ("modules" in m) {
    if (!isObject(m.modules)) problems.push({ rule: "modules", file, message: "'modules' must be an object" });
    else
      for (const [specifier, value] of Object.entries(m.modules)) {
        const list = strings(value);
        if (!list) {
          problems.push({ rule: "modules", file, message: `modules['${specifier}'] must be a path or an array of paths` });
          continue;
        }
        if (specifier !== "~") ctx.moduleSpecifiers.add(specifier);
        for (const p of list) {
          checkVariables(p, file, ctx.defined, problems);
          if (/\.(ts|js|c|json)$/.test(p)) problems.push({ rule: "modules", file, message: `modules['${specifier}']: give ${p} without its extension` });
          else if (specifier !== "~" && isLocal(p) && !modulePathExists(base, p))
            problems.push({ rule: "path", file, message: `modules['${specifier}']: ${p} matches no source file` });
        }
      }
  }

  if ("preload" in m && !strings(m.preload)) problems.push({ rule: "preload", file, message: "'preload' must be a string or an array of strings" });

  for (const key of ["resources", "data"]) {
    if (!(key in m)) continue;
    const section = m[key];
    if (!isObject(section)) problems.push({ rule: key, file, message: `'${key}' must be an object` });
    else
      for (const [k, v] of Object.entries(section)) {
        const list = strings(v);
        if (!list) problems.push({ rule: key, file, message: `${key}['${k}'] must be a path or an array of paths` });
        else for (const p of list) checkVariables(p, file, ctx.defined, problems);
      }
  }

  for (const key of ["defines", "config"])
    if (key in m && !isObject(m[key])) problems.push({ rule: key, file, message: `'${key}' must be an object` });

  if ("dependency" in m) {
    if (!Array.isArray(m.dependency)) problems.push({ rule: "dependency", file, message: "'dependency' must be an array" });
    else
      for (const dep of m.dependency) {
        const ok =
          isObject(dep) &&
          ((typeof dep.idf === "string" && dep.idf !== "") ||
            (typeof dep.name === "string" && typeof dep.version === "string" && (dep.includes === undefined || strings(dep.includes) !== undefined)));
        if (!ok)
          problems.push({ rule: "dependency", file, message: `dependency ${JSON.stringify(dep)} needs {"idf": name} or {"name", "version"[, "includes"]}` });
      }
  }

  if ("platforms" in m) {
    if (!isObject(m.platforms)) problems.push({ rule: "platforms", file, message: "'platforms' must be an object" });
    else
      for (const [id, section] of Object.entries(m.platforms)) {
        if (!/^(\.\.\.|[a-z0-9]+(\/(\*|[a-z0-9_]+))?)$/.test(id))
          problems.push({ rule: "platforms", file, message: `platform id '${id}' must be "platform", "platform/*", "platform/sub" or "..."` });
        if (!isObject(section)) {
          problems.push({ rule: "platforms", file, message: `platforms['${id}'] must be an object` });
          continue;
        }
        if ("error" in section && typeof section.error !== "string")
          problems.push({ rule: "platforms", file, message: `platforms['${id}'].error must be a string` });
        checkSections(section, file, ctx, problems, PLATFORM_KEYS);
      }
  }
}

function collectBuildNames(m: unknown, into: Set<string>): void {
  if (!isObject(m)) return;
  if (isObject(m.build)) for (const name of Object.keys(m.build)) into.add(name.replace(/ \?=$/, ""));
  if (isObject(m.platforms)) for (const section of Object.values(m.platforms)) collectBuildNames(section, into);
}

const visited = new WeakMap<ManifestContext, Set<string>>();

function validateManifestFile(file: string, ctx: ManifestContext, problems: Problem[], root: boolean): Record<string, unknown> | undefined {
  const seen = visited.get(ctx) ?? new Set<string>();
  visited.set(ctx, seen);
  if (seen.has(file)) return undefined;
  seen.add(file);
  const json = readJson(file, problems);
  if (json === undefined) return undefined;
  if (!isObject(json)) {
    problems.push({ rule: "json", file, message: "a manifest must be a JSON object" });
    return undefined;
  }
  collectBuildNames(json, ctx.defined);
  checkSections(json, file, ctx, problems, MANIFEST_KEYS);
  if (root) checkRoot(json, file, ctx, problems);
  return json;
}

/** Rules for the application manifest itself (the one mcconfig is given). */
function checkRoot(m: Record<string, unknown>, file: string, ctx: ManifestContext, problems: Problem[]): void {
  const creation = m.creation;
  if (!isObject(creation)) problems.push({ rule: "creation", file, message: "the application manifest needs 'creation' (mcconfig refuses to build without it)" });
  else {
    const num = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0;
    if (!isObject(creation.chunk) || !num(creation.chunk.initial)) problems.push({ rule: "creation", file, message: "creation.chunk.initial must be a byte count" });
    if (!isObject(creation.heap) || !num(creation.heap.initial)) problems.push({ rule: "creation", file, message: "creation.heap.initial must be a slot count" });
    if (!num(creation.stack)) problems.push({ rule: "creation", file, message: "creation.stack must be a slot count" });
    if (typeof creation.main !== "string" || !declared(ctx, creation.main))
      problems.push({ rule: "creation", file, message: "creation.main must name a module listed in 'modules'" });
  }
  const platforms = isObject(m.platforms) ? m.platforms : {};
  const fallback = platforms["..."];
  if (!isObject(fallback) || typeof fallback.error !== "string")
    problems.push({ rule: "platforms", file, message: "platforms['...'] must give an error for unsupported platforms" });
  const ts = isObject(m.typescript) && isObject(m.typescript.tsconfig) ? m.typescript.tsconfig.compilerOptions : undefined;
  if (!isObject(ts) || ts.strict !== true) problems.push({ rule: "typescript", file, message: "typescript.tsconfig.compilerOptions.strict must be true" });
  for (const p of strings(m.preload) ?? [])
    if (!declared(ctx, p))
      problems.push({ rule: "preload", file, message: `preload '${p}' is not a module listed in 'modules'` });
  const quality = isObject(m.config) ? m.config.jpegQuality : undefined;
  const built = isObject(m.defines) && isObject(m.defines.camera) ? m.defines.camera.jpeg_quality : undefined;
  if (quality !== built)
    problems.push({ rule: "camera-quality", file, message: `config.jpegQuality (${String(quality)}) must equal defines.camera.jpeg_quality (${String(built)}): the driver takes it at build time` });
}

/** Local module entries of a manifest (globs expanded): specifier -> source file (.ts or .js). */
function localModules(file: string, manifest: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  const base = path.dirname(file);
  const modules = isObject(manifest.modules) ? manifest.modules : {};
  for (const [specifier, value] of Object.entries(modules)) {
    if (specifier === "~") continue;
    for (const p of strings(value) ?? []) {
      if (!isLocal(p)) continue;
      const full = path.resolve(base, p);
      if (p.endsWith("/*") && specifier.endsWith("/*")) {
        const dir = full.slice(0, -2);
        if (!fs.existsSync(dir)) continue;
        for (const f of fs.readdirSync(dir))
          if (/\.(ts|js)$/.test(f) && !f.endsWith(".d.ts")) out.set(specifier.slice(0, -1) + f.replace(/\.(ts|js)$/, ""), path.join(dir, f));
      } else {
        if (/\.(ts|js)$/.test(full) && fs.existsSync(full)) out.set(specifier, full); // reported by the modules rule
        for (const ext of [".ts", ".js"]) if (fs.existsSync(full + ext)) out.set(specifier, full + ext);
      }
    }
  }
  return out;
}

const IMPORT_PATTERNS = [
  /\bimport\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']/g,
  /\bexport\s+(?:type\s+)?[^'"]*?\sfrom\s+["']([^"']+)["']/g,
];

/**
 * Every relative import of a module in the build resolves to a module the manifest lists: mcconfig compiles
 * modules by specifier, so "../core/bytes" from "camera/app" must exist as "core/bytes".
 */
export function validateImports(file: string, manifest: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const modules = localModules(file, manifest);
  for (const [specifier, source] of modules) {
    const text = fs.readFileSync(source, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    for (const pattern of IMPORT_PATTERNS)
      for (const m of text.matchAll(pattern)) {
        const target = m[1];
        if (!target.startsWith("./") && !target.startsWith("../")) continue;
        const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(specifier), target));
        if (resolved.startsWith("..") || !modules.has(resolved))
          problems.push({ rule: "import", file, message: `${specifier} imports '${target}', which resolves to '${resolved}', not a module in the manifest` });
      }
  }
  return problems;
}

export function validateManifest(file: string): { problems: Problem[]; manifest: Record<string, unknown> | undefined } {
  const problems: Problem[] = [];
  const ctx: ManifestContext = { defined: new Set(), moduleSpecifiers: new Set() };
  const first = readJson(file, []);
  collectBuildNames(first, ctx.defined); // build names may be used before the section that defines them
  const manifest = validateManifestFile(path.resolve(file), ctx, problems, true);
  if (manifest) problems.push(...validateImports(path.resolve(file), manifest));
  return { problems, manifest };
}

// ---- partitions and boards -----------------------------------------------------------------------------------

function hex(n: number): string {
  return "0x" + n.toString(16);
}

export function validatePartitions(board: Board): Problem[] {
  const problems: Problem[] = [];
  const file = board.partitionsPath;
  const add = (rule: string, message: string): void => {
    problems.push({ rule, file, message });
  };
  if (board.offsets.bootloader !== 0) add("offsets", `the ESP32-S3 bootloader is at 0x0, not ${hex(board.offsets.bootloader)}`);
  if (board.offsets.partitionTable !== 0x8000) add("offsets", `the partition table is at 0x8000, not ${hex(board.offsets.partitionTable)}`);
  const names = new Set<string>();
  for (const p of board.partitions) {
    if (names.has(p.name)) add("duplicate", `partition name '${p.name}' is used twice`);
    names.add(p.name);
    if (p.size <= 0) add("size", `${p.name} has no size`);
    if (p.offset < board.offsets.partitionTable + TABLE_SIZE)
      add("overlap", `${p.name} at ${hex(p.offset)} overlaps the bootloader or the partition table (first free offset ${hex(board.offsets.partitionTable + TABLE_SIZE)})`);
    if (p.type === "app") {
      if (p.offset % APP_ALIGN !== 0) add("align", `app partition ${p.name} at ${hex(p.offset)} must be 64 KiB aligned`);
      if (p.size % DATA_ALIGN !== 0) add("align", `app partition ${p.name} size ${hex(p.size)} must be a multiple of 4 KiB`);
    } else {
      if (p.offset % DATA_ALIGN !== 0) add("align", `data partition ${p.name} at ${hex(p.offset)} must be 4 KiB aligned`);
      if (p.size % DATA_ALIGN !== 0) add("align", `data partition ${p.name} size ${hex(p.size)} must be a multiple of 4 KiB`);
    }
    if (p.offset + p.size > board.flashBytes)
      add("fit", `${p.name} ends at ${hex(p.offset + p.size)}, past the end of ${board.flashSize} flash (${hex(board.flashBytes)})`);
  }
  const sorted = [...board.partitions].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (a.offset + a.size > b.offset) add("overlap", `${a.name} (${hex(a.offset)}..${hex(a.offset + a.size)}) overlaps ${b.name} at ${hex(b.offset)}`);
  }
  const find = (pred: (p: Partition) => boolean): Partition[] => board.partitions.filter(pred);
  const factory = find((p) => p.type === "app" && p.subtype === "factory");
  if (factory.length !== 1) add("required", "there must be exactly one factory app partition");
  else if (factory[0].offset !== board.offsets.app)
    add("offsets", `factory app is at ${hex(factory[0].offset)} but board.json says app ${hex(board.offsets.app)}`);
  const nvs = find((p) => p.name === "nvs" && p.type === "data" && p.subtype === "nvs");
  if (nvs.length !== 1) add("required", "there must be an 'nvs' data partition (subtype nvs) for Preference");
  else if (nvs[0].size < 0x3000) add("size", "nvs must be at least 0x3000 (3 pages)");
  if (find((p) => p.type === "data" && p.subtype === "phy").length !== 1) add("required", "there must be one phy_init data partition (subtype phy)");
  const queue = find((p) => p.name === "clipq");
  if (queue.length !== 1) add("required", "there must be a 'clipq' data partition for the clip queue");
  else {
    if (queue[0].type !== "data" || !/^0x[4-9a-f][0-9a-f]$/.test(queue[0].subtype))
      add("required", "clipq must be a data partition with a custom subtype (0x40-0xFE)");
    if (queue[0].size < MIN_QUEUE) add("size", `clipq must be at least ${MIN_QUEUE / KIB} KiB`);
  }
  return problems;
}

/** GPIO 26-32 carry the SPI flash on every ESP32-S3 module; 33-37 the PSRAM on octal-PSRAM modules. */
export function validatePins(board: Board): Problem[] {
  const problems: Problem[] = [];
  const file = path.join(board.dir, "board.json");
  const used = new Map<number, string>();
  for (const name of CAMERA_PIN_NAMES) {
    const pin = board.pins.camera[name];
    if (pin === -1) continue;
    if (!Number.isInteger(pin) || pin < 0 || pin > 48) {
      problems.push({ rule: "pins", file, message: `camera ${name} pin ${pin} is not an ESP32-S3 GPIO (0..48 or -1)` });
      continue;
    }
    if (used.has(pin)) problems.push({ rule: "pins", file, message: `GPIO ${pin} is used for both camera ${used.get(pin)} and ${name}` });
    used.set(pin, name);
    if (pin >= 26 && pin <= 32) problems.push({ rule: "pins", file, message: `camera ${name} on GPIO ${pin} collides with the SPI flash` });
    if (board.psram.mode === "octal" && pin >= 33 && pin <= 37)
      problems.push({ rule: "pins", file, message: `camera ${name} on GPIO ${pin} collides with octal PSRAM` });
  }
  const pir = board.pins.pir;
  if (typeof pir === "number") {
    if (pir < 0 || pir > 48) problems.push({ rule: "pins", file, message: `pir pin ${pir} is not an ESP32-S3 GPIO (0..48; null for none)` });
    else if (used.has(pir)) problems.push({ rule: "pins", file, message: `GPIO ${pir} is used for both camera ${used.get(pir)} and the PIR sensor` });
    else if ((pir >= 26 && pir <= 32) || (board.psram.mode === "octal" && pir >= 33 && pir <= 37))
      problems.push({ rule: "pins", file, message: `pir on GPIO ${pir} collides with the flash or PSRAM` });
  }
  for (const required of ["xclk", "pclk", "href", "vsync", "scl", "sda", "d0", "d7"] as const)
    if (board.pins.camera[required] === -1) problems.push({ rule: "pins", file, message: `camera ${required} must be connected` });
  return problems;
}

function sdkconfigValue(text: string, key: string): string | undefined {
  let value: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m && m[1] === key) value = m[2];
  }
  return value;
}

/** Our own Moddable target folder (boards without an SDK target): manifest, sdkconfig, provider, pins. */
export function validateTarget(board: Board): Problem[] {
  const problems: Problem[] = [];
  if (!board.targetDir) return problems;
  const file = path.join(board.targetDir, "manifest.json");
  const target = readJson(file, problems);
  if (!isObject(target)) return problems;
  const sub = board.moddableTarget.split("/")[1];
  const build = isObject(target.build) ? target.build : {};
  const effective = typeof build.SUBPLATFORM === "string" ? build.SUBPLATFORM : path.basename(board.targetDir);
  if (effective !== sub) problems.push({ rule: "target", file, message: `target builds as esp32/${effective} but board.json says ${board.moddableTarget}` });
  if (build.ESP32_SUBCLASS !== "esp32s3") problems.push({ rule: "target", file, message: "build.ESP32_SUBCLASS must be esp32s3" });
  if (board.usb.kind === "usb-serial-jtag" && build.USE_USB !== "2")
    problems.push({ rule: "target", file, message: 'a USB Serial/JTAG board needs build.USE_USB "2"' });
  const sdkPath = typeof build.SDKCONFIGPATH === "string" ? path.resolve(board.targetDir, build.SDKCONFIGPATH) : undefined;
  const sdkFile = sdkPath ? path.join(sdkPath, "sdkconfig.defaults") : undefined;
  if (!sdkFile || !fs.existsSync(sdkFile)) problems.push({ rule: "target", file, message: "build.SDKCONFIGPATH must name a folder with sdkconfig.defaults" });
  else {
    const text = fs.readFileSync(sdkFile, "utf8");
    const size = sdkconfigValue(text, "CONFIG_ESPTOOLPY_FLASHSIZE");
    if (size !== `"${board.flashSize}"`) problems.push({ rule: "sdkconfig", file: sdkFile, message: `CONFIG_ESPTOOLPY_FLASHSIZE must be "${board.flashSize}"` });
    if (sdkconfigValue(text, "CONFIG_SPIRAM") !== "y") problems.push({ rule: "sdkconfig", file: sdkFile, message: "CONFIG_SPIRAM=y is needed: camera frame buffers live in PSRAM" });
    const oct = sdkconfigValue(text, "CONFIG_SPIRAM_MODE_OCT") === "y";
    if (oct !== (board.psram.mode === "octal"))
      problems.push({ rule: "sdkconfig", file: sdkFile, message: `CONFIG_SPIRAM_MODE_OCT must be ${board.psram.mode === "octal" ? "y" : "n"} for ${board.psram.mode} PSRAM` });
  }
  if (typeof build.PARTITIONS_FILE_FOR_TARGET === "string" && path.resolve(board.targetDir, build.PARTITIONS_FILE_FOR_TARGET) !== board.partitionsPath)
    problems.push({ rule: "target", file, message: "build.PARTITIONS_FILE_FOR_TARGET must be the board's partitions.csv" });
  if (!fs.existsSync(path.join(board.targetDir, "host", "provider.js")))
    problems.push({ rule: "target", file, message: "host/provider.js is missing (the camera module opens its I2C bus through it)" });
  const modules = isObject(target.modules) ? target.modules : {};
  for (const [spec, value] of Object.entries(modules))
    for (const p of strings(value) ?? [])
      if (isLocal(p) && !modulePathExists(board.targetDir, p)) problems.push({ rule: "path", file, message: `modules['${spec}']: ${p} matches no source file` });
  const camera = isObject(target.defines) && isObject(target.defines.camera) ? target.defines.camera : undefined;
  if (!camera) problems.push({ rule: "target", file, message: "defines.camera (the camera pins) is missing" });
  else
    for (const name of CAMERA_PIN_NAMES)
      if (camera[name] !== board.pins.camera[name])
        problems.push({ rule: "pins", file, message: `defines.camera.${name} is ${String(camera[name])} but board.json says ${board.pins.camera[name]}` });
  return problems;
}

/** Every board has the platform entry the application manifest needs, pointing at its partition table. */
export function validateBoardsAgainstManifest(
  manifestFile: string,
  manifest: Record<string, unknown>,
  boards: Board[],
  boardFolders: string[] = boards.map((b) => b.name),
): Problem[] {
  const problems: Problem[] = [];
  const platforms = isObject(manifest.platforms) ? manifest.platforms : {};
  const base = path.dirname(manifestFile);
  for (const board of boards) {
    const entry = platforms[board.moddableTarget];
    if (!isObject(entry)) {
      problems.push({ rule: "board-platform", file: manifestFile, message: `no platforms['${board.moddableTarget}'] entry for board ${board.name}` });
      continue;
    }
    const build = isObject(entry.build) ? entry.build : {};
    const pf = typeof build.PARTITIONS_FILE === "string" ? path.resolve(base, build.PARTITIONS_FILE) : undefined;
    if (pf !== board.partitionsPath)
      problems.push({ rule: "board-platform", file: manifestFile, message: `platforms['${board.moddableTarget}'].build.PARTITIONS_FILE must be ${path.relative(base, board.partitionsPath)}` });
    if (typeof entry.error === "string") problems.push({ rule: "board-platform", file: manifestFile, message: `platforms['${board.moddableTarget}'] must not be an error` });
  }
  for (const id of Object.keys(platforms))
    if (/^esp32\/[a-z0-9_]+$/.test(id) && !boards.some((b) => b.moddableTarget === id) && !boardFolders.includes(id.slice(6)))
      problems.push({ rule: "board-platform", file: manifestFile, message: `platforms['${id}'] has no board in hw/` });
  return problems;
}

export interface ValidateOptions {
  /** Repository root (with manifests/ and hw/). */
  root: string;
  manifest?: string;
}

export function validateAll(options: ValidateOptions): Problem[] {
  const hwDir = path.join(options.root, "hw");
  const manifestFile = path.resolve(options.root, options.manifest ?? "manifests/manifest.json");
  const { problems, manifest } = validateManifest(manifestFile);
  const boards: Board[] = [];
  const folders = listBoards(hwDir);
  for (const name of folders) {
    try {
      boards.push(loadBoard(name, hwDir));
    } catch (error) {
      problems.push({ rule: "board-json", file: path.join(hwDir, name, "board.json"), message: (error as Error).message });
    }
  }
  if (boards.length === 0) problems.push({ rule: "board-json", file: hwDir, message: "no boards defined" });
  for (const board of boards) problems.push(...validatePartitions(board), ...validatePins(board), ...validateTarget(board));
  if (manifest) problems.push(...validateBoardsAgainstManifest(manifestFile, manifest, boards, folders));
  return problems;
}

export function formatProblems(problems: Problem[], root: string): string {
  return problems.map((p) => `${path.relative(root, p.file) || p.file}: [${p.rule}] ${p.message}`).join("\n");
}
