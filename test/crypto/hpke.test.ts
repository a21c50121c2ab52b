/**
 * HPKE (firmware/core/hpke.ts) against RFC 9180 Appendix A.3.1 (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
 * AES-128-GCM, base mode) and against a second implementation, @hpke/core.
 */
import { CipherSuite, DhkemP256HkdfSha256, HkdfSha256, Aes128Gcm } from "@hpke/core";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import * as hpke from "../../firmware/core/hpke";
import { fromHex, toHex } from "../../firmware/core/bytes";

const crypto = new NodeCrypto();

// RFC 9180 A.3.1, published values.
const A31 = {
  info: "4f6465206f6e2061204772656369616e2055726e",
  ikmE: "4270e54ffd08d79d5928020af4686d8f6b7d35dbe470265f1f5aa22816ce860e",
  pkEm: "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
  skEm: "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb",
  ikmR: "668b37171f1072f3cf12ea8a236a45df23fc13b82af3609ad1e354f6ef817550",
  pkRm: "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0",
  skRm: "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2",
  key: "868c066ef58aae6dc589b6cfdd18f97e",
  baseNonce: "4e0bc5018beba4bf004cca59",
  pt: "4265617574792069732074727574682c20747275746820626561757479",
  aad0: "436f756e742d30",
  ct0: "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f39513434",
};

describe("RFC 9180 A.3.1", () => {
  test("DeriveKeyPair reproduces skEm/pkEm and skRm/pkRm", () => {
    const e = hpke.deriveKeyPair(crypto, fromHex(A31.ikmE));
    expect(toHex(crypto.p256Export(e))).toBe(A31.skEm);
    expect(toHex(crypto.p256PublicKey(e))).toBe(A31.pkEm);
    const r = hpke.deriveKeyPair(crypto, fromHex(A31.ikmR));
    expect(toHex(crypto.p256Export(r))).toBe(A31.skRm);
    expect(toHex(crypto.p256PublicKey(r))).toBe(A31.pkRm);
  });

  test("sender key schedule and first ciphertext match; the recipient opens it", () => {
    const ephemeral = hpke.deriveKeyPair(crypto, fromHex(A31.ikmE));
    const { enc, context } = hpke.setupSender(crypto, fromHex(A31.pkRm), fromHex(A31.info), { ephemeral });
    expect(toHex(enc)).toBe(A31.pkEm);
    expect(toHex(context.keyForTesting)).toBe(A31.key);
    expect(toHex(context.baseNonceForTesting)).toBe(A31.baseNonce);
    expect(toHex(context.seal(fromHex(A31.aad0), fromHex(A31.pt)))).toBe(A31.ct0);

    const recipient = crypto.p256Import(fromHex(A31.skRm));
    const rctx = hpke.setupRecipient(crypto, enc, recipient, fromHex(A31.info));
    expect(toHex(rctx.open(fromHex(A31.aad0), fromHex(A31.ct0)) as Uint8Array)).toBe(A31.pt);
  });

  test("a tampered ciphertext, wrong info or wrong key does not open", () => {
    const recipient = crypto.p256Import(fromHex(A31.skRm));
    const bad = fromHex(A31.ct0);
    bad[5] ^= 1;
    expect(() => hpke.openSingleShot(crypto, recipient, fromHex(A31.pkEm), fromHex(A31.info), fromHex(A31.aad0), bad)).toThrow(
      expect.objectContaining({ code: "E_UNWRAP" }),
    );
    expect(() =>
      hpke.openSingleShot(crypto, recipient, fromHex(A31.pkEm), fromHex("00"), fromHex(A31.aad0), fromHex(A31.ct0)),
    ).toThrow(expect.objectContaining({ code: "E_UNWRAP" }));
    const other = crypto.p256Generate();
    expect(() =>
      hpke.openSingleShot(crypto, other, fromHex(A31.pkEm), fromHex(A31.info), fromHex(A31.aad0), fromHex(A31.ct0)),
    ).toThrow(expect.objectContaining({ code: "E_UNWRAP" }));
  });

  test("an enc that is not a curve point is rejected as E_UNWRAP, not a crash", () => {
    const recipient = crypto.p256Import(fromHex(A31.skRm));
    const enc = fromHex(A31.pkEm);
    enc[64] ^= 1;
    expect(() => hpke.openSingleShot(crypto, recipient, enc, fromHex(A31.info), new Uint8Array(0), fromHex(A31.ct0))).toThrow(
      expect.objectContaining({ code: "E_UNWRAP" }),
    );
  });
});

describe("cross-check with @hpke/core", () => {
  const suite = new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

  test("@hpke/core opens what we seal (base mode)", async () => {
    const pair = await suite.kem.generateKeyPair();
    const pk = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
    const info = crypto.randomBytes(20);
    const pt = crypto.randomBytes(16);
    const { enc, ciphertext } = hpke.sealSingleShot(crypto, pk, info, new Uint8Array(0), pt);
    const opened = await suite.open({ recipientKey: pair.privateKey, enc: enc.slice().buffer, info: info.slice().buffer }, ciphertext.slice().buffer);
    expect(new Uint8Array(opened)).toEqual(pt);
  });

  test("we open what @hpke/core seals (base and PSK mode)", async () => {
    const recipient = crypto.p256Generate();
    const pk = crypto.p256PublicKey(recipient);
    const recipientPublicKey = await suite.kem.deserializePublicKey(pk.slice().buffer);
    const info = crypto.randomBytes(7);
    const pt = crypto.randomBytes(33);
    const sender = await suite.createSenderContext({ recipientPublicKey, info: info.slice().buffer });
    const ct = new Uint8Array(await sender.seal(pt.slice().buffer));
    expect(hpke.openSingleShot(crypto, recipient, new Uint8Array(sender.enc), info, new Uint8Array(0), ct)).toEqual(pt);

    const psk = { psk: crypto.randomBytes(32), pskId: crypto.randomBytes(8) };
    const pskSender = await suite.createSenderContext({
      recipientPublicKey,
      info: info.slice().buffer,
      psk: { key: psk.psk.slice().buffer, id: psk.pskId.slice().buffer },
    });
    const ct2 = new Uint8Array(await pskSender.seal(pt.slice().buffer));
    const ctx = hpke.setupRecipient(crypto, new Uint8Array(pskSender.enc), recipient, info, { psk });
    expect(ctx.open(new Uint8Array(0), ct2)).toEqual(pt);
    const wrong = hpke.setupRecipient(crypto, new Uint8Array(pskSender.enc), recipient, info, {
      psk: { psk: crypto.randomBytes(32), pskId: psk.pskId },
    });
    expect(wrong.open(new Uint8Array(0), ct2)).toBeNull();
  });
});
