#!/usr/bin/env node
/*
 * creation-header.cjs: writes the board's xsCreation as a C header, read from manifests/manifest.json's
 * `creation` (the one source; mk/xs-host.mk runs this at build time for the 32-bit board host).
 *
 *   node creation-header.cjs manifests/manifest.json build/xs-host/board32/creation.h [creation.json]
 *
 * The values are what `mcconfig` would hand `xsl -c` for the board build:
 *   1. the manifest's own `creation` wins over those of the manifests it includes (mcmanifest.js merges the
 *      included manifests first, the including one last);
 *   2. the only included manifest with a `creation` on our ESP32-S3 targets is Moddable's
 *      examples/manifest_base.json (keys 32/32/53/3, parser buffer 1024, parser table 17, main "main"); the
 *      board targets' own manifests (esp32s3, xiao_esp32s3_sense, lilygo_t_camera_plus_s3) set chunk, heap,
 *      stack and static, which ours override;
 *   3. then mcconfig's filterCreation defaults (tools/mcconfig.js): chunk.initial 32768, chunk.incremental
 *      ?? 1024, heap.initial 2048, heap.incremental ?? 64, stack ?? 384, keys.initial 256 with incremental
 *      ?? 0, keys.name 127, keys.symbol 127, parser.buffer 32768, parser.table 1993, static ?? 0.
 * The mapping to xsCreation is mcconfig's `CREATION = -c` order: chunk.initial, chunk.incremental,
 * heap.initial, heap.incremental, stack, keys.initial, keys.incremental, keys.name, keys.symbol,
 * parser.buffer, parser.table, static. An incremental of 0 means the heap never grows: past it the engine
 * aborts with "memory full", as on the board.
 * The optional third argument also writes the resolved values as JSON (the tests and docs read it).
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const MANIFEST_BASE = { keys: { initial: 32, incremental: 32, name: 53, symbol: 3 }, parser: { buffer: 1024, table: 17 } };

function resolveCreation(manifestPath) {
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  const own = manifest.creation;
  if (!own || typeof own !== "object") throw new Error(`${manifestPath} has no "creation" object`);
  const c = {
    chunk: { ...own.chunk },
    heap: { ...own.heap },
    stack: own.stack,
    keys: { ...MANIFEST_BASE.keys, ...own.keys },
    parser: { ...MANIFEST_BASE.parser, ...own.parser },
    static: own.static,
  };
  // mcconfig's filterCreation: `!x` for the initial sizes and names, `??` for incrementals, stack and static.
  if (!c.chunk.initial) c.chunk.initial = 32768;
  c.chunk.incremental ??= 1024;
  if (!c.heap.initial) c.heap.initial = 2048;
  c.heap.incremental ??= 64;
  c.stack ??= 384;
  if (c.keys.initial) c.keys.incremental ??= 0;
  else if (c.keys.available) {
    c.keys.initial = c.keys.available;
    c.keys.incremental = 0;
  } else {
    c.keys.initial = 256;
    c.keys.incremental = 0;
  }
  if (!c.keys.name) c.keys.name = 127;
  if (!c.keys.symbol) c.keys.symbol = 127;
  if (!c.parser.buffer) c.parser.buffer = 32768;
  if (!c.parser.table) c.parser.table = 1993;
  c.static ??= 0;
  const fields = {
    initialChunkSize: c.chunk.initial,
    incrementalChunkSize: c.chunk.incremental,
    initialHeapCount: c.heap.initial,
    incrementalHeapCount: c.heap.incremental,
    stackCount: c.stack,
    initialKeyCount: c.keys.initial,
    incrementalKeyCount: c.keys.incremental,
    nameModulo: c.keys.name,
    symbolModulo: c.keys.symbol,
    parserBufferSize: c.parser.buffer,
    parserTableModulo: c.parser.table,
    staticSize: c.static,
  };
  for (const [name, value] of Object.entries(fields))
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff)
      throw new Error(`${manifestPath}: creation gives ${name} = ${JSON.stringify(value)}, not a non-negative 32-bit integer`);
  return fields;
}

function main(argv) {
  const [manifestPath, headerPath, jsonPath] = argv;
  if (!manifestPath || !headerPath) {
    process.stderr.write("usage: creation-header.cjs manifest.json out.h [out.json]\n");
    return 2;
  }
  const fields = resolveCreation(manifestPath);
  const lines = [
    `/* Generated from ${manifestPath} ("creation") by host-tools/board-sim/xs-host/creation-header.cjs. Do not edit. */`,
    "#ifndef SEALCAM_BOARD_CREATION_H",
    "#define SEALCAM_BOARD_CREATION_H",
    ...Object.entries(fields).map(([name, value]) => `#define SEALCAM_CREATION_${name} ${value}`),
    "#endif",
    "",
  ];
  fs.mkdirSync(path.dirname(headerPath), { recursive: true });
  fs.writeFileSync(headerPath, lines.join("\n"));
  if (jsonPath) fs.writeFileSync(jsonPath, JSON.stringify(fields, null, 2) + "\n");
  return 0;
}

module.exports = { resolveCreation };
if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`creation-header: ${error.message}\n`);
    process.exitCode = 1;
  }
}
