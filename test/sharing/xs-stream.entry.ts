/**
 * Runs inside XS with the camera's NativeCrypto (driven by test/sharing/xs-stream.test.ts): the stream-key
 * roster vector (test/vectors/roster-v1) verified and queried exactly as in Node — the camera's decision of
 * which stream keys a clip is wrapped to — and a clip sealed here from that decision, opened with the stream
 * key in XS and handed to Node to open with the same key.
 */
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { concat, constantTimeEqual, fromHex, toHex } from "../../firmware/core/bytes";
import { verifyRoster } from "../../firmware/core/roster";
import { streamRecipientsFor } from "../../firmware/core/stream-scope";
import { ClipSealer, openClip, streamKeyUnwrapper, hpkeUnwrapper } from "../../firmware/core/clip";
import { ask, assert, assertThrowsCode, run, test } from "../xs/harness";
import type { RosterVector } from "../vectors/roster-vectors";

const crypto = new NativeCrypto();


interface Keys {
  camera_private: string;
  stream_private: string;
  stream_key_id: string;
  phone_private: string;
}

void (async () => {
  const v = JSON.parse(await ask<string>("roster-vector")) as RosterVector;
  const keys = JSON.parse(await ask<string>("keys")) as Keys;
  const root = fromHex(v.root);
  const roster = verifyRoster(crypto, fromHex(v.roster), root, { minVersion: v.version, accountId: v.account_id });

  test("the stream-key roster verifies in XS: clip recipients and stream keys with their scopes", () => {
    const got = roster.recipients.map((r) => `${r.kind}:${toHex(r.keyId)}`);
    assert(got.join(",") === v.recipients.join(","), `recipients ${got.join(",")}`);
    assert(roster.streamKeys.length === v.stream_keys.length, "stream key count");
    for (let i = 0; i < v.stream_keys.length; i++) {
      const k = roster.streamKeys[i];
      assert(toHex(k.keyId) === v.stream_keys[i].key_id, `stream key ${i} id`);
      assert(JSON.stringify(k.scope) === JSON.stringify(v.stream_keys[i].scope), `stream key ${i} scope ${JSON.stringify(k.scope)}`);
    }
  });

  test("streamRecipientsFor decides in XS exactly as the vector says", () => {
    for (const q of v.queries) {
      const got = streamRecipientsFor(roster, q).map((r) => toHex(r.keyId));
      assert(got.join(",") === q.key_ids.join(","), `${q.why}: got [${got.join(",")}]`);
    }
  });

  test("refused rosters: forged stream certificate, another account's signature, stream key as a phone", () => {
    for (const r of v.refused) assertThrowsCode(() => verifyRoster(crypto, fromHex(r.roster), root, { minVersion: 1 }), r.expect, r.name);
  });

  test("a clip sealed in XS to the roster's recipients + its in-scope stream keys opens with the stream key, here and in Node", async () => {
    const camera = crypto.p256Import(fromHex(keys.camera_private));
    const captureTime = 1_790_000_000_000;
    const list = [...roster.recipients, ...streamRecipientsFor(roster, { cameraId: "cam-vector-1", stream: "video", captureTime })];
    assert(list.length === 3, `recipients ${list.length}`);
    const sealer = new ClipSealer({
      crypto, cameraKey: camera, cameraId: "cam-vector-1", cameraCertHash: crypto.sha256(fromHex("00")), sequence: 1, startTime: captureTime,
      contentType: "video/x-sealcam-frames", recipients: list, rosterVersion: roster.version, segmentSize: 4096,
    });
    const plaintext = crypto.randomBytes(5000);
    const parts = [sealer.head, ...sealer.write(plaintext).map((s) => s.bytes)];
    const end = sealer.finish();
    parts.push(end.segment.bytes, end.footer);
    const sealed = concat(...parts);
    const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: crypto.sha256(fromHex("00")) });
    const stream = streamKeyUnwrapper(crypto, fromHex(keys.stream_key_id), crypto.p256Import(fromHex(keys.stream_private)));
    assert(constantTimeEqual(openClip({ crypto, camera: identity, unwrappers: [stream] }, sealed).plaintext, plaintext), "XS stream open");
    // The phone key of the vectors is not in this roster: E_NO_RECIPIENT; the stream key used as a phone key: E_UNWRAP.
    const phone = hpkeUnwrapper(crypto, fromHex(keys.stream_key_id), crypto.p256Import(fromHex(keys.stream_private)));
    assertThrowsCode(() => openClip({ crypto, camera: identity, unwrappers: [phone] }, sealed), "E_UNWRAP", "stream entry opened as a phone's");
    const opened = await ask<Uint8Array>("open-with-stream-key", { sealed, camera: crypto.p256PublicKey(camera) });
    assert(constantTimeEqual(opened, plaintext), "Node stream open");
  });

  await run();
})();
