/**
 * The XS runner: the camera firmware (firmware/sim/main.ts, bundled for the XS host) in issue 4's XS host
 * process, its sim bodies wired to BoardServices over the host channel.
 *
 * Posted messages (storage/flash writes, log and console lines...) arrive as channel events and are applied
 * in arrival order; calls arrive as channel requests. When a fault point fires (PowerCut), the runner goes
 * dead at once (nothing the firmware sent after that point is applied, no answer goes back) and the
 * process is killed: that is the power cut.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BoardSim, xsHostBinary, xsHostBoard32Binary, type ChannelValue, type XsMemory } from "./board-sim";
import { repoRoot } from "./bundle";
import type { BoardServices, Params } from "./services";
import type { FirmwareRunner } from "./simulator";

/** Messages the firmware posts (SimChannel.post) and calls it makes (SimChannel.call; "flash.read" is its callSync). */
export const POSTED = [
  "storage.set", "storage.delete", "flash.write", "flash.erase", "log.write", "console.write", "camera.start",
  "camera.stop", "wifi.stopAp", "wifi.disconnect", "setup.respond", "setup.close", "board.step", "board.fatal",
  "ws.send", "ws.close",
];
export const CALLS = ["board.boot", "flash.read", "clock.sleep", "wifi.startAp", "setup.listen", "wifi.connect", "http.request", "camera.read", "camera.preview", "ws.connect"];

export interface XsFirmware {
  binary: string;
  bundle: string;
}

export const SIM_BUNDLE = path.join("build", "xs-bundles", "board-sim.js");
export const SIM_ENTRY = path.join("firmware", "sim", "main.ts");

/** Sources newer than the bundle? (then rebuild it when esbuild is at hand) */
function stale(bundle: string, root: string): boolean {
  if (!fs.existsSync(bundle)) return true;
  const built = fs.statSync(bundle).mtimeMs;
  const walk = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return walk(full);
      return /\.(ts|js)$/.test(entry.name) && fs.statSync(full).mtimeMs > built;
    });
  return walk(path.join(root, "firmware")) || walk(path.join(root, "host-tools", "board-sim", "xs-host", "js"));
}

/**
 * Finds the XS host binary and the firmware bundle (build/xs-bundles/board-sim.js, made by `make build`);
 * rebuilds the bundle if the firmware sources changed and esbuild can be loaded (jest, a dev checkout).
 */
export async function prepareXsFirmware(options: { stress?: boolean; board32?: boolean; rebuild?: boolean } = {}): Promise<XsFirmware> {
  const root = repoRoot();
  // board32: the 32-bit host inside the manifest's creation limits (mk/xs-host.mk, docs/HARDWARE.md).
  const binary = options.board32 ? xsHostBoard32Binary() : xsHostBinary(options.stress);
  if (!fs.existsSync(binary)) throw new Error(`the XS host is not built (${binary}): run make build, or use --engine node`);
  const bundle = path.join(root, SIM_BUNDLE);
  if (options.rebuild !== false && stale(bundle, root)) {
    try {
      const { bundleFirmware } = await import("./bundle");
      await bundleFirmware(SIM_ENTRY, bundle);
    } catch (error) {
      if (!fs.existsSync(bundle)) throw new Error(`cannot bundle the firmware (${(error as Error).message}): run make build`);
    }
  }
  return { binary, bundle };
}

export class XsRunner implements FirmwareRunner {
  private sim: BoardSim | undefined;
  private dead = false;
  crashed: Promise<string> | undefined;

  constructor(private readonly firmware: XsFirmware, private readonly env: Record<string, string> = {}) {}

  async boot(services: BoardServices, hooks: { isPowerCut(error: unknown): boolean }): Promise<void> {
    const sim = new BoardSim();
    this.sim = sim;
    for (const method of POSTED) {
      sim.on(method, (data) => {
        if (this.dead) return;
        try {
          services.post(method, data as Params);
        } catch (error) {
          if (hooks.isPowerCut(error)) {
            this.dead = true;
            return;
          }
          services.hooks.notice(`board-sim: ${method} failed: ${(error as Error).message}`);
        }
      });
    }
    for (const method of CALLS) {
      sim.handle(method, async (params) => {
        if (this.dead) return new Promise<ChannelValue>(() => {});
        const result = await services.call(method, (params ?? {}) as Params);
        if (this.dead) return new Promise<ChannelValue>(() => {});
        return result as ChannelValue;
      });
    }
    this.crashed = sim.exited.then(() => {
      if (this.dead) return new Promise<string>(() => {});
      return sim.failure ? sim.failure.message : "xs host exited";
    });
    await sim.start(this.firmware.binary, this.firmware.bundle, {
      env: { XS_STRESS: "0", ...this.env },
      timeoutMs: 60000,
      // trace()/console output of the firmware goes to the UART, as on the board.
      onLog: (line) => {
        if (!this.dead) services.hooks.uartWrite(line);
      },
    });
  }

  /** The engine's memory counters (BoardSim.memory): `reset` at a phase boundary, `collect` for live data. */
  async memory(options: { reset?: boolean; collect?: boolean } = {}): Promise<XsMemory> {
    if (this.dead || !this.sim) throw new Error("the XS host is not running");
    return this.sim.memory(options);
  }

  emit(name: string, payload: Params): void {
    if (this.dead || !this.sim) return;
    try {
      this.sim.emit(name, payload as ChannelValue);
    } catch {
      // the host is gone; `crashed` reports it
    }
  }

  async kill(): Promise<void> {
    this.dead = true;
    const sim = this.sim;
    this.sim = undefined;
    if (sim) await sim.stop(0).catch(() => undefined);
  }
}
