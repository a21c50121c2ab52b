/**
 * The phone's side of camera setup (docs/PROTOCOL.md, "Camera setup channel"; whitepaper "Enrolling a Ring
 * device", steps 2-3). The phone has joined the camera's setup access point; it:
 *   1. runs the setup handshake keyed by the label secret (a camera without that secret cannot answer);
 *   2. asks for the camera's certificate request over the sealed channel and checks its self-signature;
 *   3. issues the camera certificate with the account signing key (issueCameraCertificate);
 *   4. sends certificate + account root + current key roster + home Wi-Fi + cloud URL, and waits for the
 *      camera to confirm it stored them.
 * The camera then leaves setup mode, joins the Wi-Fi and registers itself with the cloud (step 4).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { fromBase64Url, toBase64Url, utf8Bytes, utf8String } from "../../firmware/core/bytes";
import { fail, SealcamError, type ErrorCode } from "../../firmware/core/errors";
import { deriveSetupKeys, parseSetupSecret, SetupInitiator, type SetupSession } from "../../firmware/core/setup-channel";
import { wipe } from "../../firmware/core/bytes";
import { NodeCrypto } from "../platform/node-crypto";
import { verifyRoster } from "../../firmware/core/roster";
import { issueCameraCertificate, type AccountSigningKey } from "./certs";
import { CloudClient } from "./client";
import type { Phone } from "./phone";

export interface AddCameraOptions {
  /** The camera's setup API, e.g. http://192.168.4.1 (soft AP) or http://127.0.0.1:PORT (simulator). */
  setupUrl: string;
  /** The label secret as printed (groups of 4, any case) or the QR payload "SEALCAM:1:<ssid>:<secret>". */
  secret: string;
  wifi: { ssid: string; password: string };
  cloudUrl: string;
  signer: AccountSigningKey;
  /** The account's current signed roster (DER). */
  roster: Uint8Array;
  /** Progress lines for a CLI (never secrets). */
  onProgress?: (step: string) => void;
  timeoutMs?: number;
  now?: number;
}

export interface AddCameraResult {
  cameraId: string;
  rosterVersion: number;
  certificate: Uint8Array;
}

interface Reply {
  status: number;
  body: Uint8Array;
}

function post(base: string, path: string, body: Uint8Array, timeoutMs: number): Promise<Reply> {
  const url = new URL(path, base.endsWith("/") ? base : base + "/");
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "application/octet-stream", "content-length": body.length }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new SealcamError("E_TIMEOUT", "camera setup request timed out")));
    req.on("error", (e: Error) => reject(e instanceof SealcamError ? e : new SealcamError("E_NETWORK", `cannot reach the camera setup API: ${e.message}`)));
    req.end(Buffer.from(body));
  });
}

/** Turns an error reply of the setup API ({"error":{code,message}}) into a SealcamError. */
function replyFail(reply: Reply, step: string): never {
  let code: ErrorCode = "E_NETWORK";
  let message = `${step}: camera answered ${reply.status}`;
  try {
    const parsed = JSON.parse(Buffer.from(reply.body).toString("utf8")) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) code = parsed.error.code as ErrorCode;
    if (parsed.error?.message) message = `${step}: ${parsed.error.message}`;
  } catch {
    // keep the status
  }
  return fail(code, message);
}

/** Accepts the printed text or the QR payload. */
export function secretFromLabel(text: string): Uint8Array {
  const qr = /^SEALCAM:1:[^:]*:([0-9A-Za-z]+)$/.exec(text.trim());
  return parseSetupSecret(qr ? qr[1] : text);
}

/** The phone end of an established setup channel: one sealed request, one sealed response. */
export class SetupClient {
  constructor(private readonly setupUrl: string, private readonly session: SetupSession, private readonly timeoutMs: number) {}

  async call(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const frame = this.session.seal(utf8Bytes(JSON.stringify(request)));
    const reply = await post(this.setupUrl, "setup/v1/message", frame, this.timeoutMs);
    if (reply.status !== 200) replyFail(reply, `setup ${String(request.op)}`);
    const response = JSON.parse(utf8String(this.session.open(reply.body))) as Record<string, unknown> & { ok?: boolean; error?: { code?: string; message?: string } };
    if (response.ok !== true) {
      fail((response.error?.code as ErrorCode) ?? "E_INTERNAL", `camera refused ${String(request.op)}: ${response.error?.message ?? "no reason given"}`);
    }
    return response;
  }

  close(): void {
    this.session.close();
  }
}

/** Runs the handshake; returns the channel and the camera's public facts from message 2. */
export async function openSetupChannel(setupUrl: string, secretText: string, timeoutMs = 15000): Promise<{ client: SetupClient; camera: Record<string, unknown> }> {
  const crypto = new NodeCrypto();
  const secret = secretFromLabel(secretText);
  const { psk } = deriveSetupKeys(crypto, secret);
  wipe(secret);
  const initiator = new SetupInitiator(crypto, psk);
  wipe(psk);
  const hello = await post(setupUrl, "setup/v1/hello", initiator.hello(), timeoutMs);
  if (hello.status !== 200) replyFail(hello, "setup hello");
  // E_AUTH here: the other side does not know the label secret (wrong camera or an impostor).
  const camera = JSON.parse(utf8String(initiator.readReply(hello.body))) as Record<string, unknown>;
  const confirm = await post(setupUrl, "setup/v1/confirm", initiator.confirm(), timeoutMs);
  if (confirm.status !== 204) replyFail(confirm, "setup confirm");
  return { client: new SetupClient(setupUrl, initiator.session, timeoutMs), camera };
}

export async function addCamera(options: AddCameraOptions): Promise<AddCameraResult> {
  const progress = options.onProgress ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 15000;
  progress("handshake with the camera (label secret)");
  const { client, camera } = await openSetupChannel(options.setupUrl, options.secret, timeoutMs);
  try {
    progress(`setup channel open to ${String(camera.ssid ?? "camera")}`);
    const csrReply = await client.call({ op: "csr" });
    if (typeof csrReply.csr !== "string") fail("E_FORMAT", "camera sent no certificate request");
    const issued = await issueCameraCertificate(fromBase64Url(csrReply.csr), options.signer, options.now);
    progress(`issued certificate for ${issued.cameraId}`);
    const done = await client.call({
      op: "provision",
      certificate: toBase64Url(issued.certificateDer),
      root: toBase64Url(options.signer.rootCertDer),
      roster: toBase64Url(options.roster),
      wifi: { ssid: options.wifi.ssid, password: options.wifi.password },
      cloudUrl: options.cloudUrl,
    });
    if (done.cameraId !== issued.cameraId) fail("E_STATE", "camera confirmed a different camera id");
    progress(`camera ${issued.cameraId} enrolled; it now joins "${options.wifi.ssid}"`);
    return { cameraId: issued.cameraId, rosterVersion: Number(done.rosterVersion), certificate: issued.certificateDer };
  } finally {
    client.close();
  }
}

/**
 * `sealcam phone add-camera` with an enrolled phone: the account signing key comes out of this phone's
 * backup (opened with its instance key), the roster from the cloud, verified against the phone's pinned root
 * and never older than the newest it has seen; the cloud URL is the phone's.
 */
export async function addCameraWithPhone(
  phone: Phone,
  options: { setupUrl: string; secret: string; wifi: { ssid: string; password: string }; onProgress?: (step: string) => void },
): Promise<AddCameraResult> {
  const state = phone.state();
  const crypto = new NodeCrypto();
  const client = new CloudClient(state.cloud, state.token);
  const { roster } = await client.json<{ roster: string }>("GET", "/v1/e2ee/roster");
  const rosterBytes = fromBase64Url(roster);
  verifyRoster(crypto, rosterBytes, fromBase64Url(state.rootCertificate), { minVersion: state.rosterVersion, accountId: state.accountId });
  const signer = await phone.unlockSigningKey();
  try {
    return await addCamera({ ...options, cloudUrl: state.cloud, signer, roster: rosterBytes });
  } finally {
    wipe(signer.pkcs8);
  }
}

export const ADD_CAMERA_USAGE =
  `add-camera --setup-url URL --wifi-ssid S [--secret-file F] [--wifi-password-file F]   enroll a camera in setup mode
                                       the label secret: --secret-file F (text, QR payload or a "secret: ..." line),
                                       SEALCAM_SETUP_SECRET, or typed (hidden) on a terminal; the Wi-Fi password:
                                       --wifi-password-file F, SEALCAM_WIFI_PASSWORD (empty: open network), or typed`;

/** Reads a secret typed on the terminal without echoing it. */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    output.write(question);
    input.setRawMode(true);
    input.resume();
    const finish = () => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003" || ch === "\u0004") {
          finish();
          reject(new SealcamError("E_ARGUMENT", "cancelled"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on("data", onData);
  });
}

/** The setup secret from a file: the label text, the QR payload, or the `secret: ...` line of a label file. */
export function secretFromFile(text: string): string {
  const line = /^secret:[ \t]*(.+)$/m.exec(text);
  return (line ? line[1] : text).trim();
}

/**
 * A secret for `add-camera`, never from argv: `--<name>-file F`, then the environment variable, then a
 * hidden prompt when stdin is a terminal; otherwise E_ARGUMENT naming the safe ways.
 */
async function secretInput(
  flags: Record<string, string | true>, fileFlag: string, env: string, what: string, options: { allowEmptyEnv: boolean; fromFile: (text: string) => string },
): Promise<string> {
  const file = flags[fileFlag];
  if (typeof file === "string") {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      return fail("E_ARGUMENT", `cannot read ${what} from ${file}: ${(error as Error).message}`);
    }
    return options.fromFile(text);
  }
  const value = process.env[env];
  if (value !== undefined && (value !== "" || options.allowEmptyEnv)) return value;
  if (process.stdin.isTTY) return promptHidden(`${what}: `);
  return fail("E_ARGUMENT", `add-camera needs ${what}: pass --${fileFlag} FILE, set ${env}, or run it on a terminal to type it`);
}

/** The body of `sealcam phone add-camera` (flags already parsed by host-tools/phone/cli.ts). */
export async function addCameraCommand(phone: Phone, flags: Record<string, string | true>, out: (line: string) => void): Promise<number> {
  const need = (name: string): string => {
    const v = flags[name];
    if (typeof v !== "string") throw new SealcamError("E_ARGUMENT", `add-camera needs --${name}`);
    return v;
  };
  const setupUrl = need("setup-url");
  const ssid = need("wifi-ssid");
  const secret = await secretInput(flags, "secret-file", "SEALCAM_SETUP_SECRET", "the camera's label secret", { allowEmptyEnv: false, fromFile: secretFromFile });
  const password = await secretInput(flags, "wifi-password-file", "SEALCAM_WIFI_PASSWORD", `the password of Wi-Fi "${ssid}"`, {
    allowEmptyEnv: true, fromFile: (text) => text.replace(/\r?\n$/, ""),
  });
  const result = await addCameraWithPhone(phone, { setupUrl, secret, wifi: { ssid, password }, onProgress: (step) => out(`  ${step}`) });
  out(`Camera ${result.cameraId} is enrolled (roster version ${result.rosterVersion}); it now joins the Wi-Fi and registers with the cloud.`);
  return 0;
}
