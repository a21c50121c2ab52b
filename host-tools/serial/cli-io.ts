/**
 * The streams a CLI talks to, injectable so tests run `main()` in-process with captured output and a scripted
 * stdin (and can claim to be a TTY). Defaults are the process's own.
 */
import type { Readable, Writable } from "node:stream";

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
}

/** Reads one line from stdin (for a y/N prompt); null at end of input. */
export function readLine(stdin: Readable): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = "";
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      const i = buf.search(/[\r\n]/);
      if (i >= 0) finish(buf.slice(0, i));
    };
    const onEnd = () => finish(buf.length > 0 ? buf : null);
    const finish = (line: string | null) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
      resolve(line);
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}
