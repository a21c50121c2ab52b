/**
 * Runs inside XS with the camera's NativeCrypto (driven by test/sharing/xs-share.test.ts): the share envelope
 * vectors (test/vectors/share-v1) sealed again byte for byte by firmware/core/share-envelope.ts, opened to their
 * secrets, their refused variants refused with the same codes as in Node, and the clip share opening the clip
 * vector it names.
 */
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { openClip } from "../../firmware/core/clip";
import { parseClipHead } from "../../firmware/core/clip/head";
import { givenClipKeyUnwrapper } from "../../firmware/core/share-envelope";
import { openShareVector, reproduceShareVector, type ShareVector } from "../../firmware/testing/share-vectors";
import { ask, assert, assertThrowsCode, run, test } from "../xs/harness";

const crypto = new NativeCrypto();

interface ClipInputs { sealed: string; plaintext: string; camera_private: string; camera_cert_hash: string }

void (async () => {
  const vectors = JSON.parse(await ask<string>("share-vectors")) as ShareVector[];
  const clip = JSON.parse(await ask<string>("clip-vector")) as ClipInputs;

  for (const v of vectors) {
    test(`${v.name}: sealed again byte for byte in XS, opens to its secret`, async () => {
      const bytes = await reproduceShareVector(crypto, v);
      assert(toHex(bytes) === v.envelope, `${v.name}: the envelope differs`);
      assert(openShareVector(crypto, v) === v.secret, `${v.name}: opened to another secret`);
    });
    test(`${v.name}: every refused variant refused with its code`, () => {
      for (const x of v.refused) assertThrowsCode(() => openShareVector(crypto, v, x), x.expect, `${v.name}/${x.name}`);
    });
  }

  test("the clip share opens its clip vector in XS", () => {
    const v = vectors.find((x) => x.kind === "clip-share");
    assert(v !== undefined, "no clip-share vector");
    const sealed = fromHex(clip.sealed);
    const camera = crypto.p256Import(fromHex(clip.camera_private));
    const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(clip.camera_cert_hash) });
    const unwrapper = givenClipKeyUnwrapper(parseClipHead(sealed).header.recipients, fromHex(openShareVector(crypto, v)));
    assert(toHex(openClip({ crypto, camera: identity, unwrappers: [unwrapper] }, sealed).plaintext) === clip.plaintext, "plaintext differs");
  });

  await run();
})();
