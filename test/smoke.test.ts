import { p256 } from "@noble/curves/nist.js";
import { toBase64Url, fromBase64Url } from "../firmware/core/bytes";
test("esm deps load", () => {
  expect(p256.utils.randomSecretKey().length).toBe(32);
  expect(toBase64Url(fromBase64Url("AQID"))).toBe("AQID");
});
