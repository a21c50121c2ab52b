/**
 * The board's native C compiles warning-free (-Wall -Wextra -Werror) on this host, as far as a host can check:
 * - firmware/native/sealcam_crypto.c (issue 4's PSA module) against the XS headers from @agoric/xsnap and the
 *   host's Mbed TLS (the same flags mk/xs-host.mk uses; here asserted on their own);
 * - firmware/board/sealcam_system.c against the XS headers and declaration-only copies of the ESP-IDF
 *   prototypes it calls (test/board/esp-idf-decls): this checks our code and our calls, not ESP-IDF itself.
 * A warning introduced on purpose must fail the same command, so the check cannot pass vacuously.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");
const XSNAP = path.join(ROOT, "node_modules", "@agoric", "xsnap");
const FLAGS = [
  "-fsyntax-only", "-std=gnu17", "-Wall", "-Wextra", "-Werror",
  "-isystem", path.join(XSNAP, "moddable", "xs", "includes"),
  "-isystem", path.join(XSNAP, "moddable", "xs", "platforms"),
  "-isystem", path.join(XSNAP, "moddable", "xs", "sources"),
  "-isystem", path.join(XSNAP, "xsnap-native", "xsnap", "sources"),
  "-DINCLUDE_XSPLATFORM", '-DXSPLATFORM="xsnapPlatform.h"', "-DmxParse=1", "-DmxRun=1",
];
const IDF_DECLS = path.join(__dirname, "esp-idf-decls");

function compile(file: string, extra: string[] = []): { status: number | null; stderr: string } {
  const result = spawnSync(process.env.CC ?? "cc", [...FLAGS, ...extra, file], { encoding: "utf8" });
  return { status: result.status, stderr: result.stderr };
}

test("sealcam_crypto.c (PSA) compiles with -Wall -Wextra -Werror against XS and the host's Mbed TLS", () => {
  const result = compile(path.join(ROOT, "firmware", "native", "sealcam_crypto.c"));
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
});

test("sealcam_system.c (esp_fill_random, MAC, USB console) compiles with -Wall -Wextra -Werror", () => {
  const result = compile(path.join(ROOT, "firmware", "board", "sealcam_system.c"), ["-I", IDF_DECLS]);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
});

test("sealcam_system.c also compiles when the USB Serial/JTAG driver header is not on the include path", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cc-"));
  try {
    fs.cpSync(IDF_DECLS, dir, { recursive: true });
    fs.rmSync(path.join(dir, "driver"), { recursive: true });
    const result = compile(path.join(ROOT, "firmware", "board", "sealcam_system.c"), ["-I", dir]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the same command fails on a warning (the check is live)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cc-"));
  try {
    const source = fs.readFileSync(path.join(ROOT, "firmware", "board", "sealcam_system.c"), "utf8");
    const broken = path.join(dir, "broken.c");
    fs.writeFileSync(broken, source + "\nstatic int unused_on_purpose(int x) { int y; return x; }\n");
    const result = compile(broken, ["-I", IDF_DECLS]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unused/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
