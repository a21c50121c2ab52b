/**
 * `sealcam board-sim` options: no secret on the command line (issue 10, finding 7). The home Wi-Fi password
 * comes from a file (--wifi-password-file) or SEALCAM_WIFI_PASSWORD, never from argv, where `ps` shows it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { boardOptions } from "../../host-tools/board-sim/cli";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-bsim-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("--wifi-password on the command line is refused, with the way to pass it instead", () => {
  const result = boardOptions(["--data", tmp, "--wifi-ssid", "home", "--wifi-password", "hunter22"], {});
  expect(typeof result).toBe("string");
  expect(result as string).toMatch(/--wifi-password-file/);
  expect(result as string).toMatch(/SEALCAM_WIFI_PASSWORD/);
  expect(result as string).not.toContain("hunter22");
});

test("the Wi-Fi password comes from a file (first line) or from SEALCAM_WIFI_PASSWORD", () => {
  const file = path.join(tmp, "wifi.txt");
  fs.writeFileSync(file, "correct horse battery\n", { mode: 0o600 });
  const fromFile = boardOptions(["--data", tmp, "--wifi-ssid", "home", "--wifi-password-file", file], {});
  if (typeof fromFile === "string") throw new Error(fromFile);
  expect(fromFile.network).toMatchObject({ ssid: "home", password: "correct horse battery" });
  const fromEnv = boardOptions(["--data", tmp, "--wifi-ssid", "home"], { SEALCAM_WIFI_PASSWORD: "from the env" });
  if (typeof fromEnv === "string") throw new Error(fromEnv);
  expect(fromEnv.network.password).toBe("from the env");
  const none = boardOptions(["--data", tmp], {});
  if (typeof none === "string") throw new Error(none);
  expect(none.network.password).toBeUndefined();
  expect(boardOptions(["--data", tmp, "--wifi-password-file", path.join(tmp, "missing")], {})).toMatch(/cannot read --wifi-password-file/);
});
