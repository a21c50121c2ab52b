/**
 * Stream keys inside XS with the native module (the camera's engine): the roster vector with stream keys
 * (test/vectors/roster-v1) verified and queried as in Node, its refused rosters refused with the same codes,
 * and a clip sealed in XS to the roster's in-scope stream key opened with that key in XS and in Node.
 * The clip vector with a stream recipient is resealed byte for byte in XS by test/xs/clip.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runInXs } from "../../host-tools/board-sim/board-sim";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { openClip, streamKeyUnwrapper } from "../../firmware/core/clip";
import { fromHex } from "../../firmware/core/bytes";
import type { ClipVector } from "../../firmware/testing/clip-vectors";

const crypto = new NodeCrypto();
const VECTORS = path.join(__dirname, "..", "vectors");
const rosterVector = fs.readFileSync(path.join(VECTORS, "roster-v1", "stream-roster.json"), "utf8");
const clip = JSON.parse(fs.readFileSync(path.join(VECTORS, "clip-v1", "ok-stream-recipient.json"), "utf8")) as ClipVector;

test("stream-key roster vector and a stream-key clip in XS (NativeCrypto)", async () => {
  const report = (await runInXs("test/sharing/xs-stream.entry.ts", {
    timeoutMs: 100000,
    handlers: {
      "roster-vector": () => rosterVector,
      keys: () => JSON.stringify({ camera_private: clip.camera_private, stream_private: clip.stream_private, stream_key_id: clip.stream_key_id, phone_private: clip.phone_private }),
      "open-with-stream-key": (params) => {
        const { sealed, camera } = params as { sealed: Uint8Array; camera: Uint8Array };
        const stream = streamKeyUnwrapper(crypto, fromHex(clip.stream_key_id!), crypto.p256Import(fromHex(clip.stream_private!)));
        return openClip({ crypto, camera: () => ({ publicKey: camera, certificateHash: crypto.sha256(fromHex("00")) }), unwrappers: [stream] }, sealed).plaintext;
      },
    },
  })) as { passed: string[]; failed: unknown[] };
  expect(report.failed).toEqual([]);
  expect(report.passed).toHaveLength(4);
}, 110000);
