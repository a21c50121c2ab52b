/**
 * SerialLink and the Web Serial shim: modem lines are remembered (serialport's set() resets omitted lines),
 * ptys are tolerated, reads are pull-based so nothing is lost between readers, streams behave like Web Serial.
 */
import { SerialPortMock } from "serialport";
import { classifyOpenError, isPtyPath, NodeSerialLink, type PortLike, type PortOpenOptions } from "../../host-tools/serial/link";
import { WebSerialShim } from "../../host-tools/serial/webserial-shim";
import { ptyPair, type PtyPair } from "./pty";

class RecordingLink extends NodeSerialLink {
  calls: { dtr: boolean; rts: boolean; brk: boolean }[] = [];
  protected override createPort(options: PortOpenOptions): PortLike {
    SerialPortMock.binding.createPort(options.path);
    const port = new SerialPortMock({ path: options.path, baudRate: options.baudRate, autoOpen: false });
    const set = port.set.bind(port);
    port.set = ((o: { dtr: boolean; rts: boolean; brk: boolean }, cb: (err: Error | null) => void) => {
      this.calls.push({ ...o });
      return set(o, cb);
    }) as typeof port.set;
    return port as unknown as PortLike;
  }
}

let pair: PtyPair;
beforeAll(async () => {
  pair = await ptyPair();
});
afterAll(async () => {
  SerialPortMock.binding.reset();
  await pair.dispose();
});

describe("NodeSerialLink", () => {
  test("setSignals changes only the lines given and always sends all of them", async () => {
    const link = new RecordingLink("/dev/ttyMOCK0", { pty: false });
    await link.open();
    await link.setSignals({ dtr: false, rts: true });
    await link.setSignals({ dtr: true }); // RTS must stay high: this is the ESP32 reset sequence
    await link.setSignals({ rts: false });
    expect(link.calls).toEqual([
      { dtr: false, rts: true, brk: false },
      { dtr: true, rts: true, brk: false },
      { dtr: true, rts: false, brk: false },
    ]);
    expect(link.signals).toEqual({ dtr: true, rts: false, brk: false });
    await link.close();
  });

  test("on a pty the lines are recorded but no ioctl is attempted", async () => {
    expect(isPtyPath(pair.host)).toBe(true);
    expect(isPtyPath("/dev/ttyUSB0")).toBe(false);
    const link = new NodeSerialLink(pair.host);
    expect(link.linesAvailable).toBe(false);
    await link.open();
    await expect(link.setSignals({ dtr: true, rts: true })).resolves.toBeUndefined();
    expect(link.signals.rts).toBe(true);
    await link.setBaudRate(921600);
    await link.close();
  });

  test("open errors become messages a user can act on", () => {
    expect(classifyOpenError("/dev/ttyACM0", new Error("Error: Permission denied, cannot open /dev/ttyACM0")).message).toMatch(/dialout group/);
    expect(classifyOpenError("/dev/ttyACM0", new Error("Error Resource temporarily unavailable Cannot lock port")).code).toBe("E_PORT_BUSY");
    expect(classifyOpenError("/dev/ttyACM9", new Error("Error: No such file or directory, cannot open /dev/ttyACM9")).code).toBe("E_NOT_FOUND");
  });

  test("an aborted read consumes nothing", async () => {
    const host = new NodeSerialLink(pair.host);
    const dev = new NodeSerialLink(pair.device);
    await host.open();
    await dev.open();
    const abort = new AbortController();
    const pending = host.read(abort.signal);
    abort.abort();
    expect(await pending).toBeNull();
    await dev.write(Uint8Array.from([1, 2, 3]));
    expect(Array.from((await host.read())!)).toEqual([1, 2, 3]);
    await host.close();
    await dev.close();
    expect(await host.read()).toBeNull();
  });
});

describe("WebSerialShim", () => {
  test("per-chunk reader locks lose no bytes; fresh streams after cancel; null after close", async () => {
    const dev = new NodeSerialLink(pair.device);
    await dev.open();
    const shim = new WebSerialShim((baudRate) => new NodeSerialLink(pair.host, { baudRate }), { usbVendorId: 0x303a, usbProductId: 0x1001 });
    expect(shim.readable).toBeNull();
    await shim.open({ baudRate: 115200 });
    expect(shim.getInfo()).toEqual({ usbVendorId: 0x303a, usbProductId: 0x1001 });

    // Like esptool-js's readLoop: take a reader, read one chunk, release, repeat.
    const sent = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const got: number[] = [];
    const writing = (async () => {
      for (let o = 0; o < sent.length; o += 700) await dev.write(sent.subarray(o, o + 700));
    })();
    while (got.length < sent.length) {
      const reader = shim.readable!.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      got.push(...value!);
    }
    await writing;
    expect(Buffer.from(got).equals(Buffer.from(sent))).toBe(true);

    // Cancel a pending read (what Transport.disconnect does): a later stream still gets later bytes.
    const first = shim.readable!;
    const reader = first.getReader();
    const pending = reader.read();
    await reader.cancel();
    expect((await pending).done).toBe(true);
    reader.releaseLock();
    const second = shim.readable!;
    expect(second).not.toBe(first);
    await dev.write(Uint8Array.from([42]));
    const r2 = second.getReader();
    expect(Array.from((await r2.read()).value!)).toEqual([42]);
    r2.releaseLock();

    // The writable: a closed writer (Transport.flushOutput) leaves a fresh stream behind.
    const w = shim.writable!.getWriter();
    await w.write(Uint8Array.from([7, 8]));
    await w.close();
    const w2 = shim.writable!.getWriter();
    await w2.write(Uint8Array.from([9]));
    w2.releaseLock();
    const back: number[] = [];
    while (back.length < 3) back.push(...(await dev.read())!);
    expect(back).toEqual([7, 8, 9]);

    await shim.setSignals({ dataTerminalReady: false, requestToSend: true });
    await shim.setBaudRate(460800);
    await shim.close();
    expect(shim.readable).toBeNull();
    expect(shim.writable).toBeNull();
    await dev.close();
  });
});
