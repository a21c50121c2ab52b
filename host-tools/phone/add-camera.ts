/**
 * The phone's side of camera setup (docs/PROTOCOL.md, "Camera setup channel"; whitepaper "Enrolling a Ring
 * device", steps 2-3). The phone has joined the camera's setup access point; it:
 *   1. runs the setup handshake keyed by the label secret (a camera without that secret cannot answer);
 *   2. asks for the camera's certificate request over the sealed channel and checks its self-signature;
 *   3. issues the camera certificate with the account signing key (issueCameraCertificate);
 *   4. sends certificate + account root + current key roster + home Wi-Fi + cloud URL, and waits for the
 *      camera to confirm it stored them.
 * The camera then leaves setup mode, joins the Wi-Fi and registers itself with the cloud (step 4).
 *
 * `sealcam phone add-camera` (addCameraCommand) starts from the camera's label string
 * `SEALCAM:1:<ssid>:<secret>` (docs/PROTOCOL.md 6.1): it shows the access point and its WPA2 password, joins it
 * with --join (wifi-join.ts), defaults the setup URL to the access point's address, and hands the camera the
 * cloud's announced public URL (GET /v1/info), never a loopback one for a camera on another machine.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { fromBase64Url, toBase64Url, utf8Bytes, utf8String } from "../../firmware/core/bytes";
import { fail, SealcamError, type ErrorCode } from "../../firmware/core/errors";
import { deriveSetupKeys, findSetupLabel, parseSetupLabel, parseSetupSecret, SetupInitiator, type SetupSession } from "../../firmware/core/setup-channel";
import { wipe } from "../../firmware/core/bytes";
import { NodeCrypto } from "../platform/node-crypto";
import { verifyRoster } from "../../firmware/core/roster";
import { issueCameraCertificate, type AccountSigningKey } from "./certs";
import { CloudClient } from "./client";
import type { Phone } from "./phone";
import { DEFAULT_SETUP_URL, joinSetupNetwork, SETUP_ENDED_HELP, type JoinResult } from "./wifi-join";
import { promptHidden } from "../cli-kit/secrets";

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
    req.on("error", (e: Error) => reject(e instanceof SealcamError ? e : unreachable(base, e)));
    req.end(Buffer.from(body));
  });
}

/** The camera's setup API cannot be reached: say what that means and what to do. */
function unreachable(base: string, e: Error): SealcamError {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  const what = code === "ECONNREFUSED" ? "connection refused"
    : code === "ECONNRESET" ? "connection reset"
      : code === "EHOSTUNREACH" || code === "ENETUNREACH" ? "no route to it"
        : code === "ETIMEDOUT" ? "timed out" : e.message;
  return new SealcamError("E_NETWORK",
    `cannot reach the camera's setup API at ${base} (${what}). Either this computer is not on the camera's access point ` +
    `(join it, or use --join), or the camera is not in setup mode any more. ${SETUP_ENDED_HELP}`);
}

/** Turns an error reply of the setup API ({"error":{code,message}}) into a SealcamError. */
function replyFail(reply: Reply, step: string): never {
  let code: ErrorCode = "E_NETWORK";
  let message = `${step}: camera answered ${reply.status}`;
  try {
    const parsed = JSON.parse(Buffer.from(reply.body).toString("utf8")) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) code = parsed.error.code as ErrorCode;
    if (parsed.error?.message) message = `${step}: ${parsed.error.message}`;
    if (step === "setup hello" && code === "E_AUTH") {
      // The camera counts this: its message says how many attempts remain (or that setup mode has ended).
      message = `the camera refused the label secret: ${parsed.error?.message ?? "wrong secret"}. ` +
        "Check that the label belongs to this camera (its access point name is on the label) and that it was read correctly.";
    }
  } catch {
    // keep the status
  }
  return fail(code, message);
}

/** Accepts the printed text or the label string (QR payload). */
export function secretFromLabel(text: string): Uint8Array {
  const label = findSetupLabel(text);
  return label ? parseSetupLabel(label).secret : parseSetupSecret(text);
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
  options: { setupUrl: string; secret: string; wifi: { ssid: string; password: string }; cloudUrl?: string; onProgress?: (step: string) => void },
): Promise<AddCameraResult> {
  const state = phone.state();
  const crypto = new NodeCrypto();
  const client = new CloudClient(state.cloud, state.token);
  const { roster } = await client.json<{ roster: string }>("GET", "/v1/e2ee/roster");
  const rosterBytes = fromBase64Url(roster);
  verifyRoster(crypto, rosterBytes, fromBase64Url(state.rootCertificate), { minVersion: state.rosterVersion, accountId: state.accountId });
  const signer = await phone.unlockSigningKey();
  try {
    return await addCamera({ ...options, cloudUrl: options.cloudUrl ?? state.cloud, signer, roster: rosterBytes });
  } finally {
    wipe(signer.pkcs8);
  }
}

export const ADD_CAMERA_USAGE =
  `add-camera --wifi-ssid S [--label-file F] [--join] [--setup-url URL] [--wifi-password-file F] [--allow-loopback-cloud]
                                       enroll a camera in setup mode from its label string SEALCAM:1:<ssid>:<secret>:
                                       --label-file F (a file holding it: the board simulator's label.txt, a console
                                       log), SEALCAM_SETUP_LABEL, or typed (hidden) on a terminal; a bare secret still
                                       works with --secret-file F or SEALCAM_SETUP_SECRET. Prints the camera's access
                                       point and its WPA2 password; --join joins it (simulated air, else nmcli).
                                       --setup-url defaults to the access point's address (http://192.168.4.1).
                                       The camera gets the cloud's announced public URL (GET /v1/info); a loopback one
                                       is refused for a camera on another machine unless --allow-loopback-cloud.
                                       The home Wi-Fi password: --wifi-password-file F, SEALCAM_WIFI_PASSWORD (empty:
                                       open network), or typed`;

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

/** Is `host` (a URL's hostname) this machine's loopback: localhost, 127.0.0.0/8 or ::1? */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::1" || h === "0:0:0:0:0:0:0:1";
}

/**
 * The cloud address the camera gets: the public URL the cloud announces (GET /v1/info `publicUrl`), which may
 * differ from the address this phone uses (a phone on the cloud's own machine says 127.0.0.1; cameras need its
 * LAN name). A loopback address is refused when the camera is not on this machine (its setup URL is not
 * loopback) unless `allowLoopback`: the camera would try to reach itself.
 */
export async function cameraCloudUrl(phoneCloud: string, setupUrl: string, allowLoopback: boolean, out: (line: string) => void): Promise<string> {
  let announced: string | undefined;
  try {
    const info = await new CloudClient(phoneCloud).json<{ service?: string; publicUrl?: unknown }>("GET", "/v1/info");
    if (typeof info.publicUrl === "string" && /^https?:\/\/[^\s/]+\/?$/.test(info.publicUrl)) announced = info.publicUrl.replace(/\/+$/, "");
  } catch (error) {
    if (!(error instanceof SealcamError && (error as SealcamError & { status?: number }).status === 404)) throw error;
  }
  const url = announced ?? phoneCloud.replace(/\/+$/, "");
  if (announced) out(`cloud address for the camera: ${url} (announced by the cloud)`);
  else out(`cloud address for the camera: ${url} (this cloud announces none: the phone's own cloud URL)`);
  const cameraIsLocal = isLoopbackHost(new URL(setupUrl).hostname);
  if (isLoopbackHost(new URL(url).hostname) && !cameraIsLocal && !allowLoopback) {
    fail("E_ARGUMENT",
      `the cloud's address for cameras is ${url}, a loopback address: the camera would try to reach itself. ` +
      "Start the cloud with --public-url http://<this machine's address on your network>:<port> (sealcam cloud serve), " +
      "or pass --allow-loopback-cloud if the camera really can reach it there");
  }
  return url;
}

/** The camera's label: the label string (SSID + secret), or a bare secret (then there is no SSID). */
async function labelInput(flags: Record<string, string | true>): Promise<{ ssid?: string; secret: string }> {
  const fromText = (text: string, where: string): { ssid?: string; secret: string } => {
    const label = findSetupLabel(text);
    if (label) {
      const parsed = parseSetupLabel(label);
      wipe(parsed.secret);
      return { ssid: parsed.ssid, secret: label };
    }
    // A damaged label string (and no "secret:" line to fall back on): say what is wrong with it.
    if (!/^secret:/m.test(text) && /^\s*SEALCAM:/i.test(text)) parseSetupLabel(text.trim());
    const secret = secretFromFile(text);
    wipe(parseSetupSecret(secret)); // E_FORMAT here names the problem without repeating the text
    return { secret: secret || fail("E_FORMAT", `no setup label in ${where}`) };
  };
  if (typeof flags["label-file"] === "string" && typeof flags["secret-file"] === "string") fail("E_ARGUMENT", "give the label once: --label-file or --secret-file, not both");
  const file = typeof flags["label-file"] === "string" ? flags["label-file"] : typeof flags["secret-file"] === "string" ? flags["secret-file"] : undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      return fail("E_ARGUMENT", `cannot read the camera's label from ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return fromText(text, file);
  }
  for (const env of ["SEALCAM_SETUP_LABEL", "SEALCAM_SETUP_SECRET"]) {
    const value = process.env[env];
    if (value !== undefined && value !== "") return fromText(value, env);
  }
  if (process.stdin.isTTY) return fromText(await promptHidden("the camera's label (SEALCAM:1:... or its secret): "), "what was typed");
  return fail("E_ARGUMENT", "add-camera needs the camera's label: pass --label-file FILE, set SEALCAM_SETUP_LABEL, or run it on a terminal to type it");
}

/** The body of `sealcam phone add-camera` (flags already parsed by host-tools/phone/cli.ts). */
export async function addCameraCommand(phone: Phone, flags: Record<string, string | true>, out: (line: string) => void): Promise<number> {
  const ssid = flags["wifi-ssid"];
  if (typeof ssid !== "string") throw new SealcamError("E_ARGUMENT", "add-camera needs --wifi-ssid (your home network, which the camera joins)");
  const label = await labelInput(flags);
  let setupUrl = typeof flags["setup-url"] === "string" ? flags["setup-url"] : undefined;
  if (setupUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(setupUrl)) fail("E_ARGUMENT", "--setup-url must be http://host[:port]");
  let joined: JoinResult | undefined;
  if (label.ssid) {
    const secret = secretFromLabel(label.secret);
    const { psk, wifiPassword } = deriveSetupKeys(new NodeCrypto(), secret);
    wipe(secret, psk);
    out(`camera access point: ${label.ssid}`);
    out(`its Wi-Fi password:  ${wifiPassword}   (WPA2, derived from the label secret)`);
    if (flags.join === true) {
      joined = await joinSetupNetwork(label.ssid, wifiPassword, { progress: (line) => out(line) });
      setupUrl ??= joined.setupUrl;
    } else if (setupUrl === undefined) {
      out(`join "${label.ssid}" with that password (or run add-camera with --join); the camera is then at ${DEFAULT_SETUP_URL}`);
    }
  } else if (flags.join === true) {
    fail("E_ARGUMENT", "--join needs the label string (SEALCAM:1:<ssid>:<secret>), not only the secret: it names the access point");
  }
  setupUrl ??= DEFAULT_SETUP_URL;
  try {
    out(`camera setup API: ${setupUrl}`);
    const cloudUrl = await cameraCloudUrl(phone.state().cloud, setupUrl, flags["allow-loopback-cloud"] === true, out);
    const password = await secretInput(flags, "wifi-password-file", "SEALCAM_WIFI_PASSWORD", `the password of Wi-Fi "${ssid}"`, {
      allowEmptyEnv: true, fromFile: (text) => text.replace(/\r?\n$/, ""),
    });
    const result = await addCameraWithPhone(phone, { setupUrl, secret: label.secret, wifi: { ssid, password }, cloudUrl, onProgress: (step) => out(`  ${step}`) });
    out(`Camera ${result.cameraId} is enrolled (roster version ${result.rosterVersion}); it now joins "${ssid}" and uploads to ${cloudUrl}.`);
    return 0;
  } finally {
    await joined?.leave();
  }
}
