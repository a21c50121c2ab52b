/**
 * The config home: `$XDG_CONFIG_HOME/sealcam` (default `~/.config/sealcam`), folder 0700, holding
 * `config.json` (0600) with the default phone (its `home` folder and its `cloud` URL), so a phone is chosen
 * once (`sealcam phone use --home DIR --cloud URL`). Precedence, first wins (docs/CLI.md):
 * command-line flag, then environment (SEALCAM_PHONE_HOME, SEALCAM_CLOUD), then config.json.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SealcamError } from "../../firmware/core/errors";

export interface SealcamConfig {
  phone?: { home?: string; cloud?: string };
}

type Env = Record<string, string | undefined>;

export function configDir(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), ".config");
  return path.join(base, "sealcam");
}

export function configFile(env: Env = process.env): string {
  return path.join(configDir(env), "config.json");
}

/** The config, or {} when there is none. A damaged file is an error naming it (never silently ignored). */
export function readConfig(env: Env = process.env): SealcamConfig {
  const file = configFile(env);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new SealcamError("E_STORAGE", `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as SealcamConfig;
  } catch (error) {
    throw new SealcamError("E_FORMAT", `${file} is not valid: ${(error as Error).message}; fix it or delete it and run 'sealcam phone use' again`);
  }
}

/** Writes the config atomically: folder 0700, file 0600 (also when they existed with wider modes). */
export function writeConfig(config: SealcamConfig, env: Env = process.env): string {
  const dir = configDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, "config.json");
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  return file;
}

export interface ChosenPhone {
  home: string;
  cloud: string;
  /** Where each came from: "flag", "env" or the config file's path. */
  from: { home: string; cloud: string };
}

/** The phone to use: flag, then SEALCAM_PHONE_HOME / SEALCAM_CLOUD, then config.json; else E_ARGUMENT. */
export function choosePhone(flags: { home?: string; cloud?: string }, env: Env = process.env): ChosenPhone {
  let config: SealcamConfig | undefined;
  const fromConfig = () => (config ??= readConfig(env)).phone ?? {};
  const pick = (flag: string | undefined, envName: string, key: "home" | "cloud"): [string, string] | undefined => {
    if (flag) return [flag, "flag"];
    if (env[envName]) return [env[envName]!, "env"];
    const value = fromConfig()[key];
    return typeof value === "string" && value ? [value, configFile(env)] : undefined;
  };
  const home = pick(flags.home, "SEALCAM_PHONE_HOME", "home");
  const cloud = pick(flags.cloud, "SEALCAM_CLOUD", "cloud");
  if (!home || !cloud) {
    const missing = [!home ? "--home DIR" : "", !cloud ? "--cloud URL" : ""].filter(Boolean).join(" and ");
    throw new SealcamError("E_ARGUMENT",
      `no phone chosen: ${missing} needed; choose one once with 'sealcam phone use --home DIR --cloud URL' (saved in ${configFile(env)}), ` +
      "or set SEALCAM_PHONE_HOME and SEALCAM_CLOUD");
  }
  return { home: home[0], cloud: cloud[0], from: { home: home[1], cloud: cloud[1] } };
}
