/**
 * The setup label as a QR code on a terminal (`sealcam console`, under a `setup: qr SEALCAM:1:...` line), and
 * the module matrix `sealcam hw label` draws. npm `qrcode` makes the matrix (error correction M); we draw it
 * with half blocks, two module rows per text line, inside a 4-module quiet zone as ISO/IEC 18004 asks.
 *
 * With colour, every cell sets black on white explicitly, so the code scans on dark and light terminal themes.
 * Without colour (--no-color, NO_COLOR, or --qr to a pipe), light modules are drawn (`█`) and dark ones left
 * blank: right on the usual dark-background terminal; on a light one, use colour or `sealcam hw label`.
 */
import * as QRCode from "qrcode";

export const QUIET_ZONE = 4;

/** The QR code's modules, true = dark, without the quiet zone. */
export function qrMatrix(text: string): boolean[][] {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const size = qr.modules.size;
  const rows: boolean[][] = [];
  for (let y = 0; y < size; y++) {
    const row: boolean[] = [];
    for (let x = 0; x < size; x++) row.push(qr.modules.get(y, x) === 1 || (qr.modules.get(y, x) as unknown) === true);
    rows.push(row);
  }
  return rows;
}

/** The payload of a console line `setup: qr <label>`, or undefined. */
export function setupQrLine(line: string): string | undefined {
  const m = /^setup: qr (SEALCAM:\S+)\s*$/.exec(line.replace(/\r$/, ""));
  return m ? m[1] : undefined;
}

/** Terminal lines drawing `text` as a QR code (see the file comment for the two styles). */
export function renderQr(text: string, colour: boolean): string[] {
  const modules = qrMatrix(text);
  const size = modules.length + 2 * QUIET_ZONE;
  const dark = (x: number, y: number) => {
    const mx = x - QUIET_ZONE;
    const my = y - QUIET_ZONE;
    return my >= 0 && my < modules.length && mx >= 0 && mx < modules.length && modules[my][mx];
  };
  const lines: string[] = [];
  for (let y = 0; y < size; y += 2) {
    let line = "";
    for (let x = 0; x < size; x++) {
      // With colour the drawn part is black (dark modules); without, the drawn part is the light modules.
      const top = colour ? dark(x, y) : !dark(x, y);
      const bottom = y + 1 < size && (colour ? dark(x, y + 1) : !dark(x, y + 1));
      line += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
    }
    lines.push(colour ? `\x1b[30;47m${line}\x1b[0m` : line);
  }
  return lines;
}
