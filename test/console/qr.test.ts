/**
 * The console draws a camera's setup label (`setup: qr SEALCAM:1:...`) as a QR code under the line: the drawing
 * is exactly the code's modules (read back here from the half blocks) inside a 4-module quiet zone; it goes to
 * the screen only, the log keeps the text; off, nothing is drawn.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setupQrPayload } from "../../firmware/core/setup-channel";
import { QUIET_ZONE, qrMatrix, renderQr, setupQrLine } from "../../host-tools/console/qr";
import { ConsoleSession } from "../../host-tools/console/session";
import type { SerialLink } from "../../host-tools/serial/link";

const label = setupQrPayload("sealcam-4F2A", new Uint8Array(20).map((_, i) => 255 - i * 11));

/** Reads a drawing back into modules (true = dark), quiet zone included. */
function readBack(lines: string[], colour: boolean): boolean[][] {
  const rows: boolean[][] = [];
  for (const raw of lines) {
    const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const ch of line) {
      const t = ch === "█" || ch === "▀";
      const b = ch === "█" || ch === "▄";
      top.push(colour ? t : !t);
      bottom.push(colour ? b : !b);
    }
    rows.push(top, bottom);
  }
  return rows;
}

test("the drawing is the QR code's modules, with the quiet zone, in both styles", () => {
  const modules = qrMatrix(label);
  expect(modules.length).toBeGreaterThanOrEqual(21);
  for (const colour of [false, true]) {
    const lines = renderQr(label, colour);
    const size = modules.length + 2 * QUIET_ZONE;
    expect(lines).toHaveLength(Math.ceil(size / 2));
    const back = readBack(lines, colour);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = y >= QUIET_ZONE && y < QUIET_ZONE + modules.length && x >= QUIET_ZONE && x < QUIET_ZONE + modules.length;
        const expected = inside ? modules[y - QUIET_ZONE][x - QUIET_ZONE] : false;
        expect(back[y][x]).toBe(expected);
      }
    }
    if (colour) for (const line of lines) expect(line.startsWith("\x1b[30;47m")).toBe(true);
  }
  expect(setupQrLine(`setup: qr ${label}\r`)).toBe(label);
  expect(setupQrLine(`setup: label secret ABCD`)).toBeUndefined();
});

/** A serial port that delivers `text` once, then waits until closed. */
function fakeLink(text: string): SerialLink {
  let sent = false;
  let open = false;
  let wake: (() => void) | undefined;
  return {
    path: "/dev/fake", linesAvailable: false, signals: { dtr: false, rts: false },
    get isOpen() { return open; },
    async open() { open = true; },
    async close() { open = false; wake?.(); },
    async read() {
      if (!sent) { sent = true; return new TextEncoder().encode(text); }
      await new Promise<void>((r) => (wake = r));
      return null;
    },
    async write() {},
    async setSignals() {},
    async setBaudRate() {},
  } as unknown as SerialLink;
}

async function run(qr: boolean): Promise<{ out: string[]; log: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-qr-"));
  const logFile = path.join(dir, "cam.log");
  const out: string[] = [];
  const session = new ConsoleSession({
    port: "/dev/fake", baud: 115200, colour: false, out: (l) => out.push(l), notice: () => undefined, logFile, qr,
    makeLink: () => fakeLink(`setup: join Wi-Fi "sealcam-4F2A" and add this camera\r\nsetup: qr ${label}\r\nstatus: ok\r\n`),
  });
  session.start();
  const deadline = Date.now() + 5000;
  while (!out.some((l) => l.startsWith("status: ok")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await session.drained();
  await session.stop();
  const log = fs.readFileSync(logFile, "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  return { out, log };
}

test("the session draws it under the line on screen only; the log keeps the text", async () => {
  const on = await run(true);
  const at = on.out.indexOf(`setup: qr ${label}`);
  expect(at).toBeGreaterThanOrEqual(0);
  const drawing = renderQr(label, false);
  expect(on.out.slice(at + 1, at + 1 + drawing.length)).toEqual(drawing);
  expect(on.out[at + 1 + drawing.length]).toBe("status: ok");
  expect(on.log).toContain(`setup: qr ${label}`);
  expect(on.log).not.toMatch(/[█▀▄]/);
  const off = await run(false);
  expect(off.out.join("\n")).not.toMatch(/[█▀▄]/);
  expect(off.out).toContain(`setup: qr ${label}`);
});
