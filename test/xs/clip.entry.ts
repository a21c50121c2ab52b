/**
 * Runs inside XS: the firmware's ClipSealer with NativeCrypto reproduces the checked-in clip vectors byte for
 * byte (RSA-OAEP output replayed), and a clip sealed in XS with real randomness is handed to Node to open.
 */
import { NativeCrypto } from "../../firmware/native/native-crypto";
import { constantTimeEqual, fromHex } from "../../firmware/core/bytes";
import { resealVector, type ClipVector } from "../../firmware/testing/clip-vectors";
import { openClip, hpkeUnwrapper, streamKeyUnwrapper } from "../../firmware/core/clip";
import * as hpke from "../../firmware/core/hpke";
import { ask, assert, assertHex, run, test } from "./harness";

const crypto = new NativeCrypto();

test("valid clip vectors: resealed in XS byte for byte, and XS-sealed clips open on the Node side", async () => {
  const vectors = JSON.parse(await ask<string>("clip-vectors")) as ClipVector[];
  assert(vectors.length >= 1, "no clip vectors");
  for (const v of vectors) {
    const again = resealVector(crypto, v, true).sealed;
    assert(constantTimeEqual(again, fromHex(v.sealed)), `${v.name}: XS reseal differs from the vector`);
    const fresh = resealVector(crypto, v, false).sealed;
    const opened = await ask<Uint8Array>("open-clip", { name: v.name, sealed: fresh });
    assert(constantTimeEqual(opened, fromHex(v.plaintext ?? "")), `${v.name}: Node did not recover the plaintext`);
  }
});

test("clips sealed on the Node side (the vectors) open in XS with the phone's key", async () => {
  const vectors = JSON.parse(await ask<string>("clip-vectors")) as ClipVector[];
  for (const v of vectors) {
    const camera = crypto.p256Import(fromHex(v.camera_private));
    const phone = hpkeUnwrapper(crypto, fromHex(v.phone_key_id), crypto.p256Import(fromHex(v.phone_private)));
    const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(v.camera_cert_hash) });
    const { plaintext } = openClip({ crypto, camera: identity, unwrappers: [phone] }, fromHex(v.sealed));
    assert(constantTimeEqual(plaintext, fromHex(v.plaintext ?? "")), `${v.name}: XS did not open the Node-sealed clip`);
  }
});

test("clips with a stream-key recipient (the vectors) open in XS with the stream key; the phone key refuses its entry", async () => {
  const vectors = (JSON.parse(await ask<string>("clip-vectors")) as ClipVector[]).filter((v) => v.stream_private !== undefined);
  for (const v of vectors) {
    const camera = crypto.p256Import(fromHex(v.camera_private));
    const identity = () => ({ publicKey: crypto.p256PublicKey(camera), certificateHash: fromHex(v.camera_cert_hash) });
    const streamKey = crypto.p256Import(fromHex(v.stream_private as string));
    const stream = streamKeyUnwrapper(crypto, fromHex(v.stream_key_id as string), streamKey);
    const { plaintext } = openClip({ crypto, camera: identity, unwrappers: [stream] }, fromHex(v.sealed));
    assert(constantTimeEqual(plaintext, fromHex(v.plaintext ?? "")), `${v.name}: XS did not open with the stream key`);
    let code = "none";
    try {
      openClip({ crypto, camera: identity, unwrappers: [hpkeUnwrapper(crypto, fromHex(v.stream_key_id as string), streamKey)] }, fromHex(v.sealed));
    } catch (error) {
      code = (error as { code?: string }).code ?? String(error);
    }
    assert(code === "E_UNWRAP", `${v.name}: the stream entry opened as a phone's gave ${code}`);
  }
});

test("RFC 9180 A.3.1 (DHKEM P-256, HKDF-SHA256, AES-128-GCM) in XS", () => {
  const e = hpke.deriveKeyPair(crypto, fromHex("4270e54ffd08d79d5928020af4686d8f6b7d35dbe470265f1f5aa22816ce860e"));
  assertHex(crypto.p256Export(e), "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb", "skEm");
  const r = hpke.deriveKeyPair(crypto, fromHex("668b37171f1072f3cf12ea8a236a45df23fc13b82af3609ad1e354f6ef817550"));
  const pkRm = "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0";
  assertHex(crypto.p256PublicKey(r), pkRm, "pkRm");
  const info = fromHex("4f6465206f6e2061204772656369616e2055726e");
  const { enc, context } = hpke.setupSender(crypto, fromHex(pkRm), info, { ephemeral: e });
  assertHex(enc, "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4", "enc");
  assertHex(context.keyForTesting, "868c066ef58aae6dc589b6cfdd18f97e", "key");
  assertHex(context.baseNonceForTesting, "4e0bc5018beba4bf004cca59", "base nonce");
  const ct0 = "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f39513434";
  assertHex(context.seal(fromHex("436f756e742d30"), fromHex("4265617574792069732074727574682c20747275746820626561757479")), ct0, "ct0");
  const recipient = hpke.setupRecipient(crypto, enc, r, info);
  assertHex(recipient.open(fromHex("436f756e742d30"), fromHex(ct0)), "4265617574792069732074727574682c20747275746820626561757479", "open");
});

void run();
