/**
 * Secrets for the CLI, never from argv (visible to every user in `ps`): `--<x>-file F`, then an environment
 * variable (for scripts), then a hidden prompt when stdin is a terminal; otherwise E_ARGUMENT naming the ways.
 */
import * as fs from "node:fs";
import { SealcamError } from "../../firmware/core/errors";
import { Interrupted } from "./index";

/**
 * Reads a secret typed on the terminal without echoing it (raw mode for as long as it reads; backspace
 * works; Ctrl-C or Ctrl-D cancels with Interrupted, exit 130). The terminal is restored in every case.
 */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    output.write(question);
    input.setRawMode(true);
    input.resume();
    const finish = () => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003" || ch === "\u0004") {
          finish();
          reject(new Interrupted("cancelled at the prompt; nothing was changed"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on("data", onData);
  });
}

export interface SecretSource {
  /** What it is, for the prompt and messages: "the account sign-in password". */
  what: string;
  /** The file given with the option (its first line is the secret), if any. */
  file?: string;
  /** The option that names the file, for messages: "--password-file". */
  fileOption: string;
  /** The environment variable. */
  env: string;
}

/** A secret from the file, the environment, or a hidden prompt on a terminal (in that order). */
export async function readSecret(
  source: SecretSource,
  options: { env?: Record<string, string | undefined>; stdin?: NodeJS.ReadStream; stderr?: NodeJS.WritableStream; confirm?: boolean } = {},
): Promise<string> {
  if (source.file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(source.file, "utf8");
    } catch (error) {
      throw new SealcamError("E_ARGUMENT", `cannot read ${source.what} from ${source.fileOption} ${source.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return text.split(/\r?\n/)[0].trim();
  }
  const value = (options.env ?? process.env)[source.env];
  if (value) return value;
  const stdin = options.stdin ?? process.stdin;
  if (stdin.isTTY && typeof stdin.setRawMode === "function") {
    const stderr = options.stderr ?? process.stderr;
    const typed = await promptHidden(`${source.what} (not shown): `, stdin, stderr);
    if (!typed) throw new SealcamError("E_ARGUMENT", `${source.what} is empty; nothing was changed`);
    if (options.confirm && (await promptHidden(`${source.what} again, to confirm: `, stdin, stderr)) !== typed) {
      throw new SealcamError("E_ARGUMENT", `the two ${source.what} entries differ; nothing was changed`);
    }
    return typed;
  }
  throw new SealcamError("E_ARGUMENT", `${source.what} needed: pass ${source.fileOption} FILE, set ${source.env}, or run this on a terminal to type it`);
}
