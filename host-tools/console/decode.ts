/**
 * What comes out of a camera's serial port, decoded into items the console can show. Pure, no I/O.
 *
 *   bytes ──LineSplitter──▶ lines ──XsbugDeframer──▶ items (SC records, xsbug logs, text, raw bytes)
 *
 * - Lines end in LF (a CR before it is dropped). A line longer than MAX_LINE, or a partial line the caller
 *   flushes after a quiet spell (a prompt, or bytes cut off by a reset), comes out as it is.
 * - Moddable debug builds wrap every trace in xsbug framing: `\r\n<?xs.MACHINEID?>\r\n<xsbug><log>…</log></xsbug>\r\n`
 *   (a processing instruction naming the VM, then an XML document; text is entity-escaped and may span lines).
 *   The deframer follows the machine id, collects each <xsbug> document and yields its log text, unescaped.
 * - Firmware log lines are `SC {json}` (firmware/platform/log.ts), plain or inside an xsbug log.
 * - Anything that is not valid UTF-8 text without control characters is raw bytes (shown escaped).
 */
import { parseSc, type ScRecord } from "./sc";

export type ConsoleItem =
  | { kind: "sc"; record: ScRecord; machine?: string }
  | { kind: "text"; text: string; machine?: string }
  | { kind: "xsbug"; machine?: string; element: string; summary: string }
  | { kind: "raw"; bytes: Uint8Array };

export const MAX_LINE = 8192;

export class LineSplitter {
  private buf: number[] = [];

  /** Complete lines (without the terminator) in this chunk. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const b of chunk) {
      if (b === 0x0a) {
        out.push(this.take(true));
      } else {
        this.buf.push(b);
        if (this.buf.length >= MAX_LINE) out.push(this.take(false));
      }
    }
    return out;
  }

  get pending(): number {
    return this.buf.length;
  }

  /** The partial line so far (after a quiet spell, or at the end), or null if there is none. */
  flush(): Uint8Array | null {
    return this.buf.length > 0 ? this.take(false) : null;
  }

  private take(stripCr: boolean): Uint8Array {
    let end = this.buf.length;
    if (stripCr && end > 0 && this.buf[end - 1] === 0x0d) end--;
    const line = Uint8Array.from(this.buf.slice(0, end));
    this.buf = [];
    return line;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The line as text if it is valid UTF-8 without control characters (TAB and a trailing CR are allowed; ANSI
 * colour sequences are removed), else null.
 */
export function asText(line: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return null;
  }
  // ESP-IDF colours its log lines (CONFIG_LOG_COLORS): drop SGR sequences rather than call the line binary.
  // eslint-disable-next-line no-control-regex
  text = text.replace(/\r+$/, "").replace(/\x1b\[[0-9;]*m/g, "");
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x08\x0b-\x1f\x7f]/.test(text) ? null : text;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** `<?xs.ID?>` (message), `<?xs-ID?>` (the device says goodbye: reset or disconnect). */
const PI = /<\?xs([.\-#])([0-9A-Fa-f]{8})\?>/;

export class XsbugDeframer {
  private machine: string | undefined;
  private doc: string | null = null;
  private docMachine: string | undefined;

  /** One line of text (already split) in, the items it completes out. */
  line(text: string): ConsoleItem[] {
    const items: ConsoleItem[] = [];
    let rest = text;
    for (;;) {
      if (this.doc !== null) {
        const end = rest.indexOf("</xsbug>");
        if (end < 0) {
          this.doc += rest + "\n";
          if (this.doc.length > 64 * 1024) {
            // Never closed: give the text back rather than hold it forever.
            items.push({ kind: "text", text: this.doc, machine: this.docMachine });
            this.doc = null;
          }
          return items;
        }
        this.doc += rest.slice(0, end);
        items.push(...this.document(this.doc, this.docMachine));
        this.doc = null;
        rest = rest.slice(end + "</xsbug>".length);
        continue;
      }
      const pi = PI.exec(rest);
      const open = rest.indexOf("<xsbug>");
      if (pi && (open < 0 || pi.index < open)) {
        const before = rest.slice(0, pi.index);
        if (before.trim()) items.push(...plain(before));
        if (pi[1] === "-") {
          items.push({ kind: "xsbug", machine: pi[2], element: "goodbye", summary: "xsbug: the VM closed its debug connection (reset?)" });
          this.machine = undefined;
        } else this.machine = pi[2];
        rest = rest.slice(pi.index + pi[0].length);
        continue;
      }
      if (open >= 0) {
        const before = rest.slice(0, open);
        if (before.trim()) items.push(...plain(before));
        this.doc = "";
        this.docMachine = this.machine;
        rest = rest.slice(open + "<xsbug>".length);
        continue;
      }
      if (rest.length > 0) items.push(...plain(rest));
      return items;
    }
  }

  private document(body: string, machine: string | undefined): ConsoleItem[] {
    const log = /^\s*<log>([\s\S]*)<\/log>\s*$/.exec(body);
    if (log) {
      const text = unescapeXml(log[1]!).replace(/\n+$/, "");
      return text.split("\n").flatMap((l) => plain(l, machine));
    }
    const tag = /<([a-z-]+)([^>]*)>/i.exec(body);
    const element = tag ? tag[1]! : "unknown";
    const attrs = tag ? tag[2]!.trim() : "";
    return [{ kind: "xsbug", machine, element, summary: `xsbug <${element}${attrs ? " " + unescapeXml(attrs).replace(/\/$/, "") : ""}>` }];
  }
}

function plain(text: string, machine?: string): ConsoleItem[] {
  const record = parseSc(text);
  if (record) return [{ kind: "sc", record, machine }];
  return [{ kind: "text", text, machine }];
}

/** The whole receive path: feed bytes, get items. `flush()` after a quiet spell emits a partial line. */
export class ConsoleDecoder {
  private lines = new LineSplitter();
  private xs = new XsbugDeframer();

  push(chunk: Uint8Array): ConsoleItem[] {
    return this.lines.push(chunk).flatMap((l) => this.decodeLine(l));
  }

  get pending(): number {
    return this.lines.pending;
  }

  flush(): ConsoleItem[] {
    const partial = this.lines.flush();
    return partial ? this.decodeLine(partial) : [];
  }

  private decodeLine(line: Uint8Array): ConsoleItem[] {
    if (line.length === 0) return [];
    const text = asText(line);
    if (text === null) return [{ kind: "raw", bytes: line }];
    return this.xs.line(text);
  }
}
