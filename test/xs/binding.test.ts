/**
 * The board binding (firmware/native/sealcam_crypto.js, Moddable's Native()/native() form, which only xsc can
 * run) cannot execute here, so this pins it statically to the others: it parses; it exports exactly the
 * functions the .d.ts declares and the XS host's binding implements; every native("xs_...") it names is a
 * function in sealcam_crypto.c and is registered by the XS host.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { transformSync } from "esbuild";

const root = path.join(__dirname, "..", "..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const board = read("firmware/native/sealcam_crypto.js");
const hostShim = read("host-tools/board-sim/xs-host/js/native-crypto.ts");
const declaration = read("firmware/types/sealcam-native-crypto.d.ts");
const csource = read("firmware/native/sealcam_crypto.c");
const hostMain = read("host-tools/board-sim/xs-host/main.c");

const exported = (source: string) => [...source.matchAll(/export function (\w+)/g)].map((m) => m[1]).sort();

test("the board binding parses as a module", () => {
  expect(() => transformSync(board, { loader: "js", format: "esm" })).not.toThrow();
});

test("board binding, XS-host binding and .d.ts declare the same functions", () => {
  const declared = exported(declaration);
  expect(declared.length).toBeGreaterThanOrEqual(19);
  expect(exported(board)).toEqual(declared);
  expect(exported(hostShim)).toEqual(declared);
});

test("every native the board binding names exists in the C module and is registered by the XS host", () => {
  const natives = [...new Set([...board.matchAll(/native\("(xs_\w+)"\)/g)].map((m) => m[1]))];
  const destructors = [...board.matchAll(/Native\("(xs_\w+)"\)/g)].map((m) => m[1]);
  expect(natives.length).toBeGreaterThanOrEqual(19);
  for (const name of [...natives, ...destructors]) expect(csource).toMatch(new RegExp(`\\bvoid ${name}\\((xsMachine \\*the|void \\*data)\\)`));
  for (const name of natives) expect(hostMain).toMatch(new RegExp(`X\\(${name}, \\d\\)`));
});
