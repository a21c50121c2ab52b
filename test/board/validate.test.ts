/**
 * The manifest/board/partition validator: the real repository passes, and every rule fires when a copy of
 * manifests/ and hw/ is broken on purpose (one break per case).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateAll, type Problem } from "../../host-tools/hw/validate";

const ROOT = path.join(__dirname, "..", "..");
let scratch: string;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-hw-"));
});
afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

let counter = 0;
/** A copy of manifests/ and hw/ (firmware/ linked) that `mutate` may break; returns the problems found. */
function check(mutate: (root: string) => void): Problem[] {
  const root = path.join(scratch, `repo${counter++}`);
  fs.mkdirSync(root);
  fs.cpSync(path.join(ROOT, "manifests"), path.join(root, "manifests"), { recursive: true });
  fs.cpSync(path.join(ROOT, "hw"), path.join(root, "hw"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "firmware"), path.join(root, "firmware"));
  mutate(root);
  return validateAll({ root });
}

type Json = Record<string, unknown>;
function editJson(file: string, edit: (json: Json) => void): void {
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as Json;
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
}
function manifest(root: string): string {
  return path.join(root, "manifests", "manifest.json");
}
function obj(v: unknown): Json {
  return v as Json;
}
function replaceIn(file: string, from: string | RegExp, to: string): void {
  const text = fs.readFileSync(file, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`nothing to replace in ${file}`);
  fs.writeFileSync(file, next);
}

function rules(problems: Problem[]): string[] {
  return [...new Set(problems.map((p) => p.rule))].sort();
}

function expectOnly(problems: Problem[], rule: string, text: RegExp): void {
  expect(rules(problems)).toEqual([rule]);
  expect(problems.map((p) => p.message).join("\n")).toMatch(text);
}

test("the repository's manifests, boards and partition tables are consistent", () => {
  expect(validateAll({ root: ROOT })).toEqual([]);
  expect(check(() => undefined)).toEqual([]);
});

describe("manifest rules", () => {
  test("json: a manifest that does not parse", () => {
    const problems = check((root) => fs.appendFileSync(manifest(root), "}"));
    expect(rules(problems)).toContain("json");
  });
  test("unknown-key: a property mcconfig does not know", () => {
    expectOnly(check((root) => editJson(manifest(root), (m) => (m.modulez = {}))), "unknown-key", /'modulez'/);
  });
  test("path: a module path that matches no file", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => (obj(m.modules)["board/ghost"] = "../firmware/board/ghost"))),
      "path",
      /board\/ghost/,
    );
  });
  test("modules: a module path written with its extension", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => (obj(m.modules)["board/log"] = "../firmware/board/log.ts"))),
      "modules",
      /without its extension/,
    );
  });
  test("creation: missing, or main not a listed module", () => {
    expectOnly(check((root) => editJson(manifest(root), (m) => delete m.creation)), "creation", /needs 'creation'/);
    expectOnly(check((root) => editJson(manifest(root), (m) => (obj(m.creation).main = "nowhere/main"))), "creation", /creation.main/);
    expectOnly(check((root) => editJson(manifest(root), (m) => (obj(m.creation).stack = "big"))), "creation", /creation.stack/);
  });
  test("platforms: no error for unsupported platforms, or a malformed platform id", () => {
    expectOnly(check((root) => editJson(manifest(root), (m) => delete obj(m.platforms)["..."])), "platforms", /platforms\['...'\]/);
    expectOnly(check((root) => editJson(manifest(root), (m) => (obj(m.platforms)["ESP32 S3"] = {}))), "platforms", /platform id 'ESP32 S3'/);
  });
  test("typescript: strict must be on", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => (obj(obj(obj(m.typescript).tsconfig).compilerOptions).strict = false))),
      "typescript",
      /strict/,
    );
  });
  test("camera-quality: config and the driver's build-time define must agree", () => {
    expectOnly(check((root) => editJson(manifest(root), (m) => (obj(m.config).jpegQuality = 20))), "camera-quality", /jpegQuality \(20\)/);
  });
  test("variable: an undefined $(VAR)", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => (m.include = [...(m.include as string[]), "$(NOWHERE)/x.json"]))),
      "variable",
      /\$\(NOWHERE\)/,
    );
  });
  test("dependency: an entry that is neither an IDF component nor a registry component", () => {
    expectOnly(
      check((root) => editJson(path.join(root, "manifests", "esp32.json"), (m) => (obj(obj(m.platforms).esp32).dependency = [{ version: "1" }]))),
      "dependency",
      /needs/,
    );
  });
  test("path: a local include that does not exist", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => (obj(obj(m.platforms)["esp32/esp32s3_eye"]).include = "./nope.json"))),
      "path",
      /nope.json/,
    );
  });
  test("import: a module whose relative import the manifest does not list", () => {
    const problems = check((root) => editJson(manifest(root), (m) => delete obj(m.modules)["core/clip/*"]));
    expect(rules(problems)).toEqual(["import"]);
    expect(problems.map((p) => p.message).join("\n")).toMatch(/camera\/\S+ imports '\.\.\/core\/clip\/\S+', which resolves to 'core\/clip\//);
    const missingBoardFile = check((root) => editJson(manifest(root), (m) => delete obj(m.modules)["board/system"]));
    expect(missingBoardFile.map((p) => p.message).join("\n")).toMatch(/board\/main imports '\.\/system'/);
  });
  test("preload: a preloaded module that is not listed", () => {
    expectOnly(check((root) => editJson(manifest(root), (m) => (m.preload = ["core/errors", "nothing/here"]))), "preload", /nothing\/here/);
  });
});

describe("board ↔ manifest rules", () => {
  test("board-platform: a board without its platform entry", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => delete obj(m.platforms)["esp32/lilygo_t_camera_plus_s3"])),
      "board-platform",
      /lilygo_t_camera_plus_s3/,
    );
  });
  test("board-platform: a platform entry pointing at another board's partition table", () => {
    expectOnly(
      check((root) =>
        editJson(manifest(root), (m) => (obj(obj(obj(m.platforms)["esp32/esp32s3_eye"]).build).PARTITIONS_FILE = "./../hw/xiao_esp32s3_sense/partitions.csv")),
      ),
      "board-platform",
      /PARTITIONS_FILE must be/,
    );
  });
  test("board-platform: a platform entry with no board folder", () => {
    expectOnly(
      check((root) => editJson(manifest(root), (m) => (obj(m.platforms)["esp32/m5atom_s3r_cam"] = { include: "./esp32.json" }))),
      "board-platform",
      /has no board in hw/,
    );
  });
});

describe("partition rules", () => {
  const xiaoCsv = (root: string): string => path.join(root, "hw", "xiao_esp32s3_sense", "partitions.csv");
  test("align: app partitions on 64 KiB, data on 4 KiB", () => {
    expect(rules(check((root) => replaceIn(xiaoCsv(root), "factory,  app,  factory, 0x10000,  0x300000", "factory,  app,  factory, 0x10000,  0x300800")))).toContain("align");
    const misplaced = check((root) => {
      replaceIn(xiaoCsv(root), "0x10000,  0x300000", "0x18000,  0x2f8000");
      editJson(path.join(root, "hw", "xiao_esp32s3_sense", "board.json"), (b) => (obj(b.offsets).app = "0x18000"));
    });
    expectOnly(misplaced, "align", /64 KiB aligned/);
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "clipq,    data, 0x40,    0x310000, 0x4f0000", "clipq,    data, 0x40,    0x310800, 0x4ef800")), "align", /4 KiB aligned/);
  });
  test("overlap: partitions that overlap each other or the partition table", () => {
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "0x310000, 0x4f0000", "0x300000, 0x500000")), "overlap", /factory .* overlaps clipq/);
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "nvs,      data, nvs,     0x9000,   0x6000", "nvs,      data, nvs,     0x8000,   0x7000")), "overlap", /partition table/);
  });
  test("fit: a partition past the end of flash", () => {
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "0x310000, 0x4f0000", "0x310000, 0x500000")), "fit", /past the end of 8MB/);
    expectOnly(check((root) => editJson(path.join(root, "hw", "xiao_esp32s3_sense", "board.json"), (b) => (b.flashSize = "4MB"))), "fit", /4MB/);
  });
  test("duplicate, required and size: names, the partitions the firmware needs, minimum sizes", () => {
    expect(rules(check((root) => replaceIn(xiaoCsv(root), "phy_init, data, phy", "nvs, data, phy")))).toEqual(["duplicate"]);
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "clipq,", "clips,")), "required", /clipq/);
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "clipq,    data, 0x40,", "clipq,    data, nvs,")), "required", /custom subtype/);
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "0x310000, 0x4f0000", "0x310000, 0x8000")), "size", /at least 64 KiB/);
    expectOnly(check((root) => replaceIn(xiaoCsv(root), "0x9000,   0x6000", "0x9000,   0x2000")), "size", /nvs/);
  });
  test("offsets: board.json must agree with the table and the chip", () => {
    expectOnly(check((root) => editJson(path.join(root, "hw", "esp32s3_eye", "board.json"), (b) => (obj(b.offsets).app = "0x20000"))), "offsets", /factory app/);
    expectOnly(check((root) => editJson(path.join(root, "hw", "esp32s3_eye", "board.json"), (b) => (obj(b.offsets).bootloader = "0x1000"))), "offsets", /bootloader/);
  });
});

describe("board rules", () => {
  const eye = (root: string): string => path.join(root, "hw", "esp32s3_eye");
  test("board-json: shape errors are reported per board", () => {
    expectOnly(check((root) => editJson(path.join(eye(root), "board.json"), (b) => delete b.sensor)), "board-json", /'sensor'/);
    expectOnly(check((root) => editJson(path.join(eye(root), "board.json"), (b) => (obj(b.usb).vid = "0x303a"))), "board-json", /4 hex digits/);
    expectOnly(check((root) => editJson(path.join(eye(root), "board.json"), (b) => (b.name = "eye"))), "board-json", /must match its folder/);
  });
  test("pins: duplicates, the SPI flash and octal PSRAM pins", () => {
    const setPin = (name: string, pin: number) => (root: string): void => {
      editJson(path.join(root, "hw", "xiao_esp32s3_sense", "board.json"), (b) => (obj(obj(b.pins).camera)[name] = pin));
    };
    expectOnly(check(setPin("d0", 17)), "pins", /both camera d1 and d0|both camera d0 and d1/);
    expectOnly(check(setPin("d0", 28)), "pins", /SPI flash/);
    expectOnly(check(setPin("d0", 35)), "pins", /octal PSRAM/);
    expectOnly(check(setPin("xclk", -1)), "pins", /xclk must be connected/);
  });
  test("pins: our own target's defines must match board.json", () => {
    expectOnly(
      check((root) => editJson(path.join(eye(root), "manifest.json"), (m) => (obj(obj(m.defines).camera).xclk = 14))),
      "pins",
      /defines.camera.xclk is 14/,
    );
  });
  test("target and sdkconfig: our own target folder is complete and matches the board", () => {
    expectOnly(check((root) => fs.rmSync(path.join(eye(root), "host", "provider.js"))), "target", /provider.js/);
    expectOnly(check((root) => editJson(path.join(eye(root), "manifest.json"), (m) => (obj(m.build).SUBPLATFORM = "eye"))), "target", /esp32\/eye/);
    const sdk = (root: string): string => path.join(eye(root), "sdkconfig", "sdkconfig.defaults");
    expectOnly(check((root) => replaceIn(sdk(root), 'CONFIG_ESPTOOLPY_FLASHSIZE="8MB"', 'CONFIG_ESPTOOLPY_FLASHSIZE="16MB"')), "sdkconfig", /FLASHSIZE/);
    expectOnly(check((root) => replaceIn(sdk(root), "CONFIG_SPIRAM_MODE_OCT=y", "CONFIG_SPIRAM_MODE_OCT=n")), "sdkconfig", /octal PSRAM/);
    expectOnly(check((root) => replaceIn(sdk(root), "CONFIG_SPIRAM=y", "CONFIG_SPIRAM=n")), "sdkconfig", /PSRAM/);
  });
});
