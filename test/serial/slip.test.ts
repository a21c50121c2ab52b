import { SLIP_END, SLIP_ESC, SlipDecoder, slipEncode } from "../../host-tools/serial/slip";

describe("SLIP framing", () => {
  test("escapes END and ESC and round-trips any bytes, in any chunking", () => {
    const packet = Uint8Array.from([0x00, SLIP_END, 0x01, SLIP_ESC, 0xdc, 0xdd, SLIP_END, SLIP_ESC]);
    const framed = slipEncode(packet);
    expect(Array.from(framed)).toEqual([0xc0, 0x00, 0xdb, 0xdc, 0x01, 0xdb, 0xdd, 0xdc, 0xdd, 0xdb, 0xdc, 0xdb, 0xdd, 0xc0]);
    for (let split = 0; split <= framed.length; split++) {
      const d = new SlipDecoder();
      const got = [...d.push(framed.subarray(0, split)).packets, ...d.push(framed.subarray(split)).packets];
      expect(got).toEqual([packet]);
    }
  });

  test("back-to-back frames, noise between frames, no empty packets", () => {
    const d = new SlipDecoder();
    const a = slipEncode(Uint8Array.from([1, 2]));
    const b = slipEncode(Uint8Array.from([3]));
    const noise = new TextEncoder().encode("rst:0x1\r\n");
    const { packets, noise: junk } = d.push(Uint8Array.from([...noise, ...a, ...b, 0xc0, 0xc0]));
    expect(packets).toEqual([Uint8Array.from([1, 2]), Uint8Array.from([3])]);
    expect(new TextDecoder().decode(junk)).toBe("rst:0x1\r\n");
  });

  test("a broken escape drops the frame and resynchronises", () => {
    const d = new SlipDecoder();
    const { packets, noise } = d.push(Uint8Array.from([0xc0, 1, 0xdb, 0x99, 2, 0xc0, ...slipEncode(Uint8Array.from([7]))]));
    expect(packets).toEqual([Uint8Array.from([7])]);
    expect(Array.from(noise.subarray(0, 2))).toEqual([0xdb, 0x99]);
  });

  test("an over-long frame is dropped as noise", () => {
    const d = new SlipDecoder(4);
    const { packets, noise } = d.push(Uint8Array.from([0xc0, 1, 2, 3, 4, 5, 0xc0, ...slipEncode(Uint8Array.from([9]))]));
    expect(packets).toEqual([Uint8Array.from([9])]);
    expect(noise.length).toBeGreaterThanOrEqual(5);
  });
});
