/**
 * A Web Serial `SerialPort` look-alike over a SerialLink, for esptool-js's `Transport` (which was written for
 * browsers). It implements only what Transport touches: open/close, readable/writable, setSignals, getInfo and
 * setBaudRate. Semantics follow Web Serial where Transport depends on them:
 * - `readable` is pull-based (highWaterMark 0): a byte is taken from the port only when a reader asks, so the
 *   per-chunk reader locks Transport takes and releases never drop data;
 * - after a stream is cancelled (or closed) the getter hands out a fresh one, and after `close()` it is null
 *   (Transport's read loop runs `while (device.readable)`);
 * - `setSignals` changes only the lines given (the link remembers the rest).
 */
import type { SerialLink } from "./link";

export interface UsbIds {
  usbVendorId?: number;
  usbProductId?: number;
}

export interface WebSerialOpenOptions {
  baudRate: number;
}

export interface WebSerialSignals {
  dataTerminalReady?: boolean;
  requestToSend?: boolean;
  break?: boolean;
}

export class WebSerialShim {
  private opened = false;
  private readStream: ReadableStream<Uint8Array> | null = null;
  private writeStream: WritableStream<Uint8Array> | null = null;
  private pending: AbortController | null = null;

  /** makeLink(baudRate) creates the link on open (so a reopen at another baud rate gets a fresh one). */
  constructor(
    private readonly makeLink: (baudRate: number) => SerialLink,
    private readonly ids: UsbIds = {},
  ) {}

  private link: SerialLink | null = null;

  async open(options: WebSerialOpenOptions): Promise<void> {
    if (this.opened) throw new Error("port is already open");
    const link = this.makeLink(options.baudRate);
    await link.open();
    this.link = link;
    this.opened = true;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.pending?.abort();
    this.readStream = null;
    this.writeStream = null;
    const link = this.link;
    this.link = null;
    await link?.close();
  }

  getInfo(): UsbIds {
    return { ...this.ids };
  }

  get readable(): ReadableStream<Uint8Array> | null {
    // A port that went away reads as closed (null), or Transport's `while (device.readable)` loop would spin.
    if (!this.opened || !this.link || !this.link.isOpen) return null;
    if (!this.readStream) this.readStream = this.makeReadable(this.link);
    return this.readStream;
  }

  get writable(): WritableStream<Uint8Array> | null {
    if (!this.opened || !this.link) return null;
    if (!this.writeStream) this.writeStream = this.makeWritable(this.link);
    return this.writeStream;
  }

  async setSignals(signals: WebSerialSignals): Promise<void> {
    if (!this.link) throw new Error("port is not open");
    await this.link.setSignals({ dtr: signals.dataTerminalReady, rts: signals.requestToSend, brk: signals.break });
  }

  async setBaudRate(baudRate: number): Promise<void> {
    if (!this.link) throw new Error("port is not open");
    await this.link.setBaudRate(baudRate);
  }

  private makeReadable(link: SerialLink): ReadableStream<Uint8Array> {
    let stream: ReadableStream<Uint8Array> | null = null;
    const forget = () => {
      if (this.readStream === stream) this.readStream = null;
    };
    stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const abort = new AbortController();
          this.pending = abort;
          const chunk = await link.read(abort.signal);
          if (this.pending === abort) this.pending = null;
          if (abort.signal.aborted) return;
          if (chunk === null) {
            forget();
            controller.close();
          } else controller.enqueue(chunk);
        },
        cancel: () => {
          this.pending?.abort();
          forget();
        },
      },
      { highWaterMark: 0 },
    );
    return stream;
  }

  private makeWritable(link: SerialLink): WritableStream<Uint8Array> {
    let stream: WritableStream<Uint8Array> | null = null;
    const forget = () => {
      if (this.writeStream === stream) this.writeStream = null;
    };
    stream = new WritableStream<Uint8Array>({
      write: (chunk) => link.write(chunk),
      close: forget,
      abort: forget,
    });
    return stream;
  }
}
