/**
 * Flashing one board: esptool-js's ESPLoader driven through our Web Serial shim over a SerialLink.
 * connect (classic DTR/RTS reset, or the USB-Serial/JTAG sequence for 303a:1001) → identify the chip and refuse
 * one that is not the board's → stub → faster baud → optional full erase → each region written compressed
 * and checked by MD5 → optional NVS erase (checked by MD5 of an erased range) → hard reset.
 *
 * No printing here: stages, progress and esptool's own lines go to the injected FlashEvents.
 */
import { createHash } from "node:crypto";
import { ESPError, ESPLoader, HardReset, Transport } from "esptool-js";
import { SealcamError } from "../../firmware/core/errors";
import { NodeSerialLink, type SerialLink } from "../serial/link";
import { WebSerialShim } from "../serial/webserial-shim";
import type { FlashBoard, FlashPartitionDef, Region } from "./layout";

export type Stage = "connect" | "chip" | "stub" | "baud" | "erase-all" | "write" | "verify" | "erase" | "reset";

export interface FlashEvents {
  stage(stage: Stage, detail: string): void;
  /** Compressed bytes sent for one region. */
  progress(region: Region, sent: number, total: number): void;
  /** esptool-js's own output, for --verbose and error context. */
  log(line: string): void;
}

export interface FlashJob {
  port: string;
  board: FlashBoard;
  regions: Region[];
  baud: number;
  usb: { vid?: number; pid?: number };
  /** Partitions to erase after writing (NVS for --erase-config; otadata so the new app boots). */
  erase: FlashPartitionDef[];
  eraseAll: boolean;
  connectAttempts?: number;
  /** Treat the port as a pty (detected from the path otherwise). */
  pty?: boolean;
  makeLink?: (baudRate: number) => SerialLink;
}

export interface FlashResult {
  chip: string;
  description: string;
  mac: string;
  flashId: number;
  regions: { name: string; address: number; size: number; md5: string }[];
  erased: { name: string; offset: number; size: number }[];
  /** False on a pty: the reset lines could not be driven, so the board must be reset by hand. */
  resetByLines: boolean;
  seconds: number;
}

const ROM_BAUD = 115200;
const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");
const hex = (n: number) => "0x" + n.toString(16);

/** Transport whose trace lines go to our sink instead of console.log (esptool-js logs a few even untraced). */
class QuietTransport extends Transport {
  sink: (line: string) => void = () => undefined;
  override trace(message: string): void {
    this.sink(`trace: ${message}`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * esptool.py's hard reset: EN pulled low through RTS for 100 ms with DTR (IO0) released, so the chip boots the
 * app. esptool-js 0.7.0's HardReset only drops RTS, and its Transport never clears its remembered DTR after a
 * classic reset (`if (dtr)`), so it would re-assert DTR (IO0 low) at the end: on a UART-bridge board that can
 * leave the chip in the ROM loader instead of running what was just written.
 */
class PulseHardReset extends HardReset {
  constructor(transport: Transport, private readonly usbOtg = false) {
    super(transport, usbOtg);
  }
  override async reset(): Promise<void> {
    await this.transport.setSignals(false, true);
    await sleep(this.usbOtg ? 200 : 100);
    await this.transport.setSignals(false, false);
  }
}

function connectError(port: string, cause: unknown): SealcamError {
  if (cause instanceof SealcamError) return cause;
  const text = cause instanceof Error ? cause.message : String(cause);
  if (/Failed to connect/i.test(text))
    return new SealcamError(
      "E_TIMEOUT",
      `no answer from the chip on ${port}: hold BOOT, tap RESET, release BOOT (download mode), then run this again`,
    );
  return new SealcamError("E_INTERNAL", `failed to connect on ${port}: ${text}`);
}

function midwayError(stage: string, cause: unknown): SealcamError {
  if (cause instanceof SealcamError) return cause;
  const text = cause instanceof Error ? cause.message : String(cause);
  if (/Serial data stream stopped|No serial data|Timeout|timed out/i.test(text))
    return new SealcamError("E_TIMEOUT", `the board stopped answering during ${stage}: check the cable, try a lower --baud, then run again`);
  return new SealcamError("E_INTERNAL", `failed during ${stage}: ${text}`);
}

export async function flashBoard(job: FlashJob, events: FlashEvents): Promise<FlashResult> {
  const started = Date.now();
  const makeLink = job.makeLink ?? ((baudRate: number) => new NodeSerialLink(job.port, { baudRate, pty: job.pty }));
  let lastLink: SerialLink | null = null;
  const shim = new WebSerialShim(
    (baudRate) => (lastLink = makeLink(baudRate)),
    { usbVendorId: job.usb.vid, usbProductId: job.usb.pid },
  );
  const transport = new QuietTransport(shim as never, false);
  transport.sink = (line) => events.log(line);
  const terminal = {
    clean: () => undefined,
    write: (s: string) => events.log(s),
    writeLine: (s: string) => events.log(s),
  };
  const loader = new ESPLoader({
    transport,
    baudrate: job.baud,
    romBaudrate: ROM_BAUD,
    terminal,
    resetConstructors: { hardReset: (t, usbOtg) => new PulseHardReset(t, usbOtg) },
  });
  const usbJtag = job.usb.vid === 0x303a && job.usb.pid === 0x1001;

  try {
    events.stage("connect", usbJtag ? `${job.port} (USB-Serial/JTAG reset)` : `${job.port} (DTR/RTS reset)`);
    try {
      await loader.connect(usbJtag ? "usb_reset" : "default_reset", job.connectAttempts ?? 5, true);
    } catch (e) {
      throw connectError(job.port, e);
    }

    const chipName = loader.chip.CHIP_NAME;
    if (chipName !== job.board.chip) {
      throw new SealcamError(
        "E_WRONG_CHIP",
        `the chip on ${job.port} is an ${chipName}, but board ${job.board.name} has an ${job.board.chip}: check --port and --board`,
      );
    }
    const description = await loader.chip.getChipDescription(loader);
    const mac = await loader.chip.readMac(loader);
    events.stage("chip", `${description}, MAC ${mac}`);
    if (loader.chip.postConnect) await loader.chip.postConnect(loader);

    events.stage("stub", "uploading the flasher stub");
    await loader.runStub().catch((e: unknown) => Promise.reject(midwayError("the stub upload", e)));
    if (job.baud !== ROM_BAUD) {
      events.stage("baud", `${job.baud} baud`);
      await loader.changeBaud().catch((e: unknown) => Promise.reject(midwayError("the baud rate change", e)));
    }
    const flashId = await loader.readFlashId();
    const sizeCode = (flashId >> 16) & 0xff;
    const detected = sizeCode >= 0x12 && sizeCode <= 0x1c ? 256 * 1024 * 2 ** (sizeCode - 0x12) : 0;
    if (detected > 0 && detected < job.board.flashSize) {
      throw new SealcamError(
        "E_WRONG_CHIP",
        `the flash on ${job.port} is ${detected / 1048576} MB, but board ${job.board.name} needs ${job.board.flashSize / 1048576} MB: check --board`,
      );
    }

    if (job.eraseAll) {
      events.stage("erase-all", `the whole ${job.board.flashSize / 1048576} MB flash`);
      await loader.eraseFlash().catch((e: unknown) => Promise.reject(midwayError("the full erase", e)));
    }

    const written: FlashResult["regions"] = [];
    for (const region of job.regions) {
      events.stage("write", `${region.name} (${region.data.length} bytes) at ${hex(region.address)}`);
      let digest = "";
      try {
        await loader.writeFlash({
          fileArray: [{ data: region.data, address: region.address }],
          flashMode: "keep",
          flashFreq: "keep",
          flashSize: "keep",
          eraseAll: false,
          compress: true,
          reportProgress: (_i, sent, total) => events.progress(region, sent, total),
          calculateMD5Hash: (image) => (digest = md5(image)),
        });
      } catch (e) {
        if (e instanceof ESPError && /MD5 of file does not match/i.test(e.message)) {
          throw new SealcamError(
            "E_VERIFY",
            `verify failed: the ${region.name} at ${hex(region.address)} reads back different from ${region.file} (MD5 mismatch): the flash may be worn or the link noisy; run again, then try a lower --baud`,
          );
        }
        throw midwayError(`the ${region.name} write`, e);
      }
      events.stage("verify", `${region.name} MD5 ${digest} matches`);
      written.push({ name: region.name, address: region.address, size: region.data.length, md5: digest });
    }

    const erased: FlashResult["erased"] = [];
    for (const part of job.erase) {
      events.stage("erase", `${part.name} (${part.size} bytes at ${hex(part.offset)})`);
      const pkt = new Uint8Array(8);
      new DataView(pkt.buffer).setUint32(0, part.offset, true);
      new DataView(pkt.buffer).setUint32(4, part.size, true);
      try {
        await loader.checkCommand("erase region", loader.ESP_ERASE_REGION, pkt, 0, 0, loader.timeoutPerMb(loader.ERASE_REGION_TIMEOUT_PER_MB, part.size));
      } catch (e) {
        throw midwayError(`the ${part.name} erase`, e);
      }
      const expected = md5(new Uint8Array(part.size).fill(0xff));
      const actual = await loader.flashMd5sum(part.offset, part.size);
      if (actual !== expected)
        throw new SealcamError("E_VERIFY", `verify failed: the ${part.name} partition at ${hex(part.offset)} is not blank after erasing it`);
      erased.push({ name: part.name, offset: part.offset, size: part.size });
    }

    const link = lastLink as SerialLink | null;
    const resetByLines = link?.linesAvailable ?? false;
    events.stage("reset", resetByLines ? "hard reset via RTS" : "this port has no DTR/RTS lines (pty): reset the board by hand");
    await loader.after("hard_reset", usbJtag ? false : undefined);
    return { chip: chipName, description, mac, flashId, regions: written, erased, resetByLines, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    if (e instanceof SealcamError) throw e;
    throw midwayError("flashing", e);
  } finally {
    await transport.disconnect().catch(() => undefined);
    await shim.close().catch(() => undefined);
  }
}
