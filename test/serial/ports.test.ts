/** Port listing from a fake sysfs tree laid out like the kernel's (symlinks included). */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../host-tools/flash/ports-cli";
import { guessBoard, listPorts } from "../../host-tools/serial/ports";

let sys: string;

function usbTty(name: string, usbPath: string, attrs: Record<string, string>, driver: string) {
  const iface = join(sys, "devices", usbPath, `${usbPath.split("/").pop()}:1.0`);
  mkdirSync(join(iface, "tty", name), { recursive: true });
  for (const [k, v] of Object.entries(attrs)) writeFileSync(join(sys, "devices", usbPath, k), v + "\n");
  mkdirSync(join(sys, "bus", "usb", "drivers", driver), { recursive: true });
  symlinkSync(join(sys, "bus", "usb", "drivers", driver), join(iface, "driver"));
  symlinkSync(iface, join(iface, "tty", name, "device"));
  symlinkSync(join(iface, "tty", name), join(sys, "class", "tty", name));
}

beforeAll(() => {
  sys = mkdtempSync(join(tmpdir(), "sealcam-sys-"));
  mkdirSync(join(sys, "class", "tty"), { recursive: true });
  usbTty("ttyACM0", "pci0000:00/usb1/1-2", { idVendor: "303a", idProduct: "1001", manufacturer: "Espressif", product: "USB JTAG/serial debug unit", serial: "74:4D:BD:5E:A1:07" }, "cdc_acm");
  usbTty("ttyUSB0", "pci0000:00/usb1/1-3", { idVendor: "1a86", idProduct: "55d4", product: "USB Single Serial" }, "ch341");
  usbTty("ttyUSB1", "pci0000:00/usb1/1-4", { idVendor: "067b", idProduct: "2303", product: "USB-Serial Controller" }, "pl2303");
  // A virtual tty (no device link) and an on-board UART.
  mkdirSync(join(sys, "devices", "virtual", "tty", "tty0"), { recursive: true });
  symlinkSync(join(sys, "devices", "virtual", "tty", "tty0"), join(sys, "class", "tty", "tty0"));
  mkdirSync(join(sys, "devices", "platform", "serial8250", "tty", "ttyS0"), { recursive: true });
  mkdirSync(join(sys, "bus", "platform", "drivers", "serial8250"), { recursive: true });
  symlinkSync(join(sys, "bus", "platform", "drivers", "serial8250"), join(sys, "devices", "platform", "serial8250", "driver"));
  symlinkSync(join(sys, "devices", "platform", "serial8250"), join(sys, "devices", "platform", "serial8250", "tty", "ttyS0", "device"));
  symlinkSync(join(sys, "devices", "platform", "serial8250", "tty", "ttyS0"), join(sys, "class", "tty", "ttyS0"));
});

afterAll(() => rmSync(sys, { recursive: true, force: true }));

test("USB ids come from the USB device above the tty; virtual ttys and platform UARTs are left out", () => {
  const ports = listPorts({ sysRoot: sys });
  expect(ports.map((p) => p.path)).toEqual(["/dev/ttyACM0", "/dev/ttyUSB0", "/dev/ttyUSB1"]);
  expect(ports[0]).toMatchObject({ vid: 0x303a, pid: 0x1001, manufacturer: "Espressif", serialNumber: "74:4D:BD:5E:A1:07", driver: "cdc_acm" });
  expect(guessBoard(ports[0]!)).toEqual({ likely: true, label: "ESP32-S3 USB-Serial/JTAG", usbJtagSerial: true });
  expect(guessBoard(ports[1]!)).toMatchObject({ likely: true, label: "CH9102 USB-UART bridge", usbJtagSerial: false });
  expect(guessBoard(ports[2]!).likely).toBe(false);
  expect(listPorts({ sysRoot: sys, all: true }).map((p) => p.name)).toContain("ttyS0");
});

test("sealcam ports marks likely boards; --json for scripts", async () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c) => (text += c));
  const io = { stdout: out, stderr: new PassThrough(), stdin: new PassThrough() };
  expect(await main([], io, sys)).toBe(0);
  expect(text).toMatch(/^\* \/dev\/ttyACM0\s+303a:1001\s+ESP32-S3 USB-Serial\/JTAG \(Espressif, USB JTAG\/serial debug unit, serial 74:4D:BD:5E:A1:07\)$/m);
  expect(text).toMatch(/^\* \/dev\/ttyUSB0\s+1a86:55d4\s+CH9102 USB-UART bridge/m);
  expect(text).toMatch(/^  \/dev\/ttyUSB1\s+067b:2303\s+USB-Serial Controller/m);
  text = "";
  expect(await main(["--json"], io, sys)).toBe(0);
  const rows = JSON.parse(text) as { path: string; usbId: string; likely: boolean }[];
  expect(rows.map((r) => [r.path, r.usbId, r.likely])).toEqual([
    ["/dev/ttyACM0", "303a:1001", true],
    ["/dev/ttyUSB0", "1a86:55d4", true],
    ["/dev/ttyUSB1", "067b:2303", false],
  ]);
});
