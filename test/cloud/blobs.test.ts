/**
 * The blob stores (host-tools/cloud/blobs*.ts): the contract (blobs-contract.ts) against the files body in a
 * temp folder and the S3 body against s3rver (in this process, on loopback), and what is particular to each.
 * Real files, real HTTP, the real SDK; what s3rver cannot prove about real S3 is in docs/CLOUD-API.md
 * "Blob stores" (test/cloud/blobs-rgw.test.ts runs the contract against Ceph's radosgw too).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseBlobsOption, openBlobStore } from "../../host-tools/cloud/blobs";
import { FileBlobStore } from "../../host-tools/cloud/blobs-files";
import { S3BlobStore } from "../../host-tools/cloud/blobs-s3";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver";
import { closeTracked, code, collect, describeBlobContract, filesBody, makeClip, readAll, s3Body, sameBytes, sha, track, upload } from "./blobs-contract";

let s3: S3rverHandle;
let tmpRoot: string;
beforeAll(async () => {
  s3 = await startS3rver();
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-blobs-"));
});
afterAll(async () => {
  await s3.stop();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});
afterEach(closeTracked);

describeBlobContract("files", () => filesBody(tmpRoot));
describeBlobContract("s3 (s3rver)", () => s3Body(s3));

describe("files body: the data folder's layout, as the cloud always wrote it", () => {
  test("an upload is clips/<id>/clip with segments at their offsets; a complete clip is clips/<id>.sealed", async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, "layout-"));
    const store = FileBlobStore.open(dir);
    const clip = makeClip("layout", 1000, 3, 10);
    await upload(store, clip, [2, 0]);
    const part = fs.readFileSync(path.join(dir, "clips", clip.id, "clip"));
    sameBytes(part.subarray(0, clip.head.length), clip.head);
    sameBytes(part.subarray(clip.head.length, clip.head.length + 1016), clip.segments[0]);
    sameBytes(part.subarray(clip.head.length + 2 * 1016), clip.segments[2]);
    await store.putSegment(clip.id, clip.input, 1, clip.segments[1], 1016, sha(clip.segments[1]));
    await store.finalize(clip.id, clip.input);
    sameBytes(fs.readFileSync(path.join(dir, "clips", `${clip.id}.sealed`)), clip.whole);
    expect(fs.readdirSync(path.join(dir, "clips"))).toEqual([`${clip.id}.sealed`]);
    expect(fs.statSync(path.join(dir, "clips", `${clip.id}.sealed`)).mode & 0o077).toBe(0);
  });

  test("an upload begun by an older cloud (clips/<id>/head, seg-<n>) is read, resumed and finalized", async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, "legacy-"));
    const store = FileBlobStore.open(dir);
    const clip = makeClip("legacy", 1000, 3, 10);
    fs.mkdirSync(path.join(dir, "clips", clip.id));
    fs.writeFileSync(path.join(dir, "clips", clip.id, "head"), clip.head);
    fs.writeFileSync(path.join(dir, "clips", clip.id, "seg-0"), clip.segments[0]);
    fs.writeFileSync(path.join(dir, "clips", clip.id, "seg-2"), clip.segments[2]);
    sameBytes(await store.readHead(clip.id, clip.head.length), clip.head);
    expect(await store.putHead(clip.id, clip.head)).toBe("already");
    expect(await code(store.putHead(clip.id, clip.head.subarray(1)))).toBe("E_CONFLICT");
    await store.putSegment(clip.id, clip.input, 1, clip.segments[1], 1016, sha(clip.segments[1]));
    await store.finalize(clip.id, clip.input);
    sameBytes(fs.readFileSync(path.join(dir, "clips", `${clip.id}.sealed`)), clip.whole);
    expect(fs.readdirSync(path.join(dir, "clips"))).toEqual([`${clip.id}.sealed`]);
  });

  test("leftovers of interrupted writes are listed as temp and removed", async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, "temp-"));
    const store = FileBlobStore.open(dir);
    fs.writeFileSync(path.join(dir, "clips", ".tmp-1-abc"), "x");
    fs.writeFileSync(path.join(dir, "tmp", "up-1"), "x");
    fs.writeFileSync(path.join(dir, "clips", "README"), "not ours");
    const entries = await collect(store.list());
    expect(entries.map((e) => [e.kind, e.key]).sort()).toEqual([["temp", "clips/.tmp-1-abc"], ["temp", "tmp/up-1"]]);
    for (const e of entries) await store.removeEntry(e);
    expect(fs.readdirSync(path.join(dir, "clips"))).toEqual(["README"]);
    expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]);
  });
});

describe("s3 body: what only S3 has", () => {
  test("UploadPartCopy is asked for pieces that can be whole parts; s3rver does not implement it, so they are read", async () => {
    const MiB = 1024 * 1024;
    const prefix = "copy";
    // Parts of 1 MiB: below S3's minimum (s3rver does not enforce it), so 1 MiB segments qualify for copying.
    const store = S3BlobStore.open({ ...s3.storeOptions, prefix, minPartSize: MiB });
    track(store);
    const commands: string[] = [];
    store.client.middlewareStack.add((next, context) => async (args) => {
      commands.push(context.commandName as string);
      return next(args);
    }, { step: "initialize", name: "recordCommands" });
    const clip = makeClip("copy", MiB, 4, 1000);
    await upload(store, clip);
    await store.finalize(clip.id, clip.input);
    expect(commands.filter((c) => c === "UploadPartCopyCommand")).toHaveLength(1); // asked once, then not again
    sameBytes(await readAll((await store.openClip(clip.id))!.stream), clip.whole);
    const again = makeClip("copy-2", MiB, 3, 1000);
    await upload(store, again);
    await store.finalize(again.id, again.input);
    expect(commands.filter((c) => c === "UploadPartCopyCommand")).toHaveLength(1);
    sameBytes(await readAll((await store.openClip(again.id))!.stream), again.whole);
  });

  test("keys live under the prefix: uploads/<id>/head, uploads/<id>/seg-<10 digits>, clips/<id>.sealed", async () => {
    const body = s3Body(s3);
    const store = await body.open();
    const clip = makeClip("keys", 1000, 12, 1016);
    await upload(store, clip, [11, 0]);
    expect(await body.names()).toEqual([`uploads/${clip.id}/head`, `uploads/${clip.id}/seg-0000000000`, `uploads/${clip.id}/seg-0000000011`]);
  });
});

describe("--blobs and --s3-endpoint", () => {
  test("parses files and s3://bucket/prefix, refuses the rest with E_ARGUMENT", async () => {
    expect(parseBlobsOption(undefined, "/d")).toEqual({ kind: "files", dataDir: "/d" });
    expect(parseBlobsOption("files", "/d")).toEqual({ kind: "files", dataDir: "/d" });
    expect(parseBlobsOption("s3://my-bucket/a/b/", "/d")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "a/b" });
    expect(parseBlobsOption("s3://my-bucket", "/d", "http://127.0.0.1:9000/")).toEqual({ kind: "s3", bucket: "my-bucket", prefix: "", endpoint: "http://127.0.0.1:9000", forcePathStyle: true });
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as { code: string }).code;
      }
      return "accepted";
    };
    expect(refused(() => parseBlobsOption("s3://My_Bucket/x", "/d"))).toBe("E_ARGUMENT");
    expect(refused(() => parseBlobsOption("s3://bucket/a//b", "/d"))).toBe("E_ARGUMENT");
    expect(refused(() => parseBlobsOption("s3://bucket/../x", "/d"))).toBe("E_ARGUMENT");
    expect(refused(() => parseBlobsOption("gs://bucket", "/d"))).toBe("E_ARGUMENT");
    expect(refused(() => parseBlobsOption("files", "/d", "http://x"))).toBe("E_ARGUMENT");
    expect(refused(() => parseBlobsOption("s3://bucket", "/d", "ftp://x"))).toBe("E_ARGUMENT");
    expect(refused(() => parseBlobsOption("s3://bucket", "/d", "http://key:secret@x"))).toBe("E_ARGUMENT");
  });

  test("openBlobStore opens either body", async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, "open-"));
    const files = await openBlobStore(parseBlobsOption(undefined, dir));
    expect(files.kind).toBe("files");
    const clip = makeClip("open", 1000, 1, 100);
    await upload(files, clip);
    await files.close();
    process.env.AWS_ACCESS_KEY_ID = "S3RVER";
    process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";
    process.env.AWS_REGION = "us-east-1";
    try {
      const store = await openBlobStore(parseBlobsOption(`s3://${s3.bucket}/open`, dir, s3.endpoint));
      track(store);
      expect(store.kind).toBe("s3");
      await upload(store, clip);
      expect((await store.finalize(clip.id, clip.input)).size).toBe(clip.whole.length);
      // A bucket that is not there, or credentials the store refuses, show at open, typed.
      expect(await code(openBlobStore(parseBlobsOption("s3://no-such-bucket/x", dir, s3.endpoint)))).toBe("E_STORAGE");
      process.env.AWS_ACCESS_KEY_ID = "NOT-A-KEY"; // (s3rver checks the key id but not SigV4 signatures)
      expect(await code(openBlobStore(parseBlobsOption(`s3://${s3.bucket}/open`, dir, s3.endpoint)))).toBe("E_STORAGE");
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.AWS_REGION;
    }
  });
});
