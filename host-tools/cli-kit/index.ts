/**
 * The one argument library of every `sealcam` tool (docs/CLI.md). Built on `node:util` `parseArgs` with
 * `strict: true` and `allowPositionals`: it already refuses unknown options, options without their value and
 * values given to switches, adds no dependency (the host tools are bundled into one file and run where Node
 * alone is installed), and our tools need only flat options plus one level of subcommands, which this module
 * adds in ~100 lines. commander would bring its own help, error and exit behaviour that we would have to
 * override to keep one error form and one exit-code table.
 *
 * What every tool gets from `runTool`:
 *   - declared options (type, default, value name, help text), unknown options refused;
 *   - `-h`/`--help`: usage on stdout, exit 0; `--version`: `sealcam <tool> <version>` on stdout, exit 0;
 *   - one error form on stderr: `sealcam <tool>: <message> [CODE]` (CODE: the SealcamError code, E_ARGUMENT
 *     for usage errors), and the exit codes of EXIT below;
 *   - subcommands with their own options, positional arguments and help.
 */
import { parseArgs } from "node:util";
import { SealcamError } from "../../firmware/core/errors";
import { processIo, type CliIo } from "../serial/cli-io";
import pkg from "../../package.json";

/** The exit codes of every sealcam tool (docs/CLI.md, "Exit codes"). */
export const EXIT = {
  /** Done as asked (a service stopped by SIGINT/SIGTERM after a clean shutdown counts as done). */
  OK: 0,
  /** The operation failed (network, verification, refused by the camera or the cloud, ...); stderr says why. */
  FAILED: 1,
  /** Usage error: the command line is wrong or lacks something it needs (E_ARGUMENT); nothing was done. */
  USAGE: 2,
  /** Interrupted by Ctrl-C (SIGINT) before the operation finished, e.g. at a prompt (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

export const VERSION: string = (pkg as { version: string }).version;

/** A usage error: printed as `sealcam <tool>: message [E_ARGUMENT]`, exit 2. */
export class UsageError extends SealcamError {
  constructor(message: string) {
    super("E_ARGUMENT", message);
  }
}

/** Ctrl-C before the operation finished: exit 130. */
export class Interrupted extends Error {
  readonly code = "E_INTERRUPTED";
  constructor(message = "interrupted") {
    super(message);
  }
}

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** The value's name in the help text ("DIR"). */
  arg?: string;
  help: string;
  /** For tests and unusual setups: accepted, not shown in the help. */
  hidden?: boolean;
}
export type Options = Record<string, OptionSpec>;

export interface Args {
  readonly positionals: string[];
  readonly values: Record<string, string | boolean | string[] | undefined>;
  string(name: string): string | undefined;
  /** The option's value, or a usage error naming it. */
  required(name: string, why?: string): string;
  flag(name: string): boolean;
  list(name: string): string[];
  /** A whole number in min..max, or undefined when the option is absent. */
  int(name: string, min: number, max: number): number | undefined;
  /** A number in min..max, or undefined when the option is absent. */
  number(name: string, min: number, max: number): number | undefined;
}

export interface Context {
  io: CliIo;
  tool: string;
  /** A line on stdout. */
  out(line: string): void;
}

export interface Command {
  /** The subcommand's name; absent for a tool that is one command. */
  name?: string;
  summary: string;
  /** Positional synopsis after the options, e.g. "CLIP" or "[DAYS|off]". */
  args?: string;
  /** How many positional arguments (default none). */
  positionals?: { min: number; max: number };
  /** Options shown in the synopsis line as required, e.g. "--port PORT --board NAME". */
  synopsis?: string;
  options: Options;
  /** Text after the options in the help. */
  details?: string;
  run(args: Args, ctx: Context): Promise<number>;
}

export interface Tool {
  name: string;
  summary: string;
  /** One command, or subcommands. */
  commands: Command | Command[];
  /** Options every subcommand takes (e.g. phone --home/--cloud). */
  common?: Options;
  /** Options that would put a secret in argv: refused (exit 2) with the message, before anything runs. */
  refused?: Record<string, string>;
  /** Text at the end of the tool's help. */
  details?: string;
}

const BUILTIN: Options = {
  help: { type: "boolean", short: "h", help: "show this help" },
  version: { type: "boolean", help: "print the version" },
};

function optionLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.arg ?? "VALUE"}` : ""}`;
}

function formatOptions(options: Options): string[] {
  const shown = Object.entries(options).filter(([, o]) => !o.hidden);
  const width = Math.min(28, Math.max(...shown.map(([n, o]) => optionLabel(n, o).length)) + 2);
  const lines: string[] = [];
  for (const [name, o] of shown) {
    const label = optionLabel(name, o);
    const [first, ...rest] = o.help.split("\n");
    const dflt = o.default !== undefined && o.default !== false ? ` (default ${o.default})` : "";
    if (label.length + 2 > width) lines.push(`  ${label}`, `  ${"".padEnd(width)}${first}${rest.length ? "" : dflt}`);
    else lines.push(`  ${label.padEnd(width)}${first}${rest.length ? "" : dflt}`);
    rest.forEach((line, i) => lines.push(`  ${"".padEnd(width)}${line}${i === rest.length - 1 ? dflt : ""}`));
  }
  return lines;
}

function commandOptions(tool: Tool, command: Command): Options {
  return { ...command.options, ...(tool.common ?? {}), ...BUILTIN };
}

export function commandUsage(tool: Tool, command: Command): string {
  const name = `sealcam ${tool.name}${command.name ? " " + command.name : ""}`;
  const synopsis = [name, command.synopsis, "[options]", command.args].filter(Boolean).join(" ");
  const lines = [`usage: ${synopsis}`, "", command.summary, "", "options:", ...formatOptions(commandOptions(tool, command))];
  if (command.details) lines.push("", command.details);
  return lines.join("\n") + "\n";
}

export function toolUsage(tool: Tool): string {
  if (!Array.isArray(tool.commands)) return commandUsage(tool, tool.commands);
  const width = Math.max(...tool.commands.map((c) => (c.name! + (c.args ? " " + c.args : "")).length)) + 2;
  const lines = [`usage: sealcam ${tool.name} <command> [options]`, "", tool.summary, "", "commands:"];
  for (const c of tool.commands) lines.push(`  ${(c.name! + (c.args ? " " + c.args : "")).padEnd(width)}${c.summary.split("\n")[0]}`);
  if (tool.common) lines.push("", "options of every command:", ...formatOptions(tool.common));
  lines.push(...formatOptions(BUILTIN));
  lines.push("", `\`sealcam ${tool.name} <command> --help\` shows a command's options.`);
  if (tool.details) lines.push("", tool.details);
  return lines.join("\n") + "\n";
}

/** node's parseArgs messages, in our words. */
function parseError(error: unknown): UsageError {
  const e = error as { code?: string; message: string };
  const name = /'(-[^' ]+)/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option '${name}'`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return new UsageError(/does not take/.test(e.message) ? `option '${name}' takes no value` : `option '${name}' needs a value`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument '${/'([^']*)'/.exec(e.message)?.[1] ?? ""}'`);
    default:
      return new UsageError(e.message);
  }
}

function parse(options: Options, argv: string[]) {
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [name, o] of Object.entries(options)) {
    config[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  try {
    return parseArgs({ args: argv, options: config, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    throw parseError(error);
  }
}

function makeArgs(values: Record<string, unknown>, positionals: string[]): Args {
  const v = values as Record<string, string | boolean | string[] | undefined>;
  const string = (name: string) => {
    const value = v[name];
    return Array.isArray(value) ? value.at(-1) : typeof value === "string" ? value : undefined;
  };
  const number = (name: string, min: number, max: number, whole: boolean) => {
    const text = string(name);
    if (text === undefined) return undefined;
    const n = text.trim() === "" ? NaN : Number(text);
    if (!Number.isFinite(n) || n < min || n > max || (whole && !Number.isInteger(n))) {
      throw new UsageError(`--${name} must be a ${whole ? "whole number" : "number"} in ${min}..${max}, not '${text}'`);
    }
    return n;
  };
  return {
    positionals,
    values: v,
    string,
    required: (name, why) => string(name) ?? (() => { throw new UsageError(why ?? `--${name} is required`); })(),
    flag: (name) => v[name] === true,
    list: (name) => (Array.isArray(v[name]) ? (v[name] as string[]) : typeof v[name] === "string" ? [v[name] as string] : []),
    int: (name, min, max) => number(name, min, max, true),
    number: (name, min, max) => number(name, min, max, false),
  };
}

/** The code an error is reported with: its SealcamError (or errno) code, else E_INTERNAL. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^E[A-Z0-9_]+$/.test(code) ? code : "E_INTERNAL";
}

/** The exit code for an error (EXIT). */
export function exitCodeFor(error: unknown): number {
  const code = errorCode(error);
  if (code === "E_ARGUMENT") return EXIT.USAGE;
  if (code === "E_INTERRUPTED") return EXIT.INTERRUPTED;
  return EXIT.FAILED;
}

/** The one error form: `sealcam <tool>: <message> [CODE]` (no control characters from the message). */
export function formatError(tool: string, error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const clean = message.replace(/[\x00-\x09\x0b-\x1f\x7f]/g, "?");
  return `sealcam${tool ? " " + tool : ""}: ${clean} [${errorCode(error)}]`;
}

/** Prints an error in the one form and returns its exit code. */
export function report(io: CliIo, tool: string, error: unknown, hint?: string): number {
  io.stderr.write(formatError(tool, error) + "\n" + (hint ? hint + "\n" : ""));
  return exitCodeFor(error);
}

function refuseSecrets(refused: Record<string, string> | undefined, argv: string[]): void {
  for (const arg of argv) {
    if (arg === "--") break;
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name !== undefined && refused?.[name]) throw new UsageError(refused[name]);
  }
}

/**
 * Parses argv against options outside runTool (a tool that also offers its parsing as a function, e.g.
 * board-sim's boardOptions). Throws UsageError; --help/--version are not handled here.
 */
export function parseWith(options: Options, argv: string[], refused?: Record<string, string>): Args {
  refuseSecrets(refused, argv);
  const { values, positionals } = parse({ ...options, ...BUILTIN }, argv);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return makeArgs(values, positionals);
}

/**
 * Runs a tool: parses argv against its declared options (and subcommand), prints help or the version, or
 * runs the command; every error is printed once in the one form and mapped to EXIT.
 */
export async function runTool(tool: Tool, argv: string[], io: CliIo = processIo()): Promise<number> {
  const ctx: Context = { io, tool: tool.name, out: (line) => io.stdout.write(line + "\n") };
  let helpHint = `(\`sealcam ${tool.name} --help\` shows the usage)`;
  try {
    refuseSecrets(tool.refused, argv);
    let command: Command;
    let rest = argv;
    if (Array.isArray(tool.commands)) {
      // First pass: every option of every command, to find the command word among the arguments.
      const guess = argv.find((a) => (tool.commands as Command[]).some((c) => c.name === a));
      if (guess) helpHint = `(\`sealcam ${tool.name} ${guess} --help\` shows its options)`;
      const all: Options = { ...BUILTIN, ...(tool.common ?? {}) };
      for (const c of tool.commands) Object.assign(all, c.options);
      const first = parse(all, argv);
      const [name] = first.positionals;
      if (name === undefined) {
        if (first.values.help) return (io.stdout.write(toolUsage(tool)), EXIT.OK);
        if (first.values.version) return (io.stdout.write(`sealcam ${tool.name} ${VERSION}\n`), EXIT.OK);
        throw new UsageError(`missing command (${tool.commands.map((c) => c.name).join(", ")})`);
      }
      const found = tool.commands.find((c) => c.name === name);
      if (!found) throw new UsageError(`unknown command '${name}' (${tool.commands.map((c) => c.name).join(", ")})`);
      command = found;
      const at = first.tokens.find((t) => t.kind === "positional")!.index;
      rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
      helpHint = `(\`sealcam ${tool.name} ${name} --help\` shows its options)`;
    } else command = tool.commands;
    const { values, positionals } = parse(commandOptions(tool, command), rest);
    if (values.help) return (io.stdout.write(commandUsage(tool, command)), EXIT.OK);
    if (values.version) return (io.stdout.write(`sealcam ${tool.name} ${VERSION}\n`), EXIT.OK);
    const { min, max } = command.positionals ?? { min: 0, max: 0 };
    if (positionals.length > max) throw new UsageError(`unexpected argument '${positionals[max]}'`);
    if (positionals.length < min) throw new UsageError(`missing ${command.args ?? "argument"}`);
    return await command.run(makeArgs(values, positionals), ctx);
  } catch (error) {
    return report(io, tool.name, error, error instanceof UsageError ? helpHint : undefined);
  }
}
