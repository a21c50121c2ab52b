/**
 * The checked-in sealed-clip vectors (test/vectors/clip-v1, made by `make vectors`): the sealer reproduces
 * every valid one byte for byte, the opener accepts them with either key, and rejects every broken one with
 * exactly the error code the vector names. test/xs/ runs the same vectors inside XS with the native module.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { rsaOaepUnwrapper } from "../../host-tools/platform/rsa-unwrapper";
import { openClip, hpkeUnwrapper, streamKeyUnwrapper, type OpenerOptions } from "../../firmware/core/clip";
import { fromHex, toHex } from "../../firmware/core/bytes";
import { SealcamError } from "../../firmware/core/errors";
import { resealVector, type ClipVector } from "../../firmware/testing/clip-vectors";

const DIR = path.join(__dirname, "..", "vectors", "clip-v1");
const crypto = new NodeCrypto();
const vectors: ClipVector[] = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith(".json") && f !== "keys.json")
  .map((f) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8")) as ClipVector);

function options(v: ClipVector, use: "phone" | "data" | "both" | "stream"): OpenerOptions {
  const unwrappers = [];
  if (use === "stream") unwrappers.push(streamKeyUnwrapper(crypto, fromHex(v.stream_key_id!), crypto.p256Import(fromHex(v.stream_private!))));
  else {
  if (use !== "data") unwrappers.push(hpkeUnwrapper(crypto, fromHex(v.phone_key_id), crypto.p256Import(fromHex(v.phone_private))));
  if (use !== "phone") {
    const key = nodeCrypto.createPrivateKey({ key: Buffer.from(fromHex(v.data_private_pkcs8)), format: "der", type: "pkcs8" });
    unwrappers.push(rsaOaepUnwrapper(fromHex(v.data_key_id), key));
  }
  }
  const camera = crypto.p256Import(fromHex(v.camera_private));
  return { crypto, camera: () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(v.camera_cert_hash) }), unwrappers };
}

const valid = vectors.filter((v) => v.expect === "ok");
const invalid = vectors.filter((v) => v.expect !== "ok");

test("the vector set covers valid clips and every failure class", () => {
  expect(valid.length).toBeGreaterThanOrEqual(5);
  expect(valid.filter((v) => v.stream_private !== undefined).map((v) => v.name)).toEqual(["ok-stream-recipient"]);
  const codes = new Set(invalid.map((v) => v.expect));
  for (const code of ["E_FORMAT", "E_VERSION", "E_LIMIT", "E_SIGNATURE", "E_SEGMENT", "E_TRUNCATED", "E_TRAILING", "E_FOOTER", "E_COMMIT", "E_NO_RECIPIENT", "E_UNWRAP"]) {
    expect(codes).toContain(code);
  }
});

describe.each(valid.map((v) => [v.name, v] as const))("valid vector %s", (_name, v) => {
  test("the sealer reproduces it byte for byte (RSA-OAEP output replayed)", () => {
    expect(toHex(resealVector(crypto, v, true).sealed)).toBe(v.sealed);
  });

  test("opens with the phone's instance key and with the account data key", () => {
    expect(toHex(openClip(options(v, "phone"), fromHex(v.sealed)).plaintext)).toBe(v.plaintext ?? "");
    expect(toHex(openClip(options(v, "data"), fromHex(v.sealed)).plaintext)).toBe(v.plaintext ?? "");
  });

  test("sealed again with real RSA-OAEP randomness, it differs (a new RSA entry changes the signed head) and still opens", () => {
    const { sealed } = resealVector(crypto, v, false);
    expect(toHex(sealed)).not.toBe(v.sealed);
    expect(toHex(openClip(options(v, "data"), sealed).plaintext)).toBe(v.plaintext ?? "");
  });
});

describe.each(valid.filter((v) => v.stream_private !== undefined).map((v) => [v.name, v] as const))("valid vector with a stream key %s", (_name, v) => {
  test("opens with its stream key; that stream key opens none of the clips not sealed to it (E_NO_RECIPIENT)", () => {
    expect(toHex(openClip(options(v, "stream"), fromHex(v.sealed)).plaintext)).toBe(v.plaintext ?? "");
    for (const other of valid.filter((o) => o.stream_private === undefined)) {
      expect(() => openClip(options({ ...other, stream_private: v.stream_private, stream_key_id: v.stream_key_id }, "stream"), fromHex(other.sealed))).toThrow(expect.objectContaining({ code: "E_NO_RECIPIENT" }));
    }
  });
});

describe.each(invalid.map((v) => [v.name, v] as const))("broken vector %s", (_name, v) => {
  test(`is rejected with ${v.expect}`, () => {
    let caught: unknown;
    try {
      openClip(options(v, "both"), fromHex(v.sealed));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SealcamError);
    expect((caught as SealcamError).code).toBe(v.expect);
  });
});
