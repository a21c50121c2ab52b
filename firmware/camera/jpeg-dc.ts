/**
 * A 1/8-scale grayscale thumbnail of a baseline JPEG, from the DC coefficients of its luma blocks only:
 * one byte per 8x8 luma block (the block's mean brightness), so 640x480 gives 80x60. No inverse DCT and
 * no colour conversion: the entropy-coded data is walked once, AC coefficients are skipped (their bits are
 * read, not stored). This is the motion detector's input (motion.ts); it runs on the board in XS on the
 * camera's own JPEG frames, and in the simulator on the same synthetic JPEGs, so both see the same pixels.
 *
 * Supported: baseline and extended sequential Huffman JPEGs (SOF0/SOF1), 8-bit, 1 or 3 components in one
 * interleaved scan (what esp32-camera and jpeg-js produce), any sampling factors, restart intervals.
 * Anything else (progressive, arithmetic, lossless, a separate scan per component) returns undefined: the
 * frame is recorded normally but not looked at for motion.
 */

export interface GrayFrame {
  width: number;
  height: number;
  /** width * height bytes, row-major, 0 black .. 255 white. */
  pixels: Uint8Array;
}

interface Huffman {
  maxCode: Int32Array; // per length 1..16, -1 if no codes of that length
  valPtr: Int32Array;
  minCode: Int32Array;
  values: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  td: number;
  ta: number;
  pred: number;
}

const MAX_PIXELS = 4096 * 4096;

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxCode = new Int32Array(18).fill(-1);
  const valPtr = new Int32Array(17);
  const minCode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valPtr[len] = k;
      minCode[len] = code;
      code += n;
      k += n;
      maxCode[len] = code - 1;
    }
    code <<= 1;
  }
  return { maxCode, valPtr, minCode, values };
}

class BitReader {
  private bits = 0;
  private count = 0;
  /** Set when a marker (other than a stuffed 0xFF00) was met: from then on zeros are fed. */
  marker = false;
  constructor(private readonly data: Uint8Array, public pos: number) {}

  private fill(): void {
    while (this.count <= 24) {
      let byte = 0;
      if (!this.marker && this.pos < this.data.length) {
        byte = this.data[this.pos];
        if (byte === 0xff) {
          const next = this.pos + 1 < this.data.length ? this.data[this.pos + 1] : 0xd9;
          if (next === 0x00) this.pos += 2;
          else {
            this.marker = true;
            byte = 0;
          }
        } else this.pos++;
      }
      this.bits = ((this.bits << 8) | byte) >>> 0;
      this.count += 8;
    }
  }

  bit(): number {
    if (this.count === 0) this.fill();
    this.count--;
    return (this.bits >>> this.count) & 1;
  }

  read(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.bits >>> this.count) & ((1 << n) - 1);
  }

  skip(n: number): void {
    if (this.count < n) this.fill();
    this.count -= n;
  }

  /** Byte-aligns and consumes an RSTn marker if one is next; returns false if something else is. */
  restart(): boolean {
    this.count = 0;
    this.bits = 0;
    this.marker = false;
    while (this.pos + 1 < this.data.length && this.data[this.pos] === 0xff && this.data[this.pos + 1] === 0xff) this.pos++;
    if (this.pos + 1 < this.data.length && this.data[this.pos] === 0xff && this.data[this.pos + 1] >= 0xd0 && this.data[this.pos + 1] <= 0xd7) {
      this.pos += 2;
      return true;
    }
    return false;
  }
}

function decodeSymbol(reader: BitReader, table: Huffman): number {
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    code = (code << 1) | reader.bit();
    if (code <= table.maxCode[len]) return table.values[table.valPtr[len] + code - table.minCode[len]];
  }
  return -1; // corrupt data
}

function extend(value: number, size: number): number {
  return value < 1 << (size - 1) ? value - (1 << size) + 1 : value;
}

/** The 1/8-scale luma thumbnail of `jpeg`, or undefined if this JPEG is not one the decoder handles. */
export function lumaThumbnail(jpeg: Uint8Array): GrayFrame | undefined {
  const data = jpeg;
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  const dcTables: (Huffman | undefined)[] = [undefined, undefined, undefined, undefined];
  const acTables: (Huffman | undefined)[] = [undefined, undefined, undefined, undefined];
  const quantDc = [1, 1, 1, 1];
  let components: Component[] = [];
  let width = 0;
  let height = 0;
  let restartInterval = 0;
  let pos = 2;
  while (pos + 4 <= data.length) {
    if (data[pos] !== 0xff) return undefined;
    const marker = data[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    const length = (data[pos + 2] << 8) | data[pos + 3];
    const start = pos + 4;
    const end = pos + 2 + length;
    if (length < 2 || end > data.length) return undefined;
    if (marker === 0xc0 || marker === 0xc1) {
      if (data[start] !== 8) return undefined;
      height = (data[start + 1] << 8) | data[start + 2];
      width = (data[start + 3] << 8) | data[start + 4];
      const n = data[start + 5];
      if (width === 0 || height === 0 || width * height > MAX_PIXELS || (n !== 1 && n !== 3) || length < 8 + 3 * n) return undefined;
      components = [];
      for (let i = 0; i < n; i++) {
        const o = start + 6 + i * 3;
        const h = data[o + 1] >> 4;
        const v = data[o + 1] & 15;
        if (h < 1 || h > 4 || v < 1 || v > 4 || (data[o + 2] & 3) !== data[o + 2]) return undefined;
        components.push({ id: data[o], h, v, tq: data[o + 2], td: 0, ta: 0, pred: 0 });
      }
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return undefined; // progressive, lossless, arithmetic
    } else if (marker === 0xc4) {
      let o = start;
      while (o < end) {
        const tc = data[o] >> 4;
        const th = data[o] & 15;
        if (tc > 1 || th > 3 || o + 17 > end) return undefined;
        const counts = data.subarray(o + 1, o + 17);
        let total = 0;
        for (let i = 0; i < 16; i++) total += counts[i];
        if (o + 17 + total > end) return undefined;
        const table = buildHuffman(counts, data.subarray(o + 17, o + 17 + total));
        if (tc === 0) dcTables[th] = table;
        else acTables[th] = table;
        o += 17 + total;
      }
    } else if (marker === 0xdb) {
      let o = start;
      while (o < end) {
        const precision = data[o] >> 4;
        const id = data[o] & 15;
        if (id > 3) return undefined;
        quantDc[id] = precision === 0 ? data[o + 1] : (data[o + 1] << 8) | data[o + 2];
        o += 1 + (precision === 0 ? 64 : 128);
      }
    } else if (marker === 0xdd) {
      restartInterval = (data[start] << 8) | data[start + 1];
    } else if (marker === 0xda) {
      const n = data[start];
      if (components.length === 0 || n !== components.length) return undefined; // one interleaved scan only
      for (let i = 0; i < n; i++) {
        const id = data[start + 1 + i * 2];
        const tables = data[start + 2 + i * 2];
        const c = components.find((x) => x.id === id);
        if (!c) return undefined;
        c.td = tables >> 4;
        c.ta = tables & 15;
        if (c.td > 3 || c.ta > 3 || !dcTables[c.td] || !acTables[c.ta]) return undefined;
      }
      return decodeScan(data, end, components, dcTables, acTables, quantDc, width, height, restartInterval);
    } else if (marker === 0xd9) {
      return undefined;
    }
    pos = end;
  }
  return undefined;
}

function decodeScan(
  data: Uint8Array, pos: number, components: Component[], dcTables: (Huffman | undefined)[], acTables: (Huffman | undefined)[],
  quantDc: number[], width: number, height: number, restartInterval: number,
): GrayFrame | undefined {
  let hMax = 1;
  let vMax = 1;
  for (const c of components) {
    hMax = Math.max(hMax, c.h);
    vMax = Math.max(vMax, c.v);
  }
  const luma = components[0];
  // A single-component scan is not interleaved: its blocks come in raster order, one per "MCU".
  const single = components.length === 1;
  const mcusX = single ? Math.ceil(width / 8) : Math.ceil(width / (8 * hMax));
  const mcusY = single ? Math.ceil(height / 8) : Math.ceil(height / (8 * vMax));
  const lh = single ? 1 : luma.h;
  const lv = single ? 1 : luma.v;
  const outW = Math.ceil((Math.ceil((width * luma.h) / hMax)) / 8);
  const outH = Math.ceil((Math.ceil((height * luma.v) / vMax)) / 8);
  const pixels = new Uint8Array(outW * outH);
  const q = quantDc[luma.tq];
  const reader = new BitReader(data, pos);
  for (const c of components) c.pred = 0;
  let mcu = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      if (restartInterval > 0 && mcu > 0 && mcu % restartInterval === 0) {
        if (!reader.restart()) return undefined;
        for (const c of components) c.pred = 0;
      }
      mcu++;
      for (let ci = 0; ci < components.length; ci++) {
        const c = components[ci];
        const dc = dcTables[c.td] as Huffman;
        const ac = acTables[c.ta] as Huffman;
        const blocksH = single ? 1 : c.h;
        const blocksV = single ? 1 : c.v;
        for (let by = 0; by < blocksV; by++) {
          for (let bx = 0; bx < blocksH; bx++) {
            const t = decodeSymbol(reader, dc);
            if (t < 0 || t > 11) return undefined;
            c.pred += t === 0 ? 0 : extend(reader.read(t), t);
            for (let k = 1; k < 64; ) {
              const rs = decodeSymbol(reader, ac);
              if (rs < 0) return undefined;
              const s = rs & 15;
              if (s === 0) {
                if (rs !== 0xf0) break;
                k += 16;
              } else {
                k += (rs >> 4) + 1;
                reader.skip(s);
              }
            }
            if (ci === 0) {
              const x = mx * lh + bx;
              const y = my * lv + by;
              if (x < outW && y < outH) {
                const value = Math.round((c.pred * q) / 8 + 128);
                pixels[y * outW + x] = value < 0 ? 0 : value > 255 ? 255 : value;
              }
            }
          }
        }
      }
    }
  }
  return { width: outW, height: outH, pixels };
}
