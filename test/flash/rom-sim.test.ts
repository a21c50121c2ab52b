/** The ROM simulator's protocol details, packet by packet, and READ_FLASH through esptool-js. */
import { ESPLoader, Transport } from "esptool-js";
import { NodeSerialLink } from "../../host-tools/serial/link";
import { WebSerialShim } from "../../host-tools/serial/webserial-shim";
import { Esp32s3RomSim, OP } from "../../host-tools/sim/esp32s3-rom";
import { bytes } from "./fixtures";
import { simBoard } from "./sim-harness";

function command(op: number, data: Uint8Array, checksumOf?: Uint8Array): Uint8Array {
  const pkt = new Uint8Array(8 + data.length);
  pkt[1] = op;
  pkt[2] = data.length & 0xff;
  pkt[3] = data.length >> 8;
  let chk = 0xef;
  for (const b of checksumOf ?? []) chk ^= b;
  pkt[4] = chk;
  pkt.set(data, 8);
  return pkt;
}
const words = (...w: number[]) => new Uint8Array(new Uint32Array(w).buffer);
const status = (reply: Uint8Array) => [reply[reply.length - 2], reply[reply.length - 1]];

describe("Esp32s3RomSim packets", () => {
  test("SYNC is answered eight times; a bad pattern is rejected", async () => {
    const sim = new Esp32s3RomSim({ flashSize: 1 << 20 });
    const sync = new Uint8Array(36).fill(0x55);
    sync.set([0x07, 0x07, 0x12, 0x20]);
    const replies = await sim.handle(command(OP.SYNC, sync));
    expect(replies).toHaveLength(8);
    expect(replies[0]![0]).toBe(0x01);
    expect(replies[0]![1]).toBe(OP.SYNC);
    const bad = await sim.handle(command(OP.SYNC, new Uint8Array(36)));
    expect(status(bad[0]!)).toEqual([1, 0x05]);
  });

  test("flash writes check block checksums and order; a region is erased before it is written", async () => {
    const sim = new Esp32s3RomSim({ flashSize: 1 << 20, image: new Uint8Array(1 << 20).fill(0x0f) });
    expect(status((await sim.handle(command(OP.FLASH_BEGIN, words(0x2000, 2, 0x1000, 0x3000, 0))))[0]!)).toEqual([0, 0]);
    expect(sim.flash.subarray(0x3000, 0x5000).every((b) => b === 0xff)).toBe(true); // erased first
    const block = bytes(0x1000, 3);
    const good = new Uint8Array([...words(0x1000, 0, 0, 0), ...block]);
    const bad = command(OP.FLASH_DATA, good, new Uint8Array([1]));
    expect(status((await sim.handle(bad))[0]!)).toEqual([1, 0x07]); // checksum
    const skip = new Uint8Array([...words(0x1000, 1, 0, 0), ...block]);
    expect(status((await sim.handle(command(OP.FLASH_DATA, skip, block)))[0]!)).toEqual([1, 0x06]); // out of order
    expect(status((await sim.handle(command(OP.FLASH_DATA, good, block)))[0]!)).toEqual([0, 0]);
    expect(Buffer.from(sim.flash.subarray(0x3000, 0x4000)).equals(Buffer.from(block))).toBe(true);
    // A retried block the device already has is acknowledged, not written twice.
    expect(status((await sim.handle(command(OP.FLASH_DATA, good, block)))[0]!)).toEqual([0, 0]);
    await sim.handle(command(OP.FLASH_END, words(1)));
    expect(sim.writes).toEqual([{ offset: 0x3000, length: 0x1000 }]); // one of the two announced blocks arrived
  });

  test("stub-only commands need the stub; erase regions must be sector aligned", async () => {
    const sim = new Esp32s3RomSim({ flashSize: 1 << 20 });
    expect(status((await sim.handle(command(OP.ERASE_REGION, words(0x1000, 0x1000))))[0]!)).toEqual([1, 0x05]);
    sim.stubRunning = true;
    expect(status((await sim.handle(command(OP.ERASE_REGION, words(0x1001, 0x1000))))[0]!)).toEqual([1, 0x06]);
    expect(status((await sim.handle(command(OP.ERASE_REGION, words(0xff000, 0x2000))))[0]!)).toEqual([1, 0x06]); // past the end
    expect(status((await sim.handle(command(0x42, new Uint8Array(0))))[0]!)).toEqual([1, 0x05]);
  });
});

test("READ_FLASH through esptool-js returns the emulated flash", async () => {
  const image = bytes(1 << 20, 77, 0);
  const b = await simBoard({ flashSize: 1 << 20, image });
  const shim = new WebSerialShim((baudRate) => new NodeSerialLink(b.port, { baudRate }));
  const transport = new Transport(shim as never);
  transport.trace = () => undefined;
  const loader = new ESPLoader({ transport, baudrate: 115200, terminal: { clean: () => undefined, write: () => undefined, writeLine: () => undefined } });
  try {
    await loader.connect("default_reset", 2, true);
    await loader.runStub();
    const got = await loader.readFlash(0x1234, 10000);
    expect(Buffer.from(got).equals(Buffer.from(image.subarray(0x1234, 0x1234 + 10000)))).toBe(true);
    expect(b.sim.counts.READ_FLASH).toBe(1);
  } finally {
    await transport.disconnect();
    await b.close();
  }
});
