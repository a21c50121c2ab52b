/**
 * firmware/board/conformance.ts is a type-level check (board and simulator bodies implement the same platform
 * interfaces; `make typecheck` compiles it). This proves the check has teeth: the same Implements<> pattern
 * rejects a body that drifts from its interface, and accepts the real file's pattern when it conforms.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";

const ROOT = path.join(__dirname, "..", "..");

function diagnostics(source: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-conf-"));
  try {
    const file = path.join(dir, "check.ts");
    fs.writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2022.d.ts"],
      types: [],
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const PLATFORM = path.join(ROOT, "firmware", "platform", "index").replace(/\\/g, "/");
const header = `import type { Wifi, WifiState, FlashPartition } from "${PLATFORM}";
type Implements<T, I> = [T] extends [I] ? true : false;
`;

test("the conformance pattern in firmware/board/conformance.ts is the one checked here", () => {
  const source = fs.readFileSync(path.join(ROOT, "firmware", "board", "conformance.ts"), "utf8");
  expect(source).toContain("type Implements<T, I> = [T] extends [I] ? true : false;");
  expect(source).toMatch(/Implements<BoardWifi, Wifi>, Implements<SimWifi, Wifi>/);
  expect(source).toMatch(/Implements<BoardFlash, FlashPartition>, Implements<SimFlash, FlashPartition>/);
});

test("a conforming body compiles", () => {
  const ok = `${header}
class GoodFlash { readonly byteLength = 4096; readonly blockSize = 4096;
  read(_o: number, n: number): Uint8Array { return new Uint8Array(n); } write(_o: number, _d: Uint8Array): void {} eraseBlock(_b: number): void {} }
export const checks: [Implements<GoodFlash, FlashPartition>] = [true];
`;
  expect(diagnostics(ok)).toEqual([]);
});

test("a body with a missing method or a changed signature does not compile", () => {
  const missing = `${header}
class BadFlash { readonly byteLength = 4096; readonly blockSize = 4096; read(_o: number, n: number): Uint8Array { return new Uint8Array(n); } write(): void {} }
export const checks: [Implements<BadFlash, FlashPartition>] = [true];
`;
  expect(diagnostics(missing).join("\n")).toMatch(/Type 'true' is not assignable to type 'false'/);
  const drifted = `${header}
class BadWifi { get state(): WifiState { return "off"; } mac(): Uint8Array { return new Uint8Array(6); }
  startAccessPoint(_o: { ssid: string; password: string }): Promise<number> { return Promise.resolve(1); }
  stopAccessPoint(): void {} connect(_o: { ssid: string; password: string }): Promise<void> { return Promise.resolve(); }
  disconnect(): void {} onStateChange(_c: (s: WifiState) => void): void {} }
export const checks: [Implements<BadWifi, Wifi>] = [true];
`;
  expect(diagnostics(drifted).join("\n")).toMatch(/Type 'true' is not assignable to type 'false'/);
});
