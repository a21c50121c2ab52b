/**
 * Runs inside XS: the live-session vectors (test/vectors/live-v1) with the firmware's LiveSealer and LiveOpener
 * on NativeCrypto. The valid session is resealed byte for byte from its seed and opened by both its phones to
 * exactly its frames; every broken vector fails with its code at its message, as in Node.
 */
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { toHex } from "../../firmware/core/bytes";
import { runLiveVector, sealLiveSession, type LiveVector } from "../../firmware/testing/live-vectors";
import { ask, assert, note, run, test } from "./harness";

const crypto = new NativeCrypto();

async function vectors(): Promise<LiveVector[]> {
  const names = JSON.parse(await ask<string>("live-vector-names")) as string[];
  const out: LiveVector[] = [];
  for (const name of names) out.push(JSON.parse(await ask<string>("live-vector", name)) as LiveVector);
  return out;
}

test("valid live vectors: resealed in XS byte for byte from the seed", async () => {
  const valid = (await vectors()).filter((v) => v.expect === "ok");
  assert(valid.length >= 1, "no valid live vectors");
  for (const v of valid) {
    const messages = sealLiveSession(crypto, v);
    assert(messages.length === v.messages.length, `${v.name}: XS sealed ${messages.length} messages, the vector has ${v.messages.length}`);
    for (let i = 0; i < messages.length; i++) assert(toHex(messages[i]) === v.messages[i], `${v.name}: XS message ${i} differs from the vector`);
  }
});

test("valid live vectors: each phone and stream key opens them in XS to exactly their frames and a clean end", async () => {
  const valid = (await vectors()).filter((v) => v.expect === "ok");
  for (const v of valid) {
    for (const phone of [...v.phones, ...(v.streams ?? [])]) {
      const result = runLiveVector(crypto, { ...v, opener: phone });
      assert(result.code === "ok" && result.ended, `${v.name}: XS got ${result.code} at message ${result.at}`);
      assert(result.frames.length === v.frames.length, `${v.name}: XS released ${result.frames.length} frames, expected ${v.frames.length}`);
      for (let i = 0; i < v.frames.length; i++) {
        assert(result.frames[i].time === v.frames[i].time, `${v.name}: frame ${i} capture time`);
        assert(result.frames[i].jpeg === v.frames[i].jpeg, `${v.name}: frame ${i} JPEG bytes`);
      }
    }
  }
});

test("broken live vectors: each fails in XS with its code at its message", async () => {
  const broken = (await vectors()).filter((v) => v.expect !== "ok");
  assert(broken.length >= 10, "too few broken live vectors");
  for (const v of broken) {
    const result = runLiveVector(crypto, v);
    assert(result.code === v.expect, `${v.name}: XS got ${result.code}, expected ${v.expect}`);
    if (v.kind === "live") assert(result.at === v.fails_at, `${v.name}: XS failed at message ${result.at}, expected ${String(v.fails_at)}`);
    note(`${v.name}: ${result.code}`);
  }
});

void run();
