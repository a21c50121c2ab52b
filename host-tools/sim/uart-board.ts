/**
 * A small stand-in for a camera board's UART, for console tests until (and besides) the board simulator:
 * it prints what the firmware prints (ESP-ROM boot banner, `SC {...}` log lines, plain command answers),
 * answers the console commands, and can misbehave on purpose: reset mid-line with boot noise, send bytes that
 * are not text, wrap logs in Moddable's xsbug framing. Serves any SerialLink (one end of a socat pty pair).
 */
import type { SerialLink } from "../serial/link";

export interface UartBoardOptions {
  /** Wrap SC lines in xsbug framing as a Moddable debug build does. */
  xsbug?: boolean;
  machineId?: string;
  now?: () => number;
}

const BANNER = [
  "ESP-ROM:esp32s3-20210327",
  "Build:Mar 27 2021",
  "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)",
  "SPIWP:0xee",
  "mode:DIO, clock div:1",
  "load:0x3fce3808,len:0x44c",
  "entry 0x403c9908",
];

export function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export class UartBoard {
  private link: SerialLink | null = null;
  private bootedAt = Date.now();
  readonly received: string[] = [];
  private partial = "";
  state: "setup" | "enrolled" = "setup";
  boots = 0;

  constructor(private readonly options: UartBoardOptions = {}) {}

  private uptime(): number {
    return (this.options.now ?? Date.now)() - this.bootedAt;
  }

  async write(bytes: Uint8Array | string): Promise<void> {
    const link = this.link;
    if (!link) return;
    await link.write(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
  }

  async line(text: string): Promise<void> {
    await this.write(text + "\r\n");
  }

  /** One firmware log record, plain or xsbug-framed. */
  async log(level: "debug" | "info" | "warn" | "error", event: string, text: string, fields: Record<string, string | number | boolean> = {}): Promise<void> {
    const sc = `SC ${JSON.stringify({ t: this.uptime(), l: level, e: event, m: text, f: fields })}`;
    if (this.options.xsbug) await this.xsbugLog(sc);
    else await this.line(sc);
  }

  async xsbugLog(text: string): Promise<void> {
    const id = this.options.machineId ?? "3fc9a2b4";
    await this.write(`\r\n<?xs.${id}?>\r\n<xsbug><log>${xmlEscape(text)}\n</log></xsbug>\r\n`);
  }

  /** Power-on: ROM banner, then the app's first lines in setup mode. */
  async boot(): Promise<void> {
    this.boots++;
    this.bootedAt = Date.now();
    for (const l of BANNER) await this.line(l);
    await this.log("info", "boot", "sealcam camera firmware", { version: "0.1.0", board: "xiao_esp32s3_sense" });
    if (this.state === "setup") {
      await this.log("info", "setup.start", "setup mode: join the camera's Wi-Fi from the phone app", { ssid: "sealcam-4F2A", ip: "192.168.4.1" });
    } else await this.log("info", "camera.ready", "enrolled; waiting for motion");
  }

  /** A reset in the middle of a line: half a log line, ROM noise bytes at the wrong baud rate, then a boot. */
  async resetMidLine(): Promise<void> {
    await this.write('SC {"t":99,"l":"info","e":"clip.se');
    await this.write(new Uint8Array([0x00, 0xe0, 0xfc, 0x1c, 0x8c, 0x00, 0x0d, 0x0a]));
    await this.boot();
  }

  async garbage(bytes = new Uint8Array([0xde, 0xad, 0x00, 0xbe, 0xef, 0x07, 0x1b, 0x5b])): Promise<void> {
    await this.write(Uint8Array.from([...bytes, 0x0a]));
  }

  private async command(line: string): Promise<void> {
    const words = line.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return;
    this.received.push(words[0] === "setup" ? "setup ***" : line.trim());
    await this.log("info", "console.command", "console command", { command: words[0]!.slice(0, 16) });
    switch (words[0]) {
      case "status":
        await this.line(
          `status: state=${this.state} enrolled=${this.state === "enrolled" ? "yes" : "no"} camera=cam-4f2a roster=0 recipients=0 queue=0 wifi=ap clips=0 free=181244`,
        );
        return;
      case "roster":
        await this.line("roster: none (not enrolled)");
        return;
      case "factory-reset":
        await this.line("factory-reset: erasing enrollment and queued clips");
        this.state = "setup";
        await this.resetMidLine();
        return;
      case "help":
        await this.line("help: status | roster [refresh] | setup <label secret> | unenroll | factory-reset");
        return;
      default:
        await this.line(`error: unknown command '${words[0]!.slice(0, 16)}' (try help)`);
    }
  }

  /** Serves a link until it closes; the board keeps its state across links (a USB re-plug). */
  async serve(link: SerialLink): Promise<void> {
    this.link = link;
    for (;;) {
      const chunk = await link.read();
      if (chunk === null) break;
      this.partial += Buffer.from(chunk).toString("latin1");
      let i: number;
      while ((i = this.partial.search(/[\r\n]/)) >= 0) {
        const line = this.partial.slice(0, i);
        this.partial = this.partial.slice(i + 1);
        await this.command(line);
      }
    }
    if (this.link === link) this.link = null;
  }
}
