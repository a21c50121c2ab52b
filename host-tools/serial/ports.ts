/**
 * Serial port listing from sysfs (Linux), with USB vendor/product ids, without udevadm (serialport's
 * `SerialPort.list()` shells out to it and fails where udev is absent, e.g. containers).
 *
 * /sys/class/tty/<name>/device links to the bus device (a USB interface for ACM/CDC and USB-UART bridges); its
 * parent directories hold idVendor, idProduct, manufacturer, product and serial. Virtual ttys have no device.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface PortInfo {
  path: string;
  name: string;
  vid?: number;
  pid?: number;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  driver?: string;
}

export interface PortGuess {
  likely: boolean;
  /** Short human label: "ESP32-S3 USB-Serial/JTAG", "CP210x USB-UART bridge", ... */
  label: string;
  /** True when esptool's USB-Serial/JTAG reset sequence applies (303a:1001). */
  usbJtagSerial: boolean;
}

const BRIDGES: Record<string, string> = {
  "303a:1001": "ESP32-S3 USB-Serial/JTAG",
  "303a:0002": "ESP32-S2/S3 USB-OTG (TinyUSB CDC)",
  "303a:4001": "Espressif USB CDC (TinyUSB)",
  "10c4:ea60": "CP210x USB-UART bridge",
  "1a86:7523": "CH340 USB-UART bridge",
  "1a86:55d4": "CH9102 USB-UART bridge",
  "1a86:55d3": "CH343 USB-UART bridge",
  "0403:6001": "FTDI FT232 USB-UART bridge",
  "0403:6010": "FTDI FT2232 (ESP-Prog)",
  "0403:6015": "FTDI FT231X USB-UART bridge",
};

const hex4 = (n: number) => n.toString(16).padStart(4, "0");

export function usbIdString(port: PortInfo): string | undefined {
  return port.vid !== undefined && port.pid !== undefined ? `${hex4(port.vid)}:${hex4(port.pid)}` : undefined;
}

/** Whether a port is probably an ESP32-S3 board (native USB) or a bridge such boards carry. */
export function guessBoard(port: PortInfo): PortGuess {
  const id = usbIdString(port);
  const known = id ? BRIDGES[id] : undefined;
  if (known) return { likely: true, label: known, usbJtagSerial: id === "303a:1001" };
  if (port.vid === 0x303a) return { likely: true, label: "Espressif USB device", usbJtagSerial: false };
  return { likely: false, label: port.product ?? (id ? "USB serial device" : "serial port"), usbJtagSerial: false };
}

function readAttr(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

function usbAncestor(start: string, sysRoot: string): string | undefined {
  let dir = start;
  for (let i = 0; i < 6 && dir.startsWith(sysRoot) && dir !== dirname(dir); i++) {
    if (existsSync(join(dir, "idVendor"))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

/** Ports that have a backing device. Platform UARTs (serial8250, ttyS*) are left out unless `all`. */
export function listPorts(options: { sysRoot?: string; devRoot?: string; all?: boolean } = {}): PortInfo[] {
  const sysRoot = options.sysRoot ?? "/sys";
  const devRoot = options.devRoot ?? "/dev";
  const classDir = join(sysRoot, "class", "tty");
  let names: string[];
  try {
    names = readdirSync(classDir);
  } catch {
    return [];
  }
  const realSys = realpathSync(sysRoot);
  const ports: PortInfo[] = [];
  for (const name of names.sort()) {
    let deviceDir: string;
    try {
      deviceDir = realpathSync(join(classDir, name, "device"));
    } catch {
      continue; // virtual tty
    }
    let driver: string | undefined;
    try {
      driver = basename(realpathSync(join(deviceDir, "driver")));
    } catch {
      driver = undefined;
    }
    const usb = usbAncestor(deviceDir, realSys);
    if (!usb && !options.all && (name.startsWith("ttyS") || driver === "serial8250" || driver === "port")) continue;
    const port: PortInfo = { path: join(devRoot, name), name, driver };
    if (usb) {
      const vid = readAttr(usb, "idVendor");
      const pid = readAttr(usb, "idProduct");
      if (vid) port.vid = parseInt(vid, 16);
      if (pid) port.pid = parseInt(pid, 16);
      port.manufacturer = readAttr(usb, "manufacturer");
      port.product = readAttr(usb, "product");
      port.serialNumber = readAttr(usb, "serial");
    }
    ports.push(port);
  }
  return ports;
}

/** USB ids of the port at path (following symlinks such as /dev/serial/by-id/...), if it is a USB device. */
export function usbIdsForPath(path: string, options: { sysRoot?: string; devRoot?: string } = {}): { vid?: number; pid?: number } {
  let name: string;
  try {
    name = basename(realpathSync(path));
  } catch {
    name = basename(path);
  }
  const port = listPorts({ ...options, all: true }).find((p) => p.name === name);
  return port ? { vid: port.vid, pid: port.pid } : {};
}
