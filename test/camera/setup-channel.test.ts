/**
 * The setup channel on its own: both roles with NodeCrypto, the label secret's encoding and derivations,
 * and every way a bystander on the setup access point could try to get in.
 */
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import {
  SetupInitiator, SetupResponder, deriveSetupKeys, formatSetupSecret, generateSetupSecret, parseSetupSecret,
  setupQrPayload, SETUP_SECRET_BYTES, MAX_SETUP_BODY, MAX_TRANSPORT_PLAINTEXT,
} from "../../firmware/core/setup-channel";
import { asciiBytes, asciiString, toHex } from "../../firmware/core/bytes";
import { errorCode } from "../helpers/refusal";

const crypto = new NodeCrypto();

function code(fn: () => unknown): string {
  return errorCode(fn, "no error");
}

function handshake(phonePsk: Uint8Array, cameraPsk: Uint8Array) {
  const phone = new SetupInitiator(crypto, phonePsk);
  const camera = new SetupResponder(crypto, cameraPsk);
  const m1 = phone.hello(asciiBytes("hi"));
  const { payload, reply } = camera.readHello(m1, asciiBytes("camera-1"));
  const cameraInfo = phone.readReply(reply);
  const m3 = phone.confirm();
  const cameraSession = camera.readConfirm(m3);
  return { phone, camera, payload, cameraInfo, cameraSession, phoneSession: phone.session, m1, reply, m3 };
}

describe("label secret", () => {
  test("is 160 bits, printed as 8 groups of 4, and reads back however it is typed", () => {
    const secret = generateSetupSecret(crypto);
    expect(secret.length).toBe(SETUP_SECRET_BYTES);
    const text = formatSetupSecret(secret);
    expect(text).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(toHex(parseSetupSecret(text))).toBe(toHex(secret));
    expect(toHex(parseSetupSecret(text.toLowerCase().split("-").join(" ")))).toBe(toHex(secret));
    expect(toHex(parseSetupSecret(text.replace(/0/g, "O").replace(/1/g, "l")))).toBe(toHex(secret));
    expect(setupQrPayload("sealcam-ab12", secret)).toBe(`SEALCAM:1:sealcam-ab12:${text.split("-").join("")}`);
  });

  test("known encoding: all-zero and all-ones secrets", () => {
    expect(formatSetupSecret(new Uint8Array(20))).toBe("0000-0000-0000-0000-0000-0000-0000-0000");
    expect(formatSetupSecret(new Uint8Array(20).fill(255))).toBe("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
  });

  test("rejects the wrong length and foreign characters", () => {
    expect(code(() => parseSetupSecret("ABCD"))).toBe("E_FORMAT");
    expect(code(() => parseSetupSecret("U".repeat(32)))).toBe("E_FORMAT");
    expect(code(() => formatSetupSecret(new Uint8Array(16)))).toBe("E_ARGUMENT");
  });

  test("the Wi-Fi password and the PSK come from separate HKDF labels", () => {
    const secret = new Uint8Array(20).fill(7);
    const a = deriveSetupKeys(crypto, secret);
    const prk = crypto.hkdfExtract(asciiBytes("sealcam-setup/1"), secret);
    expect(toHex(a.psk)).toBe(toHex(crypto.hkdfExpand(prk, asciiBytes("sealcam-setup/1 psk"), 32)));
    expect(a.wifiPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(toHex(a.psk)).not.toContain(toHex(asciiBytes(a.wifiPassword)).slice(0, 16));
    expect(deriveSetupKeys(crypto, secret)).toEqual(a);
    expect(deriveSetupKeys(crypto, new Uint8Array(20).fill(8)).psk).not.toEqual(a.psk);
  });
});

describe("handshake", () => {
  const psk = deriveSetupKeys(crypto, generateSetupSecret(crypto)).psk;

  test("the largest plaintext makes a frame that exactly fills the setup API's body limit; one byte more is refused", () => {
    const { psk } = deriveSetupKeys(crypto, generateSetupSecret(crypto));
    const h = handshake(psk, psk);
    const frame = h.phoneSession.seal(new Uint8Array(MAX_TRANSPORT_PLAINTEXT).fill(0x20));
    expect(frame.length).toBe(MAX_SETUP_BODY);
    expect(h.cameraSession.open(frame).length).toBe(MAX_TRANSPORT_PLAINTEXT);
    expect(code(() => h.phoneSession.seal(new Uint8Array(MAX_TRANSPORT_PLAINTEXT + 1)))).toBe("E_LIMIT");
  });

  test("both sides end with the same session id and can talk both ways", () => {
    const h = handshake(psk, psk);
    expect(asciiString(h.payload)).toBe("hi");
    expect(asciiString(h.cameraInfo)).toBe("camera-1");
    expect(toHex(h.cameraSession.id)).toBe(toHex(h.phoneSession.id));
    expect(h.m1.length).toBe(2 + 65 + 2 + 16);
    const f1 = h.phoneSession.seal(asciiBytes("csr please"));
    expect(asciiString(h.cameraSession.open(f1))).toBe("csr please");
    const f2 = h.cameraSession.seal(asciiBytes("here"));
    expect(asciiString(h.phoneSession.open(f2))).toBe("here");
    // ciphertext does not carry the plaintext
    expect(toHex(f1)).not.toContain(toHex(asciiBytes("csr please")));
  });

  test("a phone with the wrong secret is refused at the first message", () => {
    const wrong = deriveSetupKeys(crypto, generateSetupSecret(crypto)).psk;
    const phone = new SetupInitiator(crypto, wrong);
    const camera = new SetupResponder(crypto, psk);
    expect(code(() => camera.readHello(phone.hello()))).toBe("E_AUTH");
    // the responder is spent after a failure
    expect(code(() => camera.readHello(phone.hello()))).toBe("E_STATE");
  });

  test("a camera impersonator without the secret cannot produce a reply the phone accepts", () => {
    const wrong = deriveSetupKeys(crypto, generateSetupSecret(crypto)).psk;
    const phone = new SetupInitiator(crypto, psk);
    const m1 = phone.hello();
    // the impersonator answers with its own key and a guessed secret
    const fake = new SetupResponder(crypto, wrong);
    expect(code(() => fake.readHello(m1))).toBe("E_AUTH");
    // or with a reply built for a different handshake
    const other = new SetupInitiator(crypto, psk);
    const replyForOther = new SetupResponder(crypto, psk).readHello(other.hello()).reply;
    expect(code(() => phone.readReply(replyForOther))).toBe("E_AUTH");
  });

  test("a replayed hello completes nothing: the replayer cannot confirm", () => {
    const h = handshake(psk, psk);
    const camera2 = new SetupResponder(crypto, psk);
    camera2.readHello(h.m1); // the tag verifies: the replay must be caught by the caller's seen-key list
    expect(toHex(camera2.peerEphemeral as Uint8Array)).toBe(toHex(h.m1.slice(2, 67)));
    // replaying the old confirmation does not match the new transcript
    expect(code(() => camera2.readConfirm(h.m3))).toBe("E_AUTH");
  });

  test("every flipped byte of every handshake message is rejected", () => {
    for (const which of ["m1", "reply", "m3"] as const) {
      const len = which === "m1" ? 2 + 65 + 16 : which === "reply" ? 2 + 65 + 16 : 2 + 16 + 23;
      for (let i = 0; i < len; i += 7) {
        const p = new SetupInitiator(crypto, psk);
        const c = new SetupResponder(crypto, psk);
        const a = p.hello();
        if (which === "m1") {
          const bad = a.slice(); bad[i] ^= 1;
          expect(["E_AUTH", "E_FORMAT", "E_VERSION"]).toContain(code(() => c.readHello(bad)));
          continue;
        }
        const { reply } = c.readHello(a);
        if (which === "reply") {
          const bad = reply.slice(); bad[i] ^= 1;
          expect(["E_AUTH", "E_FORMAT", "E_VERSION"]).toContain(code(() => p.readReply(bad)));
          continue;
        }
        p.readReply(reply);
        const m3 = p.confirm();
        const bad = m3.slice(); bad[i] ^= 1;
        expect(["E_AUTH", "E_FORMAT", "E_VERSION", "E_LIMIT"]).toContain(code(() => c.readConfirm(bad)));
      }
    }
  });

  test("transport frames: replay, reorder, tamper and cross-direction all fail and change nothing", () => {
    const h = handshake(psk, psk);
    const f0 = h.phoneSession.seal(asciiBytes("zero"));
    const f1 = h.phoneSession.seal(asciiBytes("one"));
    expect(code(() => h.cameraSession.open(f1))).toBe("E_AUTH"); // out of order
    expect(asciiString(h.cameraSession.open(f0))).toBe("zero");
    expect(code(() => h.cameraSession.open(f0))).toBe("E_AUTH"); // replay
    const tampered = f1.slice();
    tampered[tampered.length - 1] ^= 0x80;
    expect(code(() => h.cameraSession.open(tampered))).toBe("E_AUTH");
    expect(asciiString(h.cameraSession.open(f1))).toBe("one");
    // a frame the camera sent, reflected back to it
    const c0 = h.cameraSession.seal(asciiBytes("reflect"));
    expect(code(() => h.cameraSession.open(c0))).toBe("E_AUTH");
    // a frame from another session with the same secret
    const other = handshake(psk, psk);
    const foreign = other.phoneSession.seal(asciiBytes("x"));
    expect(code(() => h.cameraSession.open(foreign))).toBe("E_AUTH");
    expect(code(() => h.cameraSession.open(new Uint8Array([1, 0x10, 0, 0])))).toBe("E_FORMAT");
  });
});
