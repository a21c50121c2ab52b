/**
 * The share envelope vectors (test/vectors/share-v1, PROTOCOL §14.13) in Node: each envelope is sealed again
 * byte for byte from its inputs (the recorded PSS signature handed back), opens to its secret, passes the public
 * checks the cloud makes, and each refused variant fails with its code. The clip share opens the clip vector it
 * names. test/sharing/xs-share.test.ts does the same inside XS with the native module.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { openClip } from "../../firmware/core/clip";
import { parseClipHead } from "../../firmware/core/clip/head";
import {
  checkClipShareEnvelope, checkClipShareKeyEnvelope, checkShareEnvelope, givenClipKeyUnwrapper, parseClipShareEnvelope, parseClipShareKeyEnvelope,
  parseMailboxEnvelope, parseShareEnvelope,
} from "../../firmware/core/share-envelope";
import type { ClipVector } from "../../firmware/testing/clip-vectors";
import { openShareVector, reproduceShareVector, type ShareVector } from "../../firmware/testing/share-vectors";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const DIR = path.join(__dirname, "..", "vectors", "share-v1");
const vectors = fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort().map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")) as ShareVector);

test("three kinds, each with refused variants", () => {
  expect(vectors.map((v) => v.kind).sort()).toEqual(["clip-share", "clip-share-key", "share"]);
  for (const v of vectors) expect(v.refused.length).toBeGreaterThanOrEqual(3);
});

test.each(vectors.map((v) => [v.name, v] as const))("%s: sealed again byte for byte, opens to its secret, passes the public checks", async (_name, v) => {
  expect(toHex(await reproduceShareVector(crypto, v))).toBe(v.envelope);
  expect(openShareVector(crypto, v)).toBe(v.secret);
  const bytes = fromHex(v.envelope);
  if (v.kind === "share") {
    expect(() => checkShareEnvelope(crypto, parseShareEnvelope(bytes))).not.toThrow();
    expect(parseMailboxEnvelope(bytes).kind).toBe("stream");
  } else if (v.kind === "clip-share-key") {
    expect(() => checkClipShareKeyEnvelope(crypto, parseClipShareKeyEnvelope(bytes))).not.toThrow();
    expect(parseMailboxEnvelope(bytes).kind).toBe("clip-key");
  } else {
    expect(() => checkClipShareEnvelope(crypto, parseClipShareEnvelope(bytes))).not.toThrow();
    // Neither mailbox kind: a clip share envelope is never taken for a mailbox message.
    expect(() => parseMailboxEnvelope(bytes)).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  }
});

test.each(vectors.flatMap((v) => v.refused.map((x) => [`${v.name}/${x.name}`, v, x] as const)))("refused %s", (_name, v, x) => {
  expect(() => openShareVector(crypto, v, x)).toThrow(expect.objectContaining({ code: x.expect }));
});

test("the clip share opens the clip vector it names, with the opener's own checks (commitment, segments, footer)", () => {
  const v = vectors.find((x) => x.kind === "clip-share")!;
  const clip = JSON.parse(fs.readFileSync(path.join(DIR, "..", "clip-v1", `${v.clip!.vector}.json`), "utf8")) as ClipVector;
  const sealed = fromHex(clip.sealed);
  const camera = crypto.p256Import(fromHex(clip.camera_private));
  const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(clip.camera_cert_hash) });
  const clipKey = fromHex(openShareVector(crypto, v));
  const { plaintext, header } = openClip({ crypto, camera: identity, unwrappers: [givenClipKeyUnwrapper(parseRecipients(sealed), clipKey)] }, sealed);
  expect(toHex(plaintext)).toBe(clip.plaintext);
  expect(toHex(header.clipId)).toBe(v.clip!.clip_id);
  // Another key in its place fails the signed commitment.
  expect(() => openClip({ crypto, camera: identity, unwrappers: [givenClipKeyUnwrapper(parseRecipients(sealed), new Uint8Array(16))] }, sealed)).toThrow(expect.objectContaining({ code: "E_COMMIT" }));
});

function parseRecipients(sealed: Uint8Array) {
  return parseClipHead(sealed).header.recipients;
}
