/**
 * `sealcam hw label`: a printable camera label from its label string `SEALCAM:1:<ssid>:<secret>`
 * (docs/PROTOCOL.md 6.1; docs/HARDWARE.md "The label"): the QR code (the label string), the access point
 * name, the secret as 8 groups of 4, and "keep private". SVG (vector, any size) or PNG (8 px per module, the
 * text in a built-in 5x7 pixel font). The file holds the secret: it is written owner-only (0600).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { findSetupLabel, formatSetupSecret, parseSetupLabel } from "../../firmware/core/setup-channel";
import { wipe } from "../../firmware/core/bytes";
import { QUIET_ZONE, qrMatrix } from "../console/qr";
import { crc32Portable } from "../../firmware/queue/crc32";

export interface LabelContent {
  /** The label string (the QR payload). */
  label: string;
  ssid: string;
  /** The secret as printed: 8 groups of 4 characters. */
  groups: string[];
}

export const KEEP_PRIVATE = "KEEP PRIVATE: gives the camera's Wi-Fi password and setup key";

/** The label in a text (a label file, board-sim's label.txt, a console log). */
export function labelContent(text: string, where: string): LabelContent {
  const label = findSetupLabel(text);
  if (!label) throw new Error(`no setup label (SEALCAM:1:<ssid>:<secret>) in ${where}`);
  const parsed = parseSetupLabel(label);
  const groups = formatSetupSecret(parsed.secret).split("-");
  wipe(parsed.secret);
  return { label: label.replace(/^sealcam/i, "SEALCAM"), ssid: parsed.ssid, groups };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The label as SVG: QR on the left of a white card, text below. Units are QR modules. */
export function labelSvg(content: LabelContent): string {
  const modules = qrMatrix(content.label);
  const n = modules.length;
  const qrSize = n + 2 * QUIET_ZONE;
  const width = Math.max(qrSize, 44);
  const lines = [
    { text: content.ssid, size: 2.2, weight: "bold" },
    { text: content.groups.slice(0, 4).join("-"), size: 2.2, weight: "normal" },
    { text: content.groups.slice(4).join("-"), size: 2.2, weight: "normal" },
    { text: KEEP_PRIVATE, size: 1.3, weight: "bold" },
  ];
  const height = qrSize + lines.reduce((sum, l) => sum + l.size * 1.4, 0) + 2;
  let d = "";
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (modules[y][x]) d += `M${x + QUIET_ZONE + (width - qrSize) / 2} ${y + QUIET_ZONE}h1v1h-1z`;
  let y = qrSize;
  const texts = lines.map((l) => {
    y += l.size * 1.4;
    return `<text x="${width / 2}" y="${y.toFixed(2)}" font-family="DejaVu Sans Mono, monospace" font-size="${l.size}" font-weight="${l.weight}" text-anchor="middle">${escapeXml(l.text)}</text>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height.toFixed(2)}" width="${width * 2}mm" height="${(height * 2).toFixed(1)}mm">`,
    `<title>sealcam camera ${escapeXml(content.ssid)} setup label</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<path fill="#000" shape-rendering="crispEdges" d="${d}"/>`,
    ...texts,
    `</svg>`,
    "",
  ].join("\n");
}

// A 5x7 pixel font: digits, capitals, the few lower-case letters of "sealcam", '-', ':', '.', ',', "'" and space.
const FONT: Record<string, number[]> = {
  "0": [14, 17, 19, 21, 25, 17, 14], "1": [4, 12, 4, 4, 4, 4, 14], "2": [14, 17, 1, 2, 4, 8, 31], "3": [31, 2, 4, 2, 1, 17, 14],
  "4": [2, 6, 10, 18, 31, 2, 2], "5": [31, 16, 30, 1, 1, 17, 14], "6": [6, 8, 16, 30, 17, 17, 14], "7": [31, 1, 2, 4, 8, 8, 8],
  "8": [14, 17, 17, 14, 17, 17, 14], "9": [14, 17, 17, 15, 1, 2, 12], A: [14, 17, 17, 17, 31, 17, 17], B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14], D: [28, 18, 17, 17, 17, 18, 28], E: [31, 16, 16, 30, 16, 16, 31], F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15], H: [17, 17, 17, 31, 17, 17, 17], I: [14, 4, 4, 4, 4, 4, 14], J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17], L: [16, 16, 16, 16, 16, 16, 31], M: [17, 27, 21, 21, 17, 17, 17], N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14], P: [30, 17, 17, 30, 16, 16, 16], Q: [14, 17, 17, 17, 21, 18, 13], R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30], T: [31, 4, 4, 4, 4, 4, 4], U: [17, 17, 17, 17, 17, 17, 14], V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10], X: [17, 17, 10, 4, 10, 17, 17], Y: [17, 17, 17, 10, 4, 4, 4], Z: [31, 1, 2, 4, 8, 16, 31],
  a: [0, 0, 14, 1, 15, 17, 15], c: [0, 0, 14, 16, 16, 17, 14], e: [0, 0, 14, 17, 31, 16, 14], l: [12, 4, 4, 4, 4, 4, 14],
  m: [0, 0, 26, 21, 21, 17, 17], s: [0, 0, 14, 16, 14, 1, 30], "-": [0, 0, 0, 31, 0, 0, 0], ":": [0, 12, 12, 0, 12, 12, 0],
  ".": [0, 0, 0, 0, 0, 12, 12], ",": [0, 0, 0, 0, 12, 4, 8], "'": [4, 4, 8, 0, 0, 0, 0], " ": [0, 0, 0, 0, 0, 0, 0],
};

function glyph(ch: string): number[] {
  return FONT[ch] ?? FONT[ch.toUpperCase()] ?? FONT["-"];
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32Portable(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit grayscale PNG of `pixels` (0 black, 255 white), rows of `width`. */
export function encodePng(width: number, height: number, pixels: Uint8Array): Buffer {
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * width, width).copy(raw, y * (width + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The label as a PNG: 8 px per QR module, the text below in the 5x7 font. */
export function labelPng(content: LabelContent, modulePx = 8): { png: Buffer; width: number; height: number } {
  const modules = qrMatrix(content.label);
  const n = modules.length;
  const qrPx = (n + 2 * QUIET_ZONE) * modulePx;
  const lines: { text: string; scale: number }[] = [
    { text: content.ssid, scale: 4 },
    { text: content.groups.slice(0, 4).join("-"), scale: 4 },
    { text: content.groups.slice(4).join("-"), scale: 4 },
    { text: KEEP_PRIVATE, scale: 2 },
  ];
  const textWidth = (l: { text: string; scale: number }) => l.text.length * 6 * l.scale;
  const width = Math.max(qrPx, ...lines.map((l) => textWidth(l) + 4 * modulePx));
  const height = qrPx + lines.reduce((sum, l) => sum + 10 * l.scale, 0) + 2 * modulePx;
  const pixels = new Uint8Array(width * height).fill(255);
  const qrLeft = Math.floor((width - qrPx) / 2) + QUIET_ZONE * modulePx;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (!modules[y][x]) continue;
      for (let dy = 0; dy < modulePx; dy++) {
        pixels.fill(0, (QUIET_ZONE * modulePx + y * modulePx + dy) * width + qrLeft + x * modulePx, (QUIET_ZONE * modulePx + y * modulePx + dy) * width + qrLeft + (x + 1) * modulePx);
      }
    }
  }
  let top = qrPx;
  for (const line of lines) {
    const left = Math.floor((width - textWidth(line)) / 2);
    for (let i = 0; i < line.text.length; i++) {
      const rows = glyph(line.text[i]);
      for (let gy = 0; gy < 7; gy++) {
        for (let gx = 0; gx < 5; gx++) {
          if (!(rows[gy] & (16 >> gx))) continue;
          for (let sy = 0; sy < line.scale; sy++) {
            const y = top + gy * line.scale + sy;
            const x = left + (i * 6 + gx) * line.scale;
            pixels.fill(0, y * width + x, y * width + x + line.scale);
          }
        }
      }
    }
    top += 10 * line.scale;
  }
  return { png: encodePng(width, height, pixels), width, height };
}

/** `sealcam hw label (--label-file F | --data DIR) --out FILE.svg|FILE.png` */
export function labelCommand(args: string[], out: (line: string) => void): number {
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const known = new Set(["--label-file", "--data", "--out"]);
  for (let i = 0; i < args.length; i += 2) {
    if (!known.has(args[i]) || args[i + 1] === undefined) throw new Error(`label: unexpected argument '${args[i]}' (usage: hw label --label-file F | --data DIR, --out FILE.svg|FILE.png)`);
  }
  const file = value("--label-file") ?? (value("--data") !== undefined ? path.join(value("--data")!, "label.txt") : undefined);
  const outFile = value("--out");
  if (!file || !outFile || (value("--label-file") && value("--data"))) throw new Error("label needs --label-file F or --data DIR (a board-sim data folder), and --out FILE.svg|FILE.png");
  const ext = path.extname(outFile).toLowerCase();
  if (ext !== ".svg" && ext !== ".png") throw new Error("label: --out must end in .svg or .png");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`label: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const content = labelContent(text, file);
  const body = ext === ".svg" ? Buffer.from(labelSvg(content), "utf8") : labelPng(content).png;
  fs.writeFileSync(outFile, body, { mode: 0o600 });
  fs.chmodSync(outFile, 0o600);
  out(`hw: label for ${content.ssid} written to ${outFile} (owner-only: it holds the setup secret; print it, stick it on the camera, keep it private)`);
  return 0;
}
