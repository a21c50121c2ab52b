/**
 * The stream-key roster vector (test/vectors/roster-v1/stream-roster.json) in Node: it verifies, yields the
 * recipients and stream keys it records, streamRecipientsFor makes the recorded decisions, and the refused
 * rosters are refused with their codes. test/sharing/xs-stream.test.ts does the same in XS.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { verifyRoster } from "../../firmware/core/roster";
import { streamRecipientsFor } from "../../firmware/core/stream-scope";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import type { RosterVector } from "../vectors/roster-vectors";
import type { ClipVector } from "../../firmware/testing/clip-vectors";

const crypto = new NodeCrypto();
const VECTORS = path.join(__dirname, "..", "vectors");
const v = JSON.parse(fs.readFileSync(path.join(VECTORS, "roster-v1", "stream-roster.json"), "utf8")) as RosterVector;
const clip = JSON.parse(fs.readFileSync(path.join(VECTORS, "clip-v1", "ok-stream-recipient.json"), "utf8")) as ClipVector;

test("the roster verifies and yields the recorded recipients and stream keys", () => {
  const r = verifyRoster(crypto, fromHex(v.roster), fromHex(v.root), { minVersion: v.version, accountId: v.account_id });
  expect(r.recipients.map((x) => `${x.kind}:${toHex(x.keyId)}`)).toEqual(v.recipients);
  expect(r.streamKeys.map((k) => ({ key_id: toHex(k.keyId), scope: k.scope }))).toEqual(v.stream_keys);
  expect(r.streamKeys.map((k) => k.scope.holder)).toEqual(expect.arrayContaining(["share:alice", "cloud"]));
});

test("streamRecipientsFor makes every recorded decision", () => {
  const r = verifyRoster(crypto, fromHex(v.roster), fromHex(v.root), { minVersion: v.version });
  expect(v.queries.length).toBeGreaterThanOrEqual(8);
  for (const q of v.queries) expect([q.why, streamRecipientsFor(r, q).map((x) => toHex(x.keyId))]).toEqual([q.why, q.key_ids]);
});

test("the TDSK is the clip vector's stream key, and the clip vector's capture time is in its scope", () => {
  const r = verifyRoster(crypto, fromHex(v.roster), fromHex(v.root), { minVersion: v.version });
  const chosen = streamRecipientsFor(r, { cameraId: clip.params.cameraId, stream: "video", captureTime: clip.params.startTime });
  expect(chosen.map((x) => toHex(x.keyId))).toEqual([clip.stream_key_id]);
});

test.each(v.refused.map((x) => [x.name, x] as const))("refused roster %s", (_name, x) => {
  expect(() => verifyRoster(crypto, fromHex(x.roster), fromHex(v.root), { minVersion: 1 })).toThrow(expect.objectContaining({ code: x.expect }));
});
