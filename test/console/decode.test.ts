/** The console's pure parts: line splitting, SC records, xsbug deframing, rendering. */
import { ConsoleDecoder, LineSplitter, MAX_LINE, unescapeXml, XsbugDeframer, type ConsoleItem } from "../../host-tools/console/decode";
import { renderItem } from "../../host-tools/console/render";
import { parseSc, renderRaw, renderSc } from "../../host-tools/console/sc";

const enc = (s: string) => new TextEncoder().encode(s);

describe("SC lines", () => {
  test("parse the firmware's record and reject near misses", () => {
    expect(parseSc('SC {"t":1520,"l":"warn","e":"wifi.retry","m":"lost","f":{"attempt":2,"ok":false}}')).toEqual({
      t: 1520, l: "warn", e: "wifi.retry", m: "lost", f: { attempt: 2, ok: false },
    });
    expect(parseSc('SC {"t":1,"l":"info","e":"boot","m":"hi"}')!.f).toEqual({});
    for (const bad of [
      'SC {"t":"1","l":"info","e":"x","m":"y"}',
      'SC {"t":1,"l":"loud","e":"x","m":"y"}',
      'SC {"t":1,"l":"info","e":"x"}',
      'SC {"t":1,"l":"info","e":"x","m":"y","f":[1]}',
      'SC {"t":1,"l":"info",',
      'XSC {"t":1,"l":"info","e":"x","m":"y"}',
      "SC",
    ])
      expect(parseSc(bad)).toBeNull();
  });

  test("render with uptime, level and event; colours only when asked; quoted fields when needed", () => {
    const r = parseSc('SC {"t":61234,"l":"error","e":"upload.fail","m":"cloud said 503","f":{"clip":"c-1","reason":"busy now"}}')!;
    expect(renderSc(r, false)).toBe('   61.234 ERROR upload.fail          cloud said 503  clip=c-1 reason="busy now"');
    const coloured = renderSc(r, true);
    expect(coloured).toContain("\x1b[31;1mERROR");
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, "")).toBe(renderSc(r, false));
  });

  test("raw bytes are escaped and dumped in hex", () => {
    expect(renderRaw(Uint8Array.from([0x41, 0x00, 0x5c, 0x0d, 0xff]), false)).toBe("raw 5 bytes: A\\x00\\\\\\r\\xff  [41 00 5c 0d ff]");
    expect(renderRaw(new Uint8Array(100), false)).toMatch(/ …\]$/);
  });
});

describe("line splitting", () => {
  test("LF and CR LF, lines split across chunks, partial flush, over-long lines", () => {
    const s = new LineSplitter();
    expect(s.push(enc("one\r\ntw"))).toEqual([enc("one")]);
    expect(s.push(enc("o\nthr"))).toEqual([enc("two")]);
    expect(s.flush()).toEqual(enc("thr"));
    expect(s.flush()).toBeNull();
    const long = s.push(new Uint8Array(MAX_LINE + 10).fill(0x61));
    expect(long).toHaveLength(1);
    expect(long[0]!.length).toBe(MAX_LINE);
    expect(s.pending).toBe(10);
  });
});

describe("xsbug deframing", () => {
  test("the wire form from xsPlatform.c, split at every byte, yields the log text", () => {
    const wire = '\r\n<?xs.0a1b2c3d?>\r\n<xsbug><log>SC {&quot;t&quot;:5,&quot;l&quot;:&quot;info&quot;,&quot;e&quot;:&quot;boot&quot;,&quot;m&quot;:&quot;a &lt;b&gt; &amp; c&quot;}\n</log></xsbug>\r\n';
    const d = new ConsoleDecoder();
    const items: ConsoleItem[] = [];
    for (const b of enc(wire)) items.push(...d.push(Uint8Array.of(b)));
    expect(items).toEqual([{ kind: "sc", machine: "0a1b2c3d", record: { t: 5, l: "info", e: "boot", m: "a <b> & c", f: {} } }]);
  });

  test("multi-line logs, other xsbug messages, goodbye, and text around frames", () => {
    const x = new XsbugDeframer();
    const out = [
      ...x.line("<?xs.11112222?>"),
      ...x.line("<xsbug><log>first"),
      ...x.line("second &#x263A; &#65;</log></xsbug>"),
      ...x.line('<?xs.11112222?><xsbug><break path="/app/main.js" line="12" message="boom"/></xsbug>'),
      ...x.line("plain text"),
      ...x.line("<?xs-11112222?>"),
    ];
    expect(out).toEqual([
      { kind: "text", machine: "11112222", text: "first" },
      { kind: "text", machine: "11112222", text: "second ☺ A" },
      { kind: "xsbug", machine: "11112222", element: "break", summary: 'xsbug <break path="/app/main.js" line="12" message="boom">' },
      // Text outside a frame is not the VM's (ESP-IDF logs, ROM output): no machine id.
      { kind: "text", text: "plain text" },
      { kind: "xsbug", machine: "11112222", element: "goodbye", summary: "xsbug: the VM closed its debug connection (reset?)" },
    ]);
    expect(unescapeXml("&lt;&unknown;&#xZZ;&amp;")).toBe("<&unknown;&#xZZ;&");
  });

  test("a document that never closes is given back as text", () => {
    const x = new XsbugDeframer();
    expect(x.line("<xsbug><log>" + "y".repeat(70000))).toEqual([{ kind: "text", machine: undefined, text: expect.stringContaining("yyy") }]);
  });
});

describe("decoder + renderer", () => {
  test("text, SC, raw and the boot banner", () => {
    const d = new ConsoleDecoder();
    const idf = d.push(enc("\x1b[0;32mI (27) boot: ESP-IDF v5.4 2nd stage bootloader\x1b[0m\r\n"));
    expect(idf).toEqual([{ kind: "text", text: "I (27) boot: ESP-IDF v5.4 2nd stage bootloader" }]);
    const items = d.push(Uint8Array.from([...enc("ESP-ROM:esp32s3-20210327\r\n"), ...enc('SC {"t":0,"l":"debug","e":"x","m":"y"}\n'), 0xff, 0xfe, 0x0a, ...enc("ok\ttab\n")]));
    expect(items.map((i) => i.kind)).toEqual(["text", "sc", "raw", "text"]);
    const lines = items.flatMap((i) => renderItem(i, false));
    expect(lines).toEqual([
      "── board booting ──",
      "ESP-ROM:esp32s3-20210327",
      "    0.000 DEBUG x                    y",
      "raw 2 bytes: \\xff\\xfe  [ff fe]",
      "ok\ttab",
    ]);
  });
});
