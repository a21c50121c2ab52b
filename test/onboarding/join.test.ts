/**
 * The label string's grammar, and joining the camera's access point: through NetworkManager (a fake `nmcli`
 * on PATH that records its arguments and the password file it is given) and on the simulated air (right and
 * wrong password, stale entries).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deriveSetupKeys, findSetupLabel, formatSetupSecret, parseSetupLabel, setupQrPayload } from "../../firmware/core/setup-channel";
import { airVerifier, findAp, joinSimulatedAp, registerAp } from "../../host-tools/board-sim/air";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { DEFAULT_SETUP_URL, joinSetupNetwork } from "../../host-tools/phone/wifi-join";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-join-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const secret = new Uint8Array(20).map((_, i) => i * 13 + 7);

describe("the label string SEALCAM:1:<ssid>:<secret>", () => {
  test("round trip, the reader's leniency, and what it refuses", () => {
    const label = setupQrPayload("sealcam-4F2A", secret);
    expect(label).toMatch(/^SEALCAM:1:sealcam-4F2A:[0-9A-HJKMNP-TV-Z]{32}$/);
    expect(label.split(":")[3]).toBe(formatSetupSecret(secret).replace(/-/g, ""));
    const read = parseSetupLabel(`  ${label.toLowerCase().replace("sealcam-4f2a", "sealcam-4F2A")}\n`);
    expect(read.ssid).toBe("sealcam-4F2A");
    expect(Array.from(read.secret)).toEqual(Array.from(secret));
    const body = label.split(":")[3];
    for (const bad of [
      `SEALCAM:2:sealcam-4F2A:${body}`, `SEALCAM:1::${body}`, `SEALCAM:1:sealcam 4F2A:${body}`, `SEALCAM:1:sealcam-4F2A:${body.slice(1)}`,
      `SEALCAM:1:sealcam-4F2A:${body}:x`, `QRCAM:1:sealcam-4F2A:${body}`, `SEALCAM:1:sealcam-4F2A:${body.slice(1)}U`,
    ]) {
      let error: unknown;
      try {
        parseSetupLabel(bad);
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code).toBe("E_FORMAT");
      expect((error as Error).message).not.toContain(body.slice(4, 20));
    }
    expect(() => setupQrPayload("has:colon", secret)).toThrow(/access point name/);
    // Found inside a console line or a label file; a longer run of characters is not a label.
    expect(findSetupLabel(`uart> setup: qr ${label}\r\n`)).toBe(label);
    expect(findSetupLabel(`sealcam camera x\nsecret: ...\nqr: ${label}\n`)).toBe(label);
    expect(findSetupLabel(`qr: ${label}X`)).toBeUndefined();
    expect(findSetupLabel("nothing here")).toBeUndefined();
  });
});

describe("joining through NetworkManager", () => {
  const bin = path.join(tmp, "bin");
  const calls = path.join(tmp, "nmcli-calls");
  fs.mkdirSync(bin);
  // The fake records each argv (one JSON line) and, for `connection up ... passwd-file F`, F's mode and text.
  fs.writeFileSync(path.join(bin, "nmcli"), `#!${process.execPath}
const fs = require("fs");
const args = process.argv.slice(2);
const entry = { args };
const i = args.indexOf("passwd-file");
if (i >= 0) { const f = args[i + 1]; entry.fileMode = (fs.statSync(f).mode & 0o777).toString(8); entry.dirMode = (fs.statSync(require("path").dirname(f)).mode & 0o777).toString(8); entry.file = fs.readFileSync(f, "utf8"); entry.path = f; }
fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify(entry) + "\\n");
if (args.includes("up") && process.env.FAKE_NMCLI_FAIL) { process.stderr.write("Error: Connection activation failed: Secrets were required, but not provided.\\n"); process.exit(4); }
process.exit(0);
`, { mode: 0o755 });
  const env = { PATH: `${bin}:/usr/bin:/bin` };
  const password = deriveSetupKeys(new NodeCrypto(), secret).wifiPassword;
  const read = () => fs.readFileSync(calls, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { args: string[]; file?: string; fileMode?: string; dirMode?: string; path?: string });

  test("the password goes in a private file, never in nmcli's arguments; the profile is in memory only and deleted after", async () => {
    fs.rmSync(calls, { force: true });
    const result = await joinSetupNetwork("sealcam-4F2A", password, { env, airDir: path.join(tmp, "no-air") });
    expect(result.method).toBe("nmcli");
    expect(result.setupUrl).toBe(DEFAULT_SETUP_URL);
    await result.leave();
    const log = read();
    expect(log.map((c) => c.args.slice(0, 2).join(" "))).toEqual(["connection delete", "connection add", "--wait 45", "connection delete"]);
    for (const call of log) expect(call.args.join(" ")).not.toContain(password);
    const add = log[1].args;
    expect(add).toEqual(expect.arrayContaining(["save", "no", "ssid", "sealcam-4F2A", "wifi-sec.key-mgmt", "wpa-psk", "wifi-sec.psk-flags", "2"]));
    const up = log[2];
    expect(up.args).toEqual(["--wait", "45", "connection", "up", "id", "sealcam-4F2A", "passwd-file", up.path]);
    expect(up.file).toBe(`802-11-wireless-security.psk:${password}\n`);
    expect(up.fileMode).toBe("600");
    expect(up.dirMode).toBe("700");
    expect(fs.existsSync(up.path!)).toBe(false);
  });

  test("a failed activation is E_NETWORK with nmcli's reason and what to do; nothing is left behind", async () => {
    fs.rmSync(calls, { force: true });
    await expect(joinSetupNetwork("sealcam-4F2A", password, { env: { ...env, FAKE_NMCLI_FAIL: "1" }, airDir: path.join(tmp, "no-air") }))
      .rejects.toMatchObject({ code: "E_NETWORK", message: expect.stringContaining("Secrets were required, but not provided") });
    const log = read();
    expect(log.at(-1)!.args.slice(0, 2)).toEqual(["connection", "delete"]);
    expect(fs.existsSync(log[2].path!)).toBe(false);
  });

  test("no nmcli and no simulated air: says to join by hand", async () => {
    await expect(joinSetupNetwork("sealcam-4F2A", password, { env: { PATH: "/nonexistent" }, airDir: path.join(tmp, "no-air") }))
      .rejects.toThrow(/nmcli is not installed; join it with the password above/);
  });
});

describe("the simulated air", () => {
  test("holds a verifier, not the password; the right password joins and gives the address, a wrong one fails; a dead process's entry is gone", async () => {
    const air = path.join(tmp, "air");
    registerAp(air, { ssid: "sealcam-0001", address: "http://127.0.0.1:1234", verifier: airVerifier("sealcam-0001", "right-password-123") });
    const file = path.join(air, "sealcam-0001.json");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(air).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(file, "utf8")).not.toContain("right-password-123");
    expect(joinSimulatedAp(air, "sealcam-0001", "right-password-123")).toEqual({ address: "http://127.0.0.1:1234" });
    expect(() => joinSimulatedAp(air, "sealcam-0001", "wrong-password-123")).toThrow(/wrong password/);
    expect(() => joinSimulatedAp(air, "sealcam-0002", "right-password-123")).toThrow(/no such network in range/);
    // joinSetupNetwork prefers the simulated air when the SSID is on it.
    const joined = await joinSetupNetwork("sealcam-0001", "right-password-123", { env: { PATH: "/nonexistent" }, airDir: air });
    expect(joined).toMatchObject({ method: "simulated", setupUrl: "http://127.0.0.1:1234" });
    // A camera process that died without taking its AP down: the stale entry is dropped.
    const entry = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...entry, pid: 2 ** 22 + 12345 }), { mode: 0o600 });
    expect(findAp(air, "sealcam-0001")).toBeUndefined();
    expect(fs.existsSync(file)).toBe(false);
  });
});
