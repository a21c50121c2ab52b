/** Atomic file writes for clip bodies: temp file, fsync, rename, fsync the directory. */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";

export function writeFileAtomic(file: string, data: Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${nodeCrypto.randomBytes(6).toString("hex")}`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    let offset = 0;
    while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Concatenates `parts` into `file` atomically, one part in memory at a time. */
export function concatFilesAtomic(file: string, parts: (string | Uint8Array)[]): number {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.tmp-${process.pid}-${nodeCrypto.randomBytes(6).toString("hex")}`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  let total = 0;
  try {
    for (const part of parts) {
      const data = typeof part === "string" ? fs.readFileSync(part) : part;
      let offset = 0;
      while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
      total += data.length;
    }
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(dir);
  return total;
}
