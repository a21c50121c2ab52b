/**
 * This disk's rate for the cloud's per-segment write patterns, in a plain synchronous Node loop (the reference
 * the cloud ingest figures are divided by):
 *  - tmp_fsync_rename: open a new temp file, write the segment, fsync, close, rename into place, fsync the dir
 *    (what the cloud did per segment before it wrote each byte once);
 *  - pwrite_fdatasync: write the segment at its offset in the clip's one file, fdatasync (what it does now).
 */
import * as fs from "node:fs";
import * as path from "node:path";

export function diskReference(dir: string, segmentBytes: number, msEach: number): { tmp_fsync_rename_mb_s: number; pwrite_fdatasync_mb_s: number } {
  fs.mkdirSync(dir, { recursive: true });
  const data = Buffer.alloc(segmentBytes, 0x5a);
  const rate = (fn: (i: number) => void) => {
    const t0 = performance.now();
    let i = 0;
    while (performance.now() - t0 < msEach) fn(i++);
    return +((i * segmentBytes) / 1e6 / ((performance.now() - t0) / 1000)).toFixed(1);
  };
  const dirFsync = () => {
    const fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  };
  const tmpFsyncRename = rate((i) => {
    const tmp = path.join(dir, `up-${i}`);
    const fd = fs.openSync(tmp, "wx", 0o600);
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(dir, `seg-${i}`));
    dirFsync();
  });
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name));
  const file = path.join(dir, "clip");
  const fd = fs.openSync(file, "w", 0o600);
  const pwrite = rate((i) => {
    fs.writeSync(fd, data, 0, data.length, (i % 320) * segmentBytes); // 20 MiB clips, then the next
    fs.fdatasyncSync(fd);
  });
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  return { tmp_fsync_rename_mb_s: tmpFsyncRename, pwrite_fdatasync_mb_s: pwrite };
}
