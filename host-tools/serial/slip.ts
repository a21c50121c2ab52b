/**
 * SLIP framing (RFC 1055) as the ESP ROM bootloader and its flasher stub use it: every packet is wrapped in
 * 0xC0 … 0xC0, with 0xC0 escaped as 0xDB 0xDC and 0xDB as 0xDB 0xDD. Pure: no I/O, so the ROM simulator and
 * any host-side reader share one tested implementation (the transport never frames).
 */
export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

export function slipEncode(packet: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of packet) if (b === SLIP_END || b === SLIP_ESC) extra++;
  const out = new Uint8Array(packet.length + extra + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of packet) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else out[o++] = b;
  }
  out[o] = SLIP_END;
  return out;
}

/** What the decoder saw: whole packets, and bytes that were not inside any frame (boot noise, garbage). */
export interface SlipEvents {
  packets: Uint8Array[];
  /** Bytes outside frames, or frames with a bad escape, in arrival order. */
  noise: Uint8Array;
}

/**
 * Incremental decoder. Feed it chunks as they arrive; it returns the packets completed by each chunk.
 * Every frame opens and closes with END (as the ROM and esptool do); bytes between frames are noise, and
 * back-to-back END bytes never yield empty packets.
 */
export class SlipDecoder {
  private frame: number[] | null = null;
  private escaping = false;
  /** Largest packet accepted; longer frames are dropped as noise (bounded memory on a noisy line). */
  constructor(private readonly maxPacket = 64 * 1024) {}

  push(chunk: Uint8Array): SlipEvents {
    const packets: Uint8Array[] = [];
    const noise: number[] = [];
    for (const b of chunk) {
      if (this.frame === null) {
        if (b === SLIP_END) this.frame = [];
        else noise.push(b);
        continue;
      }
      if (this.escaping) {
        this.escaping = false;
        if (b === SLIP_ESC_END) this.frame.push(SLIP_END);
        else if (b === SLIP_ESC_ESC) this.frame.push(SLIP_ESC);
        else {
          // A broken escape: the frame is garbage. Resynchronise on the next END.
          noise.push(SLIP_ESC, b);
          this.frame = null;
        }
        continue;
      }
      if (b === SLIP_ESC) this.escaping = true;
      else if (b === SLIP_END) {
        // An END right after an END is the start of a frame, not an empty packet.
        if (this.frame.length > 0) {
          packets.push(Uint8Array.from(this.frame));
          this.frame = null;
        }
      } else {
        this.frame.push(b);
        if (this.frame.length > this.maxPacket) {
          noise.push(...this.frame);
          this.frame = null;
        }
      }
    }
    return { packets, noise: Uint8Array.from(noise) };
  }

  reset(): void {
    this.frame = null;
    this.escaping = false;
  }
}
