/**
 * Joining the camera's setup access point (`sealcam phone add-camera --join`), by SSID and the WPA2 password
 * derived from the label secret (docs/PROTOCOL.md 6.1):
 *
 *   - a simulated camera's access point, when the simulated airspace (host-tools/board-sim/air.ts;
 *     SEALCAM_SIM_AIR) has that SSID: the airspace checks the password and hands back the access point's
 *     address, which becomes the setup URL;
 *   - otherwise NetworkManager, when `nmcli` is on PATH. The password never goes on a command line (every
 *     user sees those in `ps`): a profile without the password is added in memory only (`save no`,
 *     `wifi-sec.psk-flags 2`: NetworkManager does not keep it), then `nmcli connection up ... passwd-file F`
 *     reads it from a file in a fresh 0700 folder, mode 0600, removed as soon as nmcli returns. The setup URL
 *     is then the access point's address, http://192.168.4.1 (ESP-IDF's soft AP default) on port 80 (the
 *     camera's config.setupPort). `leave()` deletes the profile afterwards.
 */
import { findOnPath } from "../cli-kit/which";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SealcamError } from "../../firmware/core/errors";
import { defaultAirDir, findAp, joinSimulatedAp } from "../board-sim/air";

/** What to do when setup mode is over (firmware/camera/app.ts: setup-ended until a power cycle or `setup`). */
export const SETUP_ENDED_HELP =
  "Setup mode ends after 5 wrong label secrets, after 15 minutes, or once a phone has added the camera. " +
  "To start it again, power-cycle the camera (unplug it and plug it back in, or press RESET; board-sim: type `cut`) " +
  "or type `setup <label secret>` on its serial console (sealcam console); then run add-camera again with the right label.";

/** Where a real camera's setup API is once its access point is joined (ESP-IDF soft AP default, port 80). */
export const DEFAULT_SETUP_URL = "http://192.168.4.1";

export interface JoinOptions {
  env?: Record<string, string | undefined>;
  /** The simulated airspace folder (default: defaultAirDir(env)). */
  airDir?: string;
  /** Progress lines (never secrets). */
  progress?: (line: string) => void;
  /** nmcli's time limit for the activation, seconds. */
  waitSeconds?: number;
}

export interface JoinResult {
  method: "simulated" | "nmcli";
  setupUrl: string;
  /** Forgets the network again (the nmcli profile); idempotent, never throws. */
  leave(): Promise<void>;
}

function run(file: string, args: string[], env: Record<string, string | undefined>, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: env as NodeJS.ProcessEnv, timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? Number((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split(/\r?\n/).filter((l) => l.trim() !== "");
  return lines.length ? lines[lines.length - 1].trim() : "no message";
}

/** Joins the camera's access point `ssid` with `password` (see the file comment for how). */
export async function joinSetupNetwork(ssid: string, password: string, options: JoinOptions = {}): Promise<JoinResult> {
  const env = options.env ?? process.env;
  const progress = options.progress ?? (() => undefined);
  const airDir = options.airDir ?? defaultAirDir(env);
  if (findAp(airDir, ssid)) {
    const { address } = joinSimulatedAp(airDir, ssid, password);
    progress(`joined Wi-Fi "${ssid}" (simulated access point, airspace ${airDir}); camera at ${address}`);
    return { method: "simulated", setupUrl: address, leave: async () => undefined };
  }
  const nmcli = findOnPath("nmcli", env);
  if (!nmcli && fs.existsSync(airDir)) {
    throw new SealcamError("E_NETWORK",
      `cannot join Wi-Fi "${ssid}": no such network in range (simulated air ${airDir}): the camera is off or not in setup mode. ${SETUP_ENDED_HELP}`);
  }
  if (!nmcli) {
    throw new SealcamError("E_NETWORK",
      `cannot join Wi-Fi "${ssid}": it is not on the simulated air (${airDir}) and NetworkManager's nmcli is not installed; ` +
      "join it with the password above in your system's Wi-Fi settings, then run add-camera again without --join");
  }
  const waitSeconds = options.waitSeconds ?? 45;
  const timeoutMs = (waitSeconds + 15) * 1000;
  // A profile left by an earlier run would be ambiguous with the new one.
  await run(nmcli, ["connection", "delete", "id", ssid], env, timeoutMs);
  const added = await run(nmcli, [
    "connection", "add", "save", "no", "type", "wifi", "con-name", ssid, "ssid", ssid,
    "wifi-sec.key-mgmt", "wpa-psk", "wifi-sec.psk-flags", "2", "connection.autoconnect", "no",
  ], env, timeoutMs);
  if (added.code !== 0) throw new SealcamError("E_NETWORK", `nmcli could not add a profile for Wi-Fi "${ssid}": ${lastLine(added.stderr || added.stdout)}`);
  const leave = async () => {
    await run(nmcli, ["connection", "delete", "id", ssid], env, timeoutMs).catch(() => undefined);
  };
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-join-"));
  const passwdFile = path.join(folder, "passwd");
  try {
    fs.chmodSync(folder, 0o700);
    fs.writeFileSync(passwdFile, `802-11-wireless-security.psk:${password}\n`, { mode: 0o600 });
    progress(`joining Wi-Fi "${ssid}" with nmcli (password from a private file, not the command line)`);
    const up = await run(nmcli, ["--wait", String(waitSeconds), "connection", "up", "id", ssid, "passwd-file", passwdFile], env, timeoutMs);
    if (up.code !== 0) {
      await leave();
      throw new SealcamError("E_NETWORK",
        `cannot join Wi-Fi "${ssid}" with nmcli: ${lastLine(up.stderr || up.stdout)} ` +
        "(a wrong password means the label was misread or belongs to another camera; no such network means the camera " +
        `is off, out of range or not in setup mode). ${SETUP_ENDED_HELP}`);
    }
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
  progress(`joined Wi-Fi "${ssid}" with nmcli; camera at ${DEFAULT_SETUP_URL}`);
  return { method: "nmcli", setupUrl: DEFAULT_SETUP_URL, leave };
}
