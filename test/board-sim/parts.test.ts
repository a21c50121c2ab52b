/**
 * The board simulator's Node-side parts on their own: the NVS page file (atomic sets, torn writes, compaction),
 * the synthetic JPEG camera (real, deterministic JPEG) and the UART pty (a serialport client attaches).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as jpeg from "jpeg-js";
import { SerialPort } from "serialport";
import { NvsFile, PowerCut, PAGE_SIZE } from "../../host-tools/board-sim/nvs-file";
import { FileFlash } from "../../host-tools/board-sim/flash-file";
import { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { syntheticFrame, SyntheticCamera } from "../../host-tools/board-sim/synthetic-camera";
import { UartPty } from "../../host-tools/board-sim/uart-pty";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-parts-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bytes = (text: string) => new Uint8Array(Buffer.from(text));

describe("NVS page file", () => {
  test("values survive a reopen; delete and overwrite replay in order", () => {
    const dir = path.join(tmp, "a");
    const nvs = new NvsFile(dir);
    nvs.set("cfg", bytes("one"));
    nvs.set("cert", new Uint8Array(4000).fill(7));
    nvs.set("cfg", bytes("two"));
    nvs.set("gone", bytes("x"));
    nvs.delete("gone");
    nvs.close();
    const again = new NvsFile(dir);
    expect(Buffer.from(again.get("cfg")!).toString()).toBe("two");
    expect(again.get("cert")).toEqual(new Uint8Array(4000).fill(7));
    expect(again.get("gone")).toBeUndefined();
    expect(again.keys()).toEqual(["cert", "cfg"]);
    expect(fs.statSync(path.join(dir, "nvs.bin")).size % PAGE_SIZE).toBe(0);
    again.close();
  });

  test("bad keys and oversized values are refused and change nothing", () => {
    const nvs = new NvsFile(path.join(tmp, "b"));
    expect(() => nvs.set("a-key-that-is-too-long", bytes("x"))).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
    expect(() => nvs.set("", bytes("x"))).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
    expect(() => nvs.set("big", new Uint8Array(4001))).toThrow(expect.objectContaining({ code: "E_LIMIT" }));
    expect(nvs.keys()).toEqual([]);
    nvs.close();
  });

  test("a write torn by a power cut leaves the old value", () => {
    const dir = path.join(tmp, "c");
    const nvs = new NvsFile(dir);
    nvs.set("state", bytes("old"));
    nvs.fault = { beforeWrite: (key) => (key === "state" ? "torn" : "ok") };
    expect(() => nvs.set("state", bytes("new-value-that-tears"))).toThrow(PowerCut);
    nvs.close();
    const again = new NvsFile(dir);
    expect(again.tornEntriesDropped).toBe(1);
    expect(Buffer.from(again.get("state")!).toString()).toBe("old");
    again.set("state", bytes("newer"));
    again.close();
    expect(Buffer.from(new NvsFile(dir).get("state")!).toString()).toBe("newer");
  });

  test("the log is compacted when it outgrows its pages", () => {
    const dir = path.join(tmp, "d");
    const nvs = new NvsFile(dir, 4);
    for (let i = 0; i < 40; i++) nvs.set("k" + (i % 3), new Uint8Array(1500).fill(i));
    expect(fs.statSync(nvs.file).size).toBeLessThanOrEqual(5 * PAGE_SIZE);
    nvs.close();
    const again = new NvsFile(dir, 4);
    expect(again.get("k0")).toEqual(new Uint8Array(1500).fill(39));
    expect(again.get("k2")).toEqual(new Uint8Array(1500).fill(38));
    again.close();
  });

  // issue 10, finding 7: nvs.bin holds the camera key, so only its owner may read it
  test("the page file and the queue flash file are private (0600): new, compacted, and an existing 0644 file fixed on open", () => {
    const previous = process.umask(0o022); // the usual umask, which gave 0644
    try {
      const mode = (file: string) => fs.statSync(file).mode & 0o777;
      const dir = path.join(tmp, "modes");
      const nvs = new NvsFile(dir, 2);
      expect(mode(nvs.file)).toBe(0o600);
      for (let i = 0; i < 12; i++) nvs.set("k" + (i % 2), new Uint8Array(3000).fill(i)); // forces a compaction (tmp + rename)
      expect(mode(nvs.file)).toBe(0o600);
      nvs.close();
      fs.chmodSync(nvs.file, 0o644); // a file made by an older simulator
      new NvsFile(dir).close();
      expect(mode(nvs.file)).toBe(0o600);

      const queue = path.join(dir, "queue.bin");
      new FileFlash(queue, 8 * 4096, 4096).close();
      expect(mode(queue)).toBe(0o600);
      fs.chmodSync(queue, 0o644);
      new FileFlash(queue, 8 * 4096, 4096).close();
      expect(mode(queue)).toBe(0o600);

      // a new board's data folder and its label are private too
      const board = new SimulatedBoard({ dataDir: path.join(tmp, "modes-board"), runner: () => { throw new Error("not booted"); } });
      expect(mode(board.dataDir)).toBe(0o700);
      expect(mode(path.join(board.dataDir, "nvs.bin"))).toBe(0o600);
      expect(mode(path.join(board.dataDir, "label.txt"))).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });
});

describe("synthetic camera", () => {
  test("frames are real JPEGs, deterministic, and differ from frame to frame", () => {
    const a = syntheticFrame(3, { width: 320, height: 240, quality: 12 });
    const b = syntheticFrame(3, { width: 320, height: 240, quality: 12 });
    const c = syntheticFrame(4, { width: 320, height: 240, quality: 12 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    expect([a[0], a[1]]).toEqual([0xff, 0xd8]);
    expect([a[a.length - 2], a[a.length - 1]]).toEqual([0xff, 0xd9]);
    const decoded = jpeg.decode(a, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([320, 240]);
  });

  test("frames are paced and stop when the camera stops", async () => {
    const camera = new SyntheticCamera();
    camera.start({ width: 64, height: 48, quality: 20, framesPerSecond: 20 });
    const first = await camera.next();
    const second = await camera.next();
    expect(second!.index).toBe(first!.index + 1);
    expect(second!.time).toBeGreaterThanOrEqual(first!.time);
    camera.stop();
    expect(await camera.next()).toBeUndefined();
  });
});

describe("UART pty", () => {
  test("a client sees lines and sends commands; the pty survives a client leaving", async () => {
    const uart = new UartPty(path.join(tmp, "uart"));
    await uart.open();
    const received: string[] = [];
    uart.onLine((line) => received.push(line));
    try {
      for (let round = 0; round < 2; round++) {
        const port = new SerialPort({ path: uart.linkPath, baudRate: 115200 });
        await new Promise<void>((resolve, reject) => port.once("open", resolve).once("error", reject));
        let text = "";
        port.on("data", (chunk: Buffer) => (text += chunk.toString()));
        uart.writeLine(`hello ${round}`);
        port.write(`status ${round}\r`);
        const deadline = Date.now() + 5000;
        while ((!text.includes(`hello ${round}\r\n`) || !received.includes(`status ${round}`)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(text).toContain(`hello ${round}\r\n`);
        expect(received).toContain(`status ${round}`);
        await new Promise<void>((resolve) => port.close(() => resolve()));
      }
    } finally {
      await uart.close();
    }
  });
});
