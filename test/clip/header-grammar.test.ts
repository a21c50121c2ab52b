/**
 * FORMAT §3: the header's camera id is exactly the camera id every other part of sealcam uses
 * (`[a-z0-9][a-z0-9-]{0,63}`, isCameraId), and the content type is an RFC 6838 restricted name in lower case.
 */
import { decodeHeader, parseClipHead } from "../../firmware/core/clip";
import { isCameraId } from "../../firmware/core/request-auth";
import { SealcamError } from "../../firmware/core/errors";
import { crypto, makeParty, seal, sealerOptions } from "../helpers/clip-fixture";

const party = makeParty();
const sealed = seal(sealerOptions(party), crypto.randomBytes(100)).whole;
const head = parseClipHead(sealed);
const text = new TextDecoder().decode(sealed.subarray(12, head.headLength - 64));

function codeOf(headerText: string): string {
  try {
    decodeHeader(new TextEncoder().encode(headerText));
    return "ok";
  } catch (error) {
    if (!(error instanceof SealcamError)) throw error;
    return error.code;
  }
}

const withCam = (cam: string) => text.replace('"cam":"cam-test-1"', () => `"cam":"${cam}"`);
const withType = (type: string) => text.replace('"type":"video/x-sealcam-frames"', () => `"type":"${type}"`);

test("camera id: the header accepts exactly what isCameraId accepts", () => {
  const good = ["a", "0", "cam-0123456789abcdef", "x".repeat(64), "a-", "9-z"];
  const bad = ["", "Cam-1", "CAM", "-cam", "cam.1", "cam_1", "cam 1", "x".repeat(65), "cam~1", "é"];
  for (const cam of good) expect([cam, isCameraId(cam), codeOf(withCam(cam))]).toEqual([cam, true, "ok"]);
  for (const cam of bad) {
    expect([cam, isCameraId(cam)]).toEqual([cam, false]);
    // Non-ASCII never reaches the grammar (canonical JSON strings are printable ASCII): E_FORMAT either way.
    expect([cam, codeOf(withCam(cam))]).toEqual([cam, "E_FORMAT"]);
  }
});

test("content type: lower-case RFC 6838 restricted names, type/subtype of 1..63 characters each", () => {
  const good = [
    "video/x-sealcam-frames", "a/b", "video/mp4", "application/vnd.example+json", "x/a!#$&^_.+-", "a.b+c/d_e",
    `${"t".repeat(63)}/${"s".repeat(63)}`, "0/9",
  ];
  const bad = [
    "", "video", "video/", "/mp4", "Video/mp4", "video/MP4", "video/mp4; codecs=avc1", "video/mp4;x", "video /mp4",
    "video/mp4/x", "-video/mp4", "video/.mp4", "x/!a", "_x/a", `${"t".repeat(64)}/s`, `t/${"s".repeat(64)}`, "video/mp4*", "video/m'p4",
    "video/m(p4", "video/m,p4", "video/m=p4", "video/m@p4", "video/m~p4", "video/m%p4", "video/m|p4",
  ];
  for (const type of good) expect([type, codeOf(withType(type))]).toEqual([type, "ok"]);
  for (const type of bad) expect([type, codeOf(withType(type))]).toEqual([type, "E_FORMAT"]);
});
