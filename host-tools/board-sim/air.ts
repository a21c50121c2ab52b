/**
 * The simulated airspace: where simulated cameras' soft access points can be "seen" and "joined" by SSID, so
 * the board simulator does not hide the Wi-Fi join step (docs/BOARD-SIM.md, "Soft AP").
 *
 * A folder (SEALCAM_SIM_AIR, default `<tmp>/sealcam-air-<uid>`, mode 0700) holds one file per access point
 * that is up, `<ssid>.json` (mode 0600):
 *
 *   {"v":1,"ssid":"sealcam-4F2A","address":"http://127.0.0.1:41234","pid":1234,
 *    "verifier":"<hex SHA-256("sealcam-sim-air/1" || PMK)>"}
 *
 * PMK is what WPA2-Personal derives from a passphrase: PBKDF2-HMAC-SHA1(passphrase, ssid, 4096, 32). The file
 * never holds the password. Joining (`joinSimulatedAp`) recomputes the verifier from the password the phone
 * offers and compares in constant time: a wrong password fails as a real join does, and the right one hands
 * back the access point's address (the setup API), as DHCP on the camera's network would give the gateway.
 * An entry whose process is gone is stale: it is removed and the network is "not in range".
 */
import { createHash, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SealcamError } from "../../firmware/core/errors";
import { isLabelSsid } from "../../firmware/core/setup-channel";

export interface AirEntry {
  v: 1;
  ssid: string;
  address: string;
  pid: number;
  verifier: string;
}

/** The airspace folder: SEALCAM_SIM_AIR, else a per-user folder in the system's temporary directory. */
export function defaultAirDir(env: Record<string, string | undefined> = process.env): string {
  const set = env.SEALCAM_SIM_AIR;
  if (set !== undefined && set !== "") return path.resolve(set);
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return path.join(os.tmpdir(), `sealcam-air-${uid}`);
}

/** WPA2-Personal's pairwise master key for (passphrase, ssid), hashed once more for the airspace file. */
export function airVerifier(ssid: string, password: string): string {
  const pmk = pbkdf2Sync(Buffer.from(password, "utf8"), Buffer.from(ssid, "utf8"), 4096, 32, "sha1");
  const verifier = createHash("sha256").update("sealcam-sim-air/1").update(pmk).digest("hex");
  pmk.fill(0);
  return verifier;
}

function entryFile(dir: string, ssid: string): string {
  if (!isLabelSsid(ssid)) throw new SealcamError("E_ARGUMENT", "airspace: not a valid access point name");
  // SSIDs the label can carry have no "/" problem except "/" itself and ".."; encode to be safe.
  return path.join(dir, `${encodeURIComponent(ssid)}.json`);
}

/** An access point comes up: it becomes visible and joinable with its password (never stored). */
export function registerAp(dir: string, entry: { ssid: string; address: string; verifier: string }): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = entryFile(dir, entry.ssid);
  const tmp = `${file}.${process.pid}.tmp`;
  const body: AirEntry = { v: 1, ssid: entry.ssid, address: entry.address, pid: process.pid, verifier: entry.verifier };
  fs.writeFileSync(tmp, JSON.stringify(body) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The access point goes down (only our own entry is removed). */
export function unregisterAp(dir: string, ssid: string): void {
  const file = entryFile(dir, ssid);
  try {
    const entry = JSON.parse(fs.readFileSync(file, "utf8")) as AirEntry;
    if (entry.pid === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // nothing registered
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The access point named `ssid`, if it is up in this airspace (stale entries are removed). */
export function findAp(dir: string, ssid: string): AirEntry | undefined {
  let entry: AirEntry;
  const file = entryFile(dir, ssid);
  try {
    entry = JSON.parse(fs.readFileSync(file, "utf8")) as AirEntry;
  } catch {
    return undefined;
  }
  if (entry.v !== 1 || entry.ssid !== ssid || typeof entry.address !== "string" || typeof entry.verifier !== "string" || !Number.isInteger(entry.pid)) {
    return undefined;
  }
  if (!alive(entry.pid)) {
    fs.rmSync(file, { force: true });
    return undefined;
  }
  return entry;
}

/**
 * Joins a simulated access point by SSID with a WPA2 password: resolves with the access point's address, or
 * fails with E_NETWORK as a real join would (not in range, or wrong password).
 */
export function joinSimulatedAp(dir: string, ssid: string, password: string): { address: string } {
  const entry = findAp(dir, ssid);
  if (!entry) throw new SealcamError("E_NETWORK", `cannot join Wi-Fi "${ssid}": no such network in range`);
  const offered = Buffer.from(airVerifier(ssid, password), "hex");
  const expected = Buffer.from(entry.verifier, "hex");
  if (expected.length !== offered.length || !timingSafeEqual(offered, expected)) {
    throw new SealcamError("E_NETWORK", `cannot join Wi-Fi "${ssid}": wrong password (the access point refused the WPA2 handshake)`);
  }
  return { address: entry.address };
}
