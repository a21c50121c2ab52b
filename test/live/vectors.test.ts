/**
 * The checked-in live-session vectors (test/vectors/live-v1, made by `make vectors`, docs/FORMAT.md §12):
 * rebuilt from their fixed inputs they are the files byte for byte (the generator is deterministic); the valid
 * session opens for both its phones to exactly its frames (JPEG bytes and capture times) and ends cleanly; each
 * broken one fails with exactly its code at exactly its message. test/xs/live.test.ts runs them inside XS.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { parseClipHead } from "../../firmware/core/clip/head";
import { recipientValue } from "../../firmware/core/clip/header";
import { parseLiveHead } from "../../firmware/core/live";
import { runLiveVector, sealLiveSession, type LiveVector } from "../../firmware/testing/live-vectors";
import { buildLiveVectors } from "../vectors/live-vectors";

const DIR = path.join(__dirname, "..", "vectors", "live-v1");
const crypto = new NodeCrypto();
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();
const vectors: LiveVector[] = files.map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")) as LiveVector);
const valid = vectors.filter((v) => v.expect === "ok");
const invalid = vectors.filter((v) => v.expect !== "ok");

test("the vector set: a valid session of two phones, one of a phone and a stream key, and every failure class FORMAT §12.5 names", () => {
  expect(valid.map((v) => v.name)).toEqual(["ok-phone-and-stream", "ok-two-phones"]);
  expect(valid[0].streams).toHaveLength(1);
  expect(valid[0].streams![0].kind).toBe("stream");
  const ok = valid[1];
  expect(ok.phones).toHaveLength(2);
  expect(ok.messages).toHaveLength(1 + ok.frames.length + 1);
  expect(ok.frames).toHaveLength(3);
  const codes = new Set(invalid.map((v) => v.expect));
  for (const code of ["E_SESSION", "E_REORDER", "E_GAP", "E_REPLAY", "E_SEGMENT", "E_TRAILING", "E_SIGNATURE", "E_NO_RECIPIENT", "E_UNWRAP", "E_LIMIT", "E_TRUNCATED"]) {
    expect(codes).toContain(code);
  }
});

test("rebuilding the vectors from their inputs gives the checked-in files byte for byte", () => {
  const rebuilt = buildLiveVectors(crypto);
  expect(rebuilt.map((v) => `${v.name}.json`).sort()).toEqual(files);
  for (const v of rebuilt) expect(JSON.stringify(v, null, 1) + "\n").toBe(fs.readFileSync(path.join(DIR, `${v.name}.json`), "utf8"));
});

describe.each(valid.map((v) => [v.name, v] as const))("valid vector %s", (_name, v) => {
  test("the sealer reproduces every message byte for byte from the seed", () => {
    expect(sealLiveSession(crypto, v).map(toHex)).toEqual(v.messages);
  });

  test("each of its phones and stream keys opens it to exactly its frames (JPEG and capture time) and a clean end", () => {
    for (const phone of [...v.phones, ...(v.streams ?? [])]) {
      const result = runLiveVector(crypto, { ...v, opener: phone });
      expect(result).toEqual({ code: "ok", at: -1, frames: v.frames, ended: true });
    }
    expect(v.frames.every((f) => f.jpeg.startsWith("ffd8") && f.jpeg.endsWith("ffd9"))).toBe(true);
  });
});

describe.each(invalid.map((v) => [v.name, v] as const))("broken vector %s", (_name, v) => {
  test(`fails with ${v.expect}${v.kind === "live" ? ` at message ${String(v.fails_at)}` : " (opened as a clip)"}`, () => {
    const result = runLiveVector(crypto, v);
    expect(result.code).toBe(v.expect);
    if (v.kind === "live") {
      expect(result.at).toBe(v.fails_at);
      // What was released before the failure is the valid session's prefix, in order.
      expect(v.frames.slice(0, result.frames.length)).toEqual(result.frames);
    }
  });
});

test("live-wrap-as-clip-wrap carries exactly the valid session's live wrap for its phone, under the same key id", () => {
  const v = invalid.find((x) => x.name === "live-wrap-as-clip-wrap")!;
  const clipEntries = parseClipHead(fromHex(v.sealed!)).header.recipients;
  const twoPhones = valid.find((x) => x.name === "ok-two-phones")!;
  const liveEntries = parseLiveHead(fromHex(twoPhones.messages[0]).subarray(1)).header.recipients;
  const live = liveEntries.find((e) => toHex(e.kid) === v.opener.key_id)!;
  expect(clipEntries.map(recipientValue)).toEqual([recipientValue(live)]);
  // That wrap does open for this phone as a live wrap (the valid vector): only the label differs.
  expect(runLiveVector(crypto, { ...twoPhones, opener: v.opener }).code).toBe("ok");
});

test("stream vectors: the stream entry follows the phone's under its own algorithm; relabelled, only the entry and signature change", () => {
  const ok = valid.find((x) => x.name === "ok-phone-and-stream")!;
  const head = parseLiveHead(fromHex(ok.messages[0]).subarray(1)).header;
  expect(head.recipients.map((r) => `${r.alg}:${toHex(r.kid)}`)).toEqual([
    `hpke-p256-sha256-aes128gcm:${ok.phones[0].key_id}`, `hpke-p256-sha256-aes128gcm-stream:${ok.streams![0].key_id}`,
  ]);
  const relabelled = invalid.find((x) => x.name === "stream-entry-under-phone-label")!;
  const other = parseLiveHead(fromHex(relabelled.messages[0]).subarray(1)).header;
  expect({ ...other, recipients: other.recipients.slice(0, 1) }).toEqual({ ...head, recipients: head.recipients.slice(0, 1) });
  expect(recipientValue(other.recipients[1])).not.toEqual(recipientValue(head.recipients[1]));
  // The stream key, used as a phone key on its own entry, is refused too (the algorithm says stream).
  expect(runLiveVector(crypto, { ...ok, opener: { ...ok.streams![0], kind: undefined } }).code).toBe("E_UNWRAP");
});
