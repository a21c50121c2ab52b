/**
 * CLI conformance (issue 11 item 4, docs/CLI.md): every `sealcam` tool, run as users run it (`make cli`, then
 * `node dist/sealcam.cjs ...` in a child process), answers --help (usage on stdout, exit 0), --version
 * (`sealcam <tool> <version>`, exit 0), refuses an unknown option (exit 2, `sealcam <tool>: unknown option
 * '--x' [E_ARGUMENT]`, nothing on stdout) and a missing required argument (exit 2, the same error form).
 * Also: the config home (`phone use`: 0700 folder, 0600 file; flag > env > config.json) and --json listings.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildCli, ROOT, sealcam, type Run } from "./harness";

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
let tmp: string;
let env: Record<string, string | undefined>;

beforeAll(() => {
  buildCli();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cli-conf-"));
  // A config home of our own, and none of the user's phone settings.
  env = { XDG_CONFIG_HOME: path.join(tmp, "config"), SEALCAM_PHONE_HOME: undefined, SEALCAM_CLOUD: undefined, SEALCAM_LOGIN_PASSWORD: undefined };
}, 150_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The one error form, on the first line of stderr. */
const ERROR_FORM = /^sealcam( [a-z-]+)?: \S.* \[E_[A-Z_]+\]$/;

function expectUsageError(r: Run, tool: string, message: string | RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  const first = r.stderr.split("\n")[0];
  expect(first).toMatch(ERROR_FORM);
  expect(first.startsWith(`sealcam${tool ? " " + tool : ""}: `)).toBe(true);
  expect(first.endsWith(" [E_ARGUMENT]")).toBe(true);
  if (typeof message === "string") expect(first).toBe(`sealcam${tool ? " " + tool : ""}: ${message} [E_ARGUMENT]`);
  else expect(first).toMatch(message);
}

/** Every tool, how to call it (a subcommand for tools that have them), and a call missing a required argument. */
const TOOLS: { tool: string; call: string[]; missing: string[]; says: string | RegExp }[] = [
  { tool: "cloud", call: ["cloud", "serve"], missing: ["cloud", "serve", "--port", "0"], says: "--data DIR is required" },
  { tool: "phone", call: ["phone", "clips"], missing: ["phone", "remove-phone", "--home", "/nonexistent", "--cloud", "http://127.0.0.1:9"], says: "missing KEYID" },
  { tool: "viewer", call: ["viewer", "clips"], missing: ["viewer", "open", "--home", "/nonexistent"], says: "missing CLIP" },
  { tool: "board-sim", call: ["board-sim"], missing: ["board-sim", "--engine", "node"], says: "--data DIR is required" },
  { tool: "flash", call: ["flash"], missing: ["flash", "--board", "xiao_esp32s3_sense"], says: /^sealcam flash: --port and --board are required/ },
  { tool: "ports", call: ["ports"], missing: ["ports", "--sys-root"], says: "option '--sys-root' needs a value" },
  { tool: "console", call: ["console"], missing: ["console", "--baud", "115200"], says: /^sealcam console: --port PORT is required/ },
  { tool: "sim", call: ["sim"], missing: ["sim", "--clips"], says: "option '--clips' needs a value" },
  { tool: "hw", call: ["hw", "platform"], missing: ["hw", "platform"], says: "missing BOARD" },
];

describe.each(TOOLS)("sealcam $tool", ({ tool, call, missing, says }) => {
  test("--help: usage on stdout, exit 0", async () => {
    for (const args of [[tool, "--help"], [...call, "--help"], [...call, "-h"]]) {
      const r = await sealcam(args, env);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(r.stdout).toMatch(new RegExp(`^usage: sealcam ${tool}\\b`));
      expect(r.stdout).toContain("--help");
    }
  });

  test("--version: 'sealcam <tool> <version>', exit 0", async () => {
    for (const args of [[tool, "--version"], [...call, "--version"]]) {
      const r = await sealcam(args, env);
      expect({ args, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ args, code: 0, stdout: `sealcam ${tool} ${VERSION}\n`, stderr: "" });
    }
  });

  test("an unknown option is refused: exit 2, one error line, nothing done", async () => {
    expectUsageError(await sealcam([...call, "--x"], env), tool, "unknown option '--x'");
    expectUsageError(await sealcam([...call, "--emial=a@b"], env), tool, "unknown option '--emial'");
  });

  test("a missing required argument: exit 2 in the error form", async () => {
    expectUsageError(await sealcam(missing, env), tool, says);
  });
});

test("sealcam itself: --help 0, --version 0, no tool / unknown tool / unknown option 2", async () => {
  const help = await sealcam(["--help"], env);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: sealcam <tool>/);
  for (const t of TOOLS) expect(help.stdout).toContain(`  ${t.tool} `);
  expect(await sealcam(["--version"], env)).toEqual({ code: 0, signal: null, stdout: `sealcam ${VERSION}\n`, stderr: "" });
  expectUsageError(await sealcam([], env), "", /^sealcam: missing tool \(/);
  expectUsageError(await sealcam(["frobnicate"], env), "", /^sealcam: unknown tool 'frobnicate'/);
  expectUsageError(await sealcam(["--x"], env), "", "unknown option '--x'");
});

test("subcommands: their own help, options of another command refused, unknown command", async () => {
  const help = await sealcam(["phone", "open", "--help"], env);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: sealcam phone open \[options\] CLIP/);
  expect(help.stdout).toContain("--max-bytes N");
  // --json belongs to listings, not to enroll.
  expectUsageError(await sealcam(["phone", "enroll", "--email", "a@example.org", "--json"], env), "phone", "unknown option '--json'");
  expectUsageError(await sealcam(["phone", "frobnicate"], env), "phone", /^sealcam phone: unknown command 'frobnicate' \(use, enroll, /);
  expectUsageError(await sealcam(["phone"], env), "phone", /^sealcam phone: missing command/);
  // A secret on the command line is refused before anything runs, and not echoed.
  const secret = await sealcam(["phone", "enroll", "--email", "a@example.org", "--password", "hunter2hunter2"], env);
  expectUsageError(secret, "phone", /--password is not accepted: .*\(ps\)/);
  expect(secret.stderr).not.toContain("hunter2");
});

test("config home: 'phone use' saves the phone (0700 folder, 0600 file); flag > env > config.json", async () => {
  const none = await sealcam(["phone", "clips"], env);
  expectUsageError(none, "phone", /^sealcam phone: no phone chosen: --home DIR and --cloud URL needed; choose one once with 'sealcam phone use/);

  const home = path.join(tmp, "phone-a");
  const use = await sealcam(["phone", "use", "--home", home, "--cloud", "http://127.0.0.1:9"], env);
  expect(use.code).toBe(0);
  const dir = path.join(tmp, "config", "sealcam");
  expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
  expect(fs.statSync(path.join(dir, "config.json")).mode & 0o777).toBe(0o600);
  expect(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))).toEqual({ phone: { home, cloud: "http://127.0.0.1:9" } });

  const shown = await sealcam(["phone", "use"], env);
  expect(shown.stdout).toBe(`home  ${home}  (from ${path.join(dir, "config.json")})\ncloud http://127.0.0.1:9  (from ${path.join(dir, "config.json")})\n`);
  // The saved phone is the one used: no --home/--cloud needed (it is not enrolled, and the error names it).
  const fromConfig = await sealcam(["phone", "clips"], env);
  expect(fromConfig.code).toBe(1);
  expect(fromConfig.stderr).toBe(`sealcam phone: no enrolled phone in ${home}: run 'sealcam phone enroll' or 'recover' first [E_STATE]\n`);
  // The environment overrides the file, a flag overrides both.
  const fromEnv = await sealcam(["phone", "use"], { ...env, SEALCAM_PHONE_HOME: path.join(tmp, "phone-env") });
  expect(fromEnv.stdout).toContain(`home  ${path.join(tmp, "phone-env")}  (from env)`);
  const fromFlag = await sealcam(["phone", "clips", "--home", path.join(tmp, "phone-flag")], { ...env, SEALCAM_PHONE_HOME: path.join(tmp, "phone-env") });
  expect(fromFlag.stderr).toContain(`no enrolled phone in ${path.join(tmp, "phone-flag")}`);
});

test("secrets: no file, no environment and no terminal: E_ARGUMENT naming the three ways, exit 2", async () => {
  const r = await sealcam(["phone", "enroll", "--email", "a@example.org", "--home", path.join(tmp, "phone-s"), "--cloud", "http://127.0.0.1:9"], env);
  expectUsageError(r, "phone", /^sealcam phone: the account sign-in password needed: pass --password-file FILE, set SEALCAM_LOGIN_PASSWORD, or run this on a terminal to type it/);
});

test("--json listings print JSON only on stdout", async () => {
  const sys = path.join(tmp, "sys");
  fs.mkdirSync(path.join(sys, "class", "tty"), { recursive: true });
  const r = await sealcam(["ports", "--json", "--sys-root", sys], env);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([]);
  expect(r.stderr).toBe("");
});
