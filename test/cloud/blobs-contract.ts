/**
 * The blob store contract (host-tools/cloud/blobs.ts), one suite for every body: the files body, the S3
 * body against s3rver (test/cloud/blobs.test.ts) and against Ceph's radosgw (test/cloud/blobs-rgw.test.ts).
 * Not a test file itself: the test files call describeBlobContract with their bodies.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import type { Readable } from "node:stream";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { removeOrphanBlobs, type BlobEntry, type BlobStore, type ClipState, type FinalizeInput } from "../../host-tools/cloud/blobs";
import { FileBlobStore } from "../../host-tools/cloud/blobs-files";
import { S3BlobStore, S3_MIN_PART, type S3BlobStoreOptions } from "../../host-tools/cloud/blobs-s3";
import { pattern } from "../helpers/pattern";

const TAG = 16;
export const sha = (b: Uint8Array) => nodeCrypto.createHash("sha256").update(b).digest("hex");
export const idOf = (n: string) => nodeCrypto.createHash("sha256").update(n).digest("hex").slice(0, 32);

/** Deterministic bytes: a pattern that differs per seed and per position (misplaced bytes show). */
export function bytes(length: number, seed: number): Buffer {
  return Buffer.from(pattern(length, seed));
}

export interface Clip {
  id: string;
  head: Buffer;
  segments: Buffer[];
  footer: Buffer;
  whole: Buffer;
  input: FinalizeInput;
}

/** A clip of `count` segments of segmentSize (+16), the last `lastLength` long. */
export function makeClip(name: string, segmentSize: number, count: number, lastLength: number): Clip {
  const seed = parseInt(idOf(name).slice(0, 6), 16);
  const head = bytes(437, seed);
  const segments = Array.from({ length: count }, (_, i) => bytes(i === count - 1 ? lastLength : segmentSize + TAG, seed + i + 1));
  const footer = bytes(64, seed + 9999);
  return {
    id: idOf(name), head, segments, footer,
    whole: Buffer.concat([head, ...segments, footer]),
    input: { headLength: head.length, segmentSize, headSha256: sha(head), segments: segments.map((s, index) => ({ index, length: s.length, sha256: sha(s) })), footer },
  };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Byte equality, reported briefly (length, first differing offset) rather than as a dump. */
export function sameBytes(actual: Uint8Array | null, expected: Uint8Array): void {
  expect(actual).not.toBeNull();
  const a = Buffer.from(actual as Uint8Array);
  let first = -1;
  for (let i = 0; i < Math.min(a.length, expected.length); i++) if (a[i] !== expected[i]) { first = i; break; }
  expect({ length: a.length, firstDifference: first }).toEqual({ length: expected.length, firstDifference: -1 });
}

export async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as { code?: string }).code ?? `untyped: ${(error as Error).message}`;
  }
  return "no error";
}

export async function collect(it: AsyncIterable<BlobEntry>): Promise<BlobEntry[]> {
  const out: BlobEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

export async function upload(store: BlobStore, clip: Clip, indices = clip.segments.map((_, i) => i)): Promise<void> {
  expect(await store.putHead(clip.id, clip.head)).toBe("new");
  for (const i of indices) await store.putSegment(clip.id, clip.input, i, clip.segments[i], clip.segments[i].length, sha(clip.segments[i]));
}

/** One body under test: how to open it (again, as after a crash) and what it holds, by name. */
export interface Body {
  open(options?: { minPartSize?: number }): Promise<BlobStore>;
  /** Every stored name (files: paths under the data folder; S3: keys under the prefix). */
  names(): Promise<string[]>;
  /** Leaves what a crash would leave after a clip was complete but before its upload was removed. */
  leaveParts(clip: Clip): Promise<void>;
}

/** Stores opened by the bodies, closed after each test. */
const opened: BlobStore[] = [];
export function track<T extends BlobStore>(store: T): T {
  opened.push(store);
  return store;
}
export async function closeTracked(): Promise<void> {
  for (const s of opened.splice(0)) await s.close();
}

let counter = 0;

/** The files body in a fresh folder under `root`. */
export function filesBody(root: string): Body {
  const dir = path.join(root, `data-${++counter}`);
  const walk = (d: string, rel: string): string[] =>
    fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [`${rel}${e.name}/`, ...walk(path.join(d, e.name), `${rel}${e.name}/`)] : [`${rel}${e.name}`])) : [];
  return {
    async open() {
      return track(FileBlobStore.open(dir));
    },
    async names() {
      return [...walk(path.join(dir, "clips"), "clips/"), ...walk(path.join(dir, "tmp"), "tmp/")];
    },
    async leaveParts(clip) {
      fs.mkdirSync(path.join(dir, "clips", clip.id)); // the upload's file was renamed; its folder stays
    },
  };
}

/** The S3 body under a fresh prefix of a server's bucket. */
export function s3Body(server: { bucket: string; storeOptions: Omit<S3BlobStoreOptions, "prefix"> }): Body {
  const prefix = `run/t${++counter}`;
  const raw = track(S3BlobStore.open({ ...server.storeOptions, prefix }));
  return {
    async open(options = {}) {
      return track(S3BlobStore.open({ ...server.storeOptions, prefix, ...options }));
    },
    async names() {
      const out = await raw.client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${prefix}/` }));
      return (out.Contents ?? []).map((o) => (o.Key as string).slice(prefix.length + 1));
    },
    async leaveParts(clip) {
      await raw.client.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}/uploads/${clip.id}/head`, Body: clip.head }));
    },
  };
}

/** The contract, for one body. */
export function describeBlobContract(name: string, makeBody: () => Body): void {
  describe(`blob store contract: ${name}`, () => {
    afterEach(closeTracked);
    let body: Body;
    let store: BlobStore;
    beforeEach(async () => {
      body = makeBody();
      store = await body.open();
    });

    test("stores an upload (segments in any order) and finalizes it into one clip; the upload's parts are gone", async () => {
      const clip = makeClip("basic", 1000, 5, 500);
      await upload(store, clip, [4, 2, 0, 3, 1]);
      sameBytes(await store.readHead(clip.id, clip.head.length), clip.head);
      expect(await store.clipSize(clip.id)).toBeNull();
      expect(await store.openClip(clip.id)).toBeNull();
      const stored = await store.storedSegments(clip.id, clip.input);
      if (stored !== null) expect([...stored.entries()].sort((a, b) => a[0] - b[0])).toEqual(clip.segments.map((s, i) => [i, s.length]));

      expect(await store.finalize(clip.id, clip.input)).toEqual({ size: clip.whole.length, stored: "new" });
      expect(await store.clipSize(clip.id)).toBe(clip.whole.length);
      const whole = (await store.openClip(clip.id))!;
      expect(whole.size).toBe(clip.whole.length);
      sameBytes(await readAll(whole.stream), clip.whole);
      sameBytes(await store.readHead(clip.id, clip.head.length), clip.head);
      expect(await body.names()).toEqual([`clips/${clip.id}.sealed`]);
    });

    test("a segment sent again is harmless; the same head is 'already', another head E_CONFLICT and changes nothing", async () => {
      const clip = makeClip("resend", 1000, 3, 1016);
      await upload(store, clip);
      await store.putSegment(clip.id, clip.input, 1, clip.segments[1], clip.segments[1].length, sha(clip.segments[1]));
      expect(await store.putHead(clip.id, clip.head)).toBe("already");
      const other = Buffer.from(clip.head);
      other[100] ^= 1;
      expect(await code(store.putHead(clip.id, other))).toBe("E_CONFLICT");
      sameBytes(await store.readHead(clip.id, clip.head.length), clip.head);
      await store.finalize(clip.id, clip.input);
      sameBytes(await readAll((await store.openClip(clip.id))!.stream), clip.whole);
      // Of a complete clip too.
      expect(await store.putHead(clip.id, clip.head)).toBe("already");
      expect(await code(store.putHead(clip.id, other))).toBe("E_CONFLICT");
    });

    test("a segment whose bytes are not what was declared is refused (E_AUTH, E_FORMAT) and never counts as stored", async () => {
      const clip = makeClip("bad-segment", 1000, 3, 700);
      await upload(store, clip, [0, 2]);
      const bad = Buffer.from(clip.segments[1]);
      bad[0] ^= 0xff;
      expect(await code(store.putSegment(clip.id, clip.input, 1, bad, bad.length, sha(clip.segments[1])))).toBe("E_AUTH");
      expect(await code(store.putSegment(clip.id, clip.input, 1, clip.segments[1].subarray(1), clip.segments[1].length, sha(clip.segments[1])))).toBe("E_FORMAT");
      expect(await code(store.putSegment(clip.id, clip.input, 1, clip.segments[1], clip.segments[1].length - 1, sha(clip.segments[1])))).toBe("E_FORMAT");
      // Whatever the refused bodies left, finalize does not take it for segment 1.
      expect(await code(store.finalize(clip.id, clip.input))).toBe("E_STATE");
      await store.putSegment(clip.id, clip.input, 1, clip.segments[1], clip.segments[1].length, sha(clip.segments[1]));
      await store.finalize(clip.id, clip.input);
      sameBytes(await readAll((await store.openClip(clip.id))!.stream), clip.whole);
    });

    test("finalize refuses (E_STATE) while a segment is missing, and changes nothing", async () => {
      const clip = makeClip("missing", 1000, 4, 1016);
      await upload(store, clip, [0, 1, 3]);
      const before = await body.names();
      let message = "";
      await store.finalize(clip.id, clip.input).catch((e: Error & { code: string }) => (message = `${e.code}: ${e.message}`));
      expect(message).toMatch(/^E_STATE: segment 2 is missing/);
      // A record list with a gap is refused before anything is read.
      const gap = { ...clip.input, segments: clip.input.segments.filter((s) => s.index !== 2) };
      expect(await code(store.finalize(clip.id, gap))).toBe("E_STATE");
      expect(await body.names()).toEqual(before);
      expect(await store.clipSize(clip.id)).toBeNull();
      sameBytes(await store.readHead(clip.id, clip.head.length), clip.head);
      // The head is checked too.
      expect(await code(store.finalize(clip.id, { ...clip.input, headSha256: sha(Buffer.from("another head")) }))).toBe("E_STATE");
      await store.putSegment(clip.id, clip.input, 2, clip.segments[2], clip.segments[2].length, sha(clip.segments[2]));
      expect((await store.finalize(clip.id, clip.input)).stored).toBe("new");
      sameBytes(await readAll((await store.openClip(clip.id))!.stream), clip.whole);
    });

    test("an upload resumes after a crash through a new store over the same storage; finalize again is 'already'", async () => {
      const clip = makeClip("resume", 1000, 5, 333);
      await upload(store, clip, [0, 1]);
      // The node dies (nothing closed, nothing flushed beyond what each call already made durable).
      const second = await body.open();
      sameBytes(await second.readHead(clip.id, clip.head.length), clip.head);
      expect(await second.putHead(clip.id, clip.head)).toBe("already");
      for (const i of [2, 3, 4]) await second.putSegment(clip.id, clip.input, i, clip.segments[i], clip.segments[i].length, sha(clip.segments[i]));
      expect((await second.finalize(clip.id, clip.input)).stored).toBe("new");
      // The reply was lost; the camera sends the footer again, to a third node.
      const third = await body.open();
      expect(await third.finalize(clip.id, clip.input)).toEqual({ size: clip.whole.length, stored: "already" });
      const otherFooter = Buffer.from(clip.footer);
      otherFooter[0] ^= 1;
      expect(await code(third.finalize(clip.id, { ...clip.input, footer: otherFooter }))).toBe("E_CONFLICT");
      sameBytes(await readAll((await third.openClip(clip.id))!.stream), clip.whole);
      expect(await code(third.putSegment(clip.id, clip.input, 4, clip.segments[4], clip.segments[4].length, sha(clip.segments[4])))).toBe("E_STATE");
    });

    test("a crash between completing a clip and removing its upload: finalize again removes the parts", async () => {
      const clip = makeClip("leftover", 1000, 2, 1016);
      await upload(store, clip);
      await store.finalize(clip.id, clip.input);
      await body.leaveParts(clip);
      expect((await collect(store.list())).map((e) => e.kind).sort()).toEqual(["clip", "upload"]);
      expect(await store.finalize(clip.id, clip.input)).toEqual({ size: clip.whole.length, stored: "already" });
      expect(await body.names()).toEqual([`clips/${clip.id}.sealed`]);
    });

    test("the footer sent to several nodes at once: every finalize answers, the clip is whole, the upload gone", async () => {
      const clip = makeClip("concurrent", 1000, 8, 1016);
      await upload(store, clip);
      const other = await body.open();
      const results = await Promise.all([store.finalize(clip.id, clip.input), other.finalize(clip.id, clip.input), store.finalize(clip.id, clip.input)]);
      expect(results.map((r) => r.size)).toEqual([clip.whole.length, clip.whole.length, clip.whole.length]);
      expect(results.filter((r) => r.stored === "new").length).toBeGreaterThanOrEqual(1);
      sameBytes(await readAll((await other.openClip(clip.id))!.stream), clip.whole);
      expect(await body.names()).toEqual([`clips/${clip.id}.sealed`]);
    });

    test("ranged reads of a complete clip", async () => {
      const clip = makeClip("ranges", 1000, 4, 900);
      await upload(store, clip);
      await store.finalize(clip.id, clip.input);
      const size = clip.whole.length;
      const h = clip.head.length;
      for (const [start, end] of [[0, 0], [h - 1, h + 1], [h + 1015, h + 1017], [1234, 2345], [size - 64, size - 1], [size - 1, size - 1]]) {
        const part = (await store.openClip(clip.id, { start, end }))!;
        expect(part.range).toEqual({ start, end });
        expect(part.size).toBe(size);
        sameBytes(await readAll(part.stream), clip.whole.subarray(start, end + 1));
      }
      const clipped = (await store.openClip(clip.id, { start: size - 10, end: 10 ** 9 }))!;
      expect(clipped.range).toEqual({ start: size - 10, end: size - 1 });
      sameBytes(await readAll(clipped.stream), clip.whole.subarray(size - 10));
      expect(await code(store.openClip(clip.id, { start: size, end: size + 5 }))).toBe("E_LIMIT");
      expect(await code(store.openClip(clip.id, { start: 5, end: 4 }))).toBe("E_FORMAT");
      expect(await store.openClip(idOf("no such clip"), { start: 0, end: 1 })).toBeNull();
    });

    test("delete leaves nothing: a complete clip, an upload in progress, twice", async () => {
      const done = makeClip("delete-done", 1000, 3, 1016);
      const partial = makeClip("delete-partial", 1000, 3, 1016);
      await upload(store, done);
      await store.finalize(done.id, done.input);
      await upload(store, partial, [0, 2]);
      for (const c of [done, partial]) await store.deleteClip(c.id);
      expect(await body.names()).toEqual([]);
      expect(await collect(store.list())).toEqual([]);
      for (const c of [done, partial]) {
        expect(await store.openClip(c.id)).toBeNull();
        expect(await store.readHead(c.id, c.head.length)).toBeNull();
        await store.deleteClip(c.id); // again: no error
      }
      expect(await code(store.putSegment(partial.id, partial.input, 1, partial.segments[1], partial.segments[1].length, sha(partial.segments[1])))).toBe("E_STATE");
      expect(await code(store.finalize(partial.id, partial.input))).toBe("E_STATE");
      expect(await body.names()).toEqual([]);
    });

    test("lists complete clips and uploads with their last change, for the orphan sweeper, and removes them", async () => {
      const t0 = Date.now() - 2000; // object stores keep whole seconds
      const done = makeClip("list-done", 1000, 2, 1016);
      const partial = makeClip("list-partial", 1000, 2, 1016);
      await upload(store, done);
      await store.finalize(done.id, done.input);
      await upload(store, partial, [1]);
      const entries = await collect(store.list());
      expect(entries.map((e) => [e.kind, e.clipId]).sort()).toEqual([["clip", done.id], ["upload", partial.id]]);
      for (const e of entries) {
        expect(e.lastModified).toBeGreaterThanOrEqual(t0);
        expect(e.lastModified).toBeLessThanOrEqual(Date.now() + 2000);
      }
      await store.removeEntry(entries.find((e) => e.kind === "upload")!);
      expect((await collect(store.list())).map((e) => e.clipId)).toEqual([done.id]);
      expect(await store.readHead(partial.id, partial.head.length)).toBeNull();
      await store.removeEntry(entries.find((e) => e.kind === "clip")!);
      expect(await collect(store.list())).toEqual([]);
      // Only entries it lists.
      expect(await code(store.removeEntry({ kind: "clip", clipId: done.id, key: "../../etc/passwd", lastModified: 0 }))).toBe("E_ARGUMENT");
    });

    test("the orphan sweep removes what no row accounts for, once older than the cutoff, and nothing else", async () => {
      const kept = makeClip("sweep-kept", 1000, 2, 1016); // complete, row complete
      const keptUpload = makeClip("sweep-uploading", 1000, 2, 1016); // uploading, row uploading
      const lost = makeClip("sweep-no-row", 1000, 2, 1016); // complete, no row
      const lostUpload = makeClip("sweep-upload-no-row", 1000, 2, 1016); // uploading, no row
      const leftover = makeClip("sweep-leftover", 1000, 2, 1016); // complete, row complete, parts left by a crash
      const notRecorded = makeClip("sweep-not-recorded", 1000, 2, 1016); // complete, row still "uploading" (crash before the row was updated)
      for (const c of [kept, lost, leftover, notRecorded]) {
        await upload(store, c);
        await store.finalize(c.id, c.input);
      }
      await upload(store, keptUpload, [1]);
      await upload(store, lostUpload, [0]);
      await body.leaveParts(leftover);
      const rows = new Map<string, ClipState>([[kept.id, "complete"], [keptUpload.id, "uploading"], [leftover.id, "complete"], [notRecorded.id, "uploading"]]);
      const stateOf = (id: string) => rows.get(id) ?? null;
      // Everything was just written: with the cutoff an hour ago nothing goes.
      const early = await removeOrphanBlobs(store, stateOf, Date.now() - 3600_000);
      expect(early).toEqual({ removed: { clip: 0, upload: 0, temp: 0, multipart: 0 }, recent: 3 });
      const swept = await removeOrphanBlobs(store, stateOf, Date.now() + 3600_000);
      expect(swept).toEqual({ removed: { clip: 1, upload: 2, temp: 0, multipart: 0 }, recent: 0 });
      expect((await body.names()).sort()).toEqual([kept, keptUpload, leftover, notRecorded].flatMap((c) =>
        c === keptUpload ? (store.kind === "files" ? [`clips/${c.id}/`, `clips/${c.id}/clip`] : [`uploads/${c.id}/head`, `uploads/${c.id}/seg-0000000001`]) : [`clips/${c.id}.sealed`]).sort());
      await store.finalize(notRecorded.id, notRecorded.input); // and the clip the row did not yet know is whole
    });

    test("a 12 MiB clip (a multipart upload on S3: parts of at least 5 MiB but the last)", async () => {
      const MiB = 1024 * 1024;
      const clip = makeClip("large", MiB, 12, 100_000);
      const requests: { command: string; partNumber?: number; length?: number }[] = [];
      if (store instanceof S3BlobStore) {
        store.client.middlewareStack.add((next, context) => async (args) => {
          const input = args.input as { PartNumber?: number; Body?: Uint8Array };
          requests.push({ command: context.commandName as string, partNumber: input.PartNumber, length: input.Body?.length });
          return next(args);
        }, { step: "initialize", name: "recordCommands" });
      }
      await upload(store, clip);
      expect((await store.finalize(clip.id, clip.input)).size).toBe(clip.whole.length);
      sameBytes(await readAll((await store.openClip(clip.id))!.stream), clip.whole);
      // Across the first part boundary.
      const part = (await store.openClip(clip.id, { start: S3_MIN_PART - 100, end: S3_MIN_PART + 5000 }))!;
      sameBytes(await readAll(part.stream), clip.whole.subarray(S3_MIN_PART - 100, S3_MIN_PART + 5001));
      if (store instanceof S3BlobStore) {
        expect(requests.filter((r) => r.command === "CreateMultipartUploadCommand")).toHaveLength(1);
        expect(requests.filter((r) => r.command === "CompleteMultipartUploadCommand")).toHaveLength(1);
        const parts = requests.filter((r) => r.command === "UploadPartCommand");
        expect(parts.map((p) => p.partNumber)).toEqual(parts.map((_, i) => i + 1));
        expect(parts.length).toBeGreaterThanOrEqual(2);
        for (const p of parts.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(S3_MIN_PART);
        expect(parts.reduce((n, p) => n + (p.length as number), 0)).toBe(clip.whole.length);
        expect(requests.some((r) => r.command === "PutObjectCommand" && r.length === clip.whole.length)).toBe(false);
      }
      expect(await body.names()).toEqual([`clips/${clip.id}.sealed`]);
    });

    test("bad input is refused with a typed error and changes nothing", async () => {
      const clip = makeClip("input", 1000, 2, 1016);
      expect(await code(store.putHead("../../x", clip.head))).toBe("E_FORMAT");
      expect(await code(store.putHead(clip.id.toUpperCase(), clip.head))).toBe("E_FORMAT");
      expect(await code(store.putSegment(clip.id, clip.input, 0, clip.segments[0], clip.segments[0].length, sha(clip.segments[0])))).toBe("E_STATE");
      expect(await code(store.putSegment(clip.id, clip.input, -1, clip.segments[0], clip.segments[0].length, sha(clip.segments[0])))).toBe("E_FORMAT");
      await upload(store, clip);
      const short = { ...clip.input, segments: clip.input.segments.map((s) => (s.index === 0 ? { ...s, length: 500 } : s)) };
      expect(await code(store.finalize(clip.id, short))).toBe("E_SEGMENT");
      expect(await code(store.finalize(clip.id, { ...clip.input, segments: [] }))).toBe("E_STATE");
      expect(await store.clipSize(clip.id)).toBeNull();
      expect((await store.finalize(clip.id, clip.input)).stored).toBe("new");
    });
  });
}
