/**
 * The S3 blob store against a real S3 implementation: Ceph's RADOS Gateway (Debian's radosgw) over a
 * one-node in-memory Ceph cluster started for this file (test/helpers/radosgw.ts, ~15 s). The same
 * contract as against s3rver, plus what s3rver does not implement: UploadPartCopy, S3's 5 MiB minimum
 * part, SigV4 signatures, listing and aborting unfinished multipart uploads.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand,
} from "@aws-sdk/client-s3";
import { openBlobStore, parseBlobsOption, removeOrphanBlobs } from "../../host-tools/cloud/blobs";
import { S3BlobStore, S3_MIN_PART } from "../../host-tools/cloud/blobs-s3";
import { startRadosgw, type RadosgwHandle } from "../helpers/radosgw";
import { closeTracked, code, collect, describeBlobContract, idOf, makeClip, readAll, s3Body, sameBytes, track, upload } from "./blobs-contract";

let rgw: RadosgwHandle;
beforeAll(async () => {
  rgw = await startRadosgw();
}, 90_000);
afterAll(async () => {
  await rgw?.stop();
});
afterEach(closeTracked);

describeBlobContract("s3 (radosgw)", () => s3Body(rgw));

describe("s3 body against radosgw: what s3rver cannot show", () => {
  const record = (store: S3BlobStore) => {
    const seen: { command: string; partNumber?: number; length?: number }[] = [];
    store.client.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { PartNumber?: number; Body?: Uint8Array };
      seen.push({ command: context.commandName as string, partNumber: input.PartNumber, length: input.Body?.length });
      return next(args);
    }, { step: "initialize", name: "recordCommands" });
    return seen;
  };

  test("the gateway refuses a part below 5 MiB that is not the last (EntityTooSmall): why finalize gathers pieces into parts", async () => {
    const store = track(S3BlobStore.open({ ...rgw.storeOptions, prefix: "too-small" }));
    const Key = "too-small/x";
    const { UploadId } = await store.client.send(new CreateMultipartUploadCommand({ Bucket: rgw.bucket, Key }));
    const parts = [];
    for (const PartNumber of [1, 2]) {
      const out = await store.client.send(new UploadPartCommand({ Bucket: rgw.bucket, Key, UploadId, PartNumber, Body: Buffer.alloc(100_000, PartNumber) }));
      parts.push({ PartNumber, ETag: out.ETag });
    }
    let name = "no error";
    await store.client.send(new CompleteMultipartUploadCommand({ Bucket: rgw.bucket, Key, UploadId, MultipartUpload: { Parts: parts } })).catch((e: Error) => (name = e.name));
    expect(name).toBe("EntityTooSmall");
    await store.client.send(new AbortMultipartUploadCommand({ Bucket: rgw.bucket, Key, UploadId }));
  });

  test("pieces of at least 5 MiB are copied server-side (UploadPartCopy) and the clip is byte for byte", async () => {
    const store = track(S3BlobStore.open({ ...rgw.storeOptions, prefix: "copy" }));
    const seen = record(store);
    // Segments of 5 MiB + 16 (larger than the clip format allows; the store does not care): segment 0 joins
    // the head's part, segment 1 is copied, segment 2 and the footer are the last part.
    const clip = makeClip("rgw-copy", S3_MIN_PART, 3, 1000);
    await upload(store, clip);
    await store.finalize(clip.id, clip.input);
    expect(seen.filter((r) => r.command === "UploadPartCopyCommand").map((r) => r.partNumber)).toEqual([2]);
    expect(seen.filter((r) => r.command === "UploadPartCommand").map((r) => r.partNumber)).toEqual([1, 3]);
    sameBytes(await readAll((await store.openClip(clip.id))!.stream), clip.whole);
    const tail = (await store.openClip(clip.id, { start: clip.whole.length - 2000, end: clip.whole.length - 1 }))!;
    sameBytes(await readAll(tail.stream), clip.whole.subarray(clip.whole.length - 2000));
  }, 60_000);

  test("an unfinished multipart upload (a crash inside finalize) is listed; the sweep aborts it, and so does a delete", async () => {
    const prefix = "crash";
    const store = track(S3BlobStore.open({ ...rgw.storeOptions, prefix }));
    const ids = [idOf("rgw-crash-1"), idOf("rgw-crash-2")];
    for (const id of ids) {
      const Key = `${prefix}/clips/${id}.sealed`;
      const { UploadId } = await store.client.send(new CreateMultipartUploadCommand({ Bucket: rgw.bucket, Key }));
      await store.client.send(new UploadPartCommand({ Bucket: rgw.bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(S3_MIN_PART, 1) }));
    }
    const listed = await collect(store.list());
    expect(listed.map((e) => [e.kind, e.clipId]).sort()).toEqual(ids.map((id) => ["multipart", id]).sort());
    expect(listed.every((e) => typeof e.uploadId === "string" && e.lastModified > Date.now() - 600_000)).toBe(true);
    expect((await removeOrphanBlobs(store, () => null, Date.now() - 600_000)).recent).toBe(2); // within the grace: kept
    await store.deleteClip(ids[0]);
    expect((await collect(store.list())).map((e) => e.clipId)).toEqual([ids[1]]);
    expect((await removeOrphanBlobs(store, () => null, Date.now() + 600_000)).removed.multipart).toBe(1);
    const left = await store.client.send(new ListMultipartUploadsCommand({ Bucket: rgw.bucket, Prefix: `${prefix}/` }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  test("the gateway checks SigV4 signatures: a wrong secret is refused at open, typed", async () => {
    const wrong = { ...rgw.storeOptions.credentials, secretAccessKey: "0".repeat(40) };
    let message = "";
    await S3BlobStore.connect({ ...rgw.storeOptions, credentials: wrong, prefix: "x" }).catch((e: Error & { code: string }) => (message = `${e.code}: ${e.message}`));
    expect(message).toMatch(/^E_STORAGE: the object store refused to list .* \(SignatureDoesNotMatch\)/);
    // And through --blobs/--s3-endpoint with the credentials in the environment.
    process.env.AWS_ACCESS_KEY_ID = rgw.storeOptions.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = rgw.storeOptions.credentials.secretAccessKey;
    try {
      const store = track(await openBlobStore(parseBlobsOption(`s3://${rgw.bucket}/env`, "/nonexistent", rgw.endpoint)));
      const clip = makeClip("rgw-env", 1000, 2, 10);
      await upload(store, clip);
      expect((await store.finalize(clip.id, clip.input)).size).toBe(clip.whole.length);
      expect(await code(store.openClip(clip.id, { start: clip.whole.length, end: clip.whole.length }))).toBe("E_LIMIT");
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
