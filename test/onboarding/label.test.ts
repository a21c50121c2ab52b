/**
 * `sealcam hw label`: the printable label from a board-sim data folder or a label file, as SVG and PNG: the
 * QR code is the label string (PNG: every module read back from the pixels), the SSID, the secret in 8
 * groups and "keep private" are printed, and the file is owner-only.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatSetupSecret, setupQrPayload } from "../../firmware/core/setup-channel";
import { QUIET_ZONE, qrMatrix } from "../../host-tools/console/qr";
import { main as hwMain } from "../../host-tools/hw/cli";

// pngjs (qrcode's own PNG dependency) as an independent decoder: it checks signature, chunk CRCs and zlib.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PNG } = require("pngjs") as { PNG: { sync: { read(data: Buffer): { width: number; height: number; data: Buffer } } } };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-label-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const secret = new Uint8Array(20).map((_, i) => (i * 37 + 5) & 0xff);
const label = setupQrPayload("sealcam-9C0E", secret);
const groups = formatSetupSecret(secret).split("-");

async function hw(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w = process.stdout.write;
  const e = process.stderr.write;
  process.stdout.write = ((c: string) => out.push(String(c)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => err.push(String(c)) > 0) as typeof process.stderr.write;
  try {
    return { code: await hwMain(["label", ...args]), out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = w;
    process.stderr.write = e;
  }
}

test("SVG from a board-sim data folder's label.txt", async () => {
  const data = path.join(tmp, "cam");
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, "label.txt"), `sealcam camera sealcam-9C0E\nsecret: ${formatSetupSecret(secret)}\nqr: ${label}\n`, { mode: 0o600 });
  const outFile = path.join(tmp, "label.svg");
  const r = await hw(["--data", data, "--out", outFile]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toContain("label for sealcam-9C0E written to");
  expect(fs.statSync(outFile).mode & 0o777).toBe(0o600);
  const svg = fs.readFileSync(outFile, "utf8");
  expect(svg).toMatch(/^<\?xml[^]*<svg [^]*<\/svg>\n$/);
  expect(svg).toContain(">sealcam-9C0E</text>");
  expect(svg).toContain(`>${groups.slice(0, 4).join("-")}</text>`);
  expect(svg).toContain(`>${groups.slice(4).join("-")}</text>`);
  expect(svg).toContain("KEEP PRIVATE");
  // One 1x1 square per dark module.
  const dark = qrMatrix(label).flat().filter(Boolean).length;
  expect(svg.split("h1v1h-1z").length - 1).toBe(dark);
});

test("PNG from a label file: every QR module is in the pixels", async () => {
  const file = path.join(tmp, "label");
  fs.writeFileSync(file, label + "\n", { mode: 0o600 });
  const outFile = path.join(tmp, "label.png");
  const r = await hw(["--label-file", file, "--out", outFile]);
  expect(r.code).toBe(0);
  expect(fs.statSync(outFile).mode & 0o777).toBe(0o600);
  const png = PNG.sync.read(fs.readFileSync(outFile));
  const modules = qrMatrix(label);
  const px = 8;
  const qrPx = (modules.length + 2 * QUIET_ZONE) * px;
  const left = Math.floor((png.width - qrPx) / 2);
  const at = (x: number, y: number) => png.data[(y * png.width + x) * 4];
  for (let y = -QUIET_ZONE; y < modules.length + QUIET_ZONE; y++) {
    for (let x = -QUIET_ZONE; x < modules.length + QUIET_ZONE; x++) {
      const inside = y >= 0 && x >= 0 && y < modules.length && x < modules.length;
      const value = at(left + (x + QUIET_ZONE) * px + px / 2, (y + QUIET_ZONE) * px + px / 2);
      expect(value).toBe(inside && modules[y][x] ? 0 : 255);
    }
  }
  // Text below the code: some black pixels in the band under it.
  let ink = 0;
  for (let y = qrPx; y < png.height; y++) for (let x = 0; x < png.width; x++) if (at(x, y) === 0) ink++;
  expect(ink).toBeGreaterThan(500);
});

test("bad input: no label, wrong extension, both sources", async () => {
  const empty = path.join(tmp, "empty");
  fs.writeFileSync(empty, "nothing\n");
  expect((await hw(["--label-file", empty, "--out", path.join(tmp, "x.svg")])).err).toContain("no setup label");
  expect((await hw(["--label-file", empty, "--out", path.join(tmp, "x.pdf")])).err).toContain(".svg or .png");
  expect((await hw(["--label-file", empty, "--data", tmp, "--out", path.join(tmp, "x.svg")])).code).toBe(1);
  expect(fs.existsSync(path.join(tmp, "x.svg"))).toBe(false);
});
