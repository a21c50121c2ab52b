/**
 * The camera's side of the cloud API (docs/CLOUD-API.md): register the certificate, fetch the key roster,
 * report its status (roster in force, a refused roster, queue length), upload sealed clip parts. Every request is signed with the camera key (core/request-auth.ts). The cloud
 * only ever receives ciphertext and signed public headers.
 */
import type { Clock } from "../platform/clock";
import type { Crypto, P256PrivateKey } from "../platform/crypto";
import type { HttpClient, HttpResponse } from "../platform/network";
import { fromBase64Url, toBase64Url, toHex, utf8Bytes, utf8String } from "../core/bytes";
import { fail, type ErrorCode } from "../core/errors";
import { signRequest } from "../core/request-auth";
import type { ClipPart } from "./parts";
import type { RosterProblem } from "./roster-keeper";
import type { PartUploader } from "./uplink";

export interface CameraIdentity {
  cameraId: string;
  accountId: string;
  key: P256PrivateKey;
  certificate: Uint8Array;
}

/** Maps a cloud reply to our error codes (the cloud sends {"code","message"}). */
function replyError(response: HttpResponse, what: string): never {
  let code: ErrorCode | undefined;
  let message = `${what}: cloud answered ${response.status}`;
  try {
    const body = JSON.parse(utf8String(response.body)) as { code?: unknown; message?: unknown };
    if (typeof body.code === "string" && /^E_[A-Z_]{1,30}$/.test(body.code)) code = body.code as ErrorCode;
    if (typeof body.message === "string") message = `${what}: ${body.message.slice(0, 200)}`;
  } catch {
    // not JSON: keep the status
  }
  if (response.status >= 500) code = "E_NETWORK";
  if (response.status === 401 || response.status === 403) code = "E_AUTH";
  if (response.status === 429) code = "E_RATE_LIMIT";
  return fail(code ?? "E_FORMAT", message);
}

/** `PUT /v1/camera/status`: exactly these fields (docs/CLOUD-API.md). */
export interface CameraStatusReport {
  rosterVersion: number;
  rosterProblem: RosterProblem | null;
  queued: number;
}

export class CloudClient implements PartUploader {
  constructor(
    private readonly http: HttpClient,
    private readonly crypto: Crypto,
    private readonly clock: Clock,
    private readonly baseUrl: string,
    private readonly identity: CameraIdentity,
  ) {}

  private async send(method: string, path: string, body: Uint8Array, contentType: string): Promise<HttpResponse> {
    const headers = signRequest(this.crypto, this.identity.key, {
      cameraId: this.identity.cameraId, method, path, body, timestamp: this.clock.now(),
    });
    headers["content-type"] = contentType;
    return this.http.request(this.baseUrl, { method, path, headers, body });
  }

  /** Whitepaper step 4: the camera sends its certificate; the cloud checks it against the account root. */
  async register(): Promise<void> {
    const body = utf8Bytes(JSON.stringify({ accountId: this.identity.accountId, certificate: toBase64Url(this.identity.certificate) }));
    const r = await this.send("POST", "/v1/camera/register", body, "application/json");
    if (r.status !== 200 && r.status !== 201) replyError(r, "camera registration");
  }

  /** The account's current signed roster (DER), unverified: roster-keeper.ts verifies it. */
  async fetchRoster(): Promise<Uint8Array> {
    const r = await this.send("GET", "/v1/camera/roster", new Uint8Array(0), "application/octet-stream");
    if (r.status !== 200) replyError(r, "roster fetch");
    let roster: unknown;
    try {
      roster = (JSON.parse(utf8String(r.body)) as { roster?: unknown }).roster;
    } catch {
      roster = undefined;
    }
    if (typeof roster !== "string") return fail("E_FORMAT", "roster fetch: reply has no roster");
    return fromBase64Url(roster);
  }

  /** Tells the owner (through the cloud) which roster the camera seals to and why it refused a newer one. */
  async reportStatus(status: CameraStatusReport): Promise<void> {
    const problem = status.rosterProblem;
    const body = utf8Bytes(JSON.stringify({
      rosterVersion: status.rosterVersion,
      rosterProblem: problem === null ? null : { version: problem.version, code: problem.code, message: problem.message.slice(0, 200) },
      queued: status.queued,
    }));
    const r = await this.send("PUT", "/v1/camera/status", body, "application/json");
    if (r.status !== 200) replyError(r, "status report");
  }

  async upload(part: ClipPart): Promise<void> {
    const clip = toHex(part.clipId);
    const path =
      part.kind === "head" ? `/v1/clips/${clip}/head`
      : part.kind === "footer" ? `/v1/clips/${clip}/footer`
      : `/v1/clips/${clip}/segments/${part.index}`;
    const full = part.kind === "footer" ? `${path}?segments=${part.index}` : path;
    const r = await this.send("PUT", full, part.bytes, "application/octet-stream");
    // 200: the cloud already held exactly this part (a retry after a lost reply); 201: stored now.
    if (r.status === 200 || r.status === 201) return;
    replyError(r, `upload of clip ${clip.slice(0, 8)} ${part.kind}`);
  }
}
