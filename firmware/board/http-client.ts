/**
 * The cloud client on the board: Moddable's classic `http` Request, over TLS (Moddable's `securesocket`,
 * a TLS 1.2 client) when the base URL is https. sealcam does not rely on TLS for confidentiality (clips are
 * sealed and requests signed above this layer), but it is on for every https URL with certificate checking
 * against the CA certificates built into the firmware (docs/HARDWARE.md, "TLS").
 *
 * One request at a time per call; bodies are sent whole and responses collected whole (clip parts are at
 * most one sealed segment, ~64 KiB). Unreachable hosts and transport errors reject with E_NETWORK, a missing
 * answer after `timeoutMs` with E_TIMEOUT.
 */
import { Request, type HTTPRequestCallback, type HTTPRequestOptions } from "http";
import SecureSocket from "securesocket";
import Timer from "timer";
import { fail, SealcamError } from "../core/errors";
import type { HttpClient, HttpRequest, HttpResponse } from "../platform/network";

/** Request messages (modules/network/http/http.js; the published typings have error and responseFragment wrong). */
const MSG_STATUS = 1;
const MSG_HEADER = 2;
const MSG_RESPONSE_COMPLETE = 5;
const MSG_ERROR = -2;

export interface ParsedUrl {
  secure: boolean;
  host: string;
  port: number;
  /** Path prefix without a trailing slash ("" for the root). */
  prefix: string;
}

export function parseBaseUrl(url: string): ParsedUrl {
  const m = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(\/[^?#]*)?$/.exec(url);
  if (!m) fail("E_ARGUMENT", `cloud url '${url}' must look like https://host[:port][/path]`);
  const secure = m[1] === "https";
  const port = m[3] ? Number(m[3]) : secure ? 443 : 80;
  if (port < 1 || port > 65535) fail("E_ARGUMENT", `cloud url port ${port} is out of range`);
  const prefix = (m[4] ?? "").replace(/\/+$/, "");
  return { secure, host: m[2], port, prefix };
}

/** Options Moddable's Request accepts beyond the published typings (Socket, secure). */
interface RequestOptions {
  host: string;
  port: number;
  path: string;
  method: string;
  headers: string[];
  body?: ArrayBuffer;
  response: typeof ArrayBuffer;
  Socket?: typeof SecureSocket;
  secure?: { protocolVersion: number; verify: boolean };
}

type RequestCallback = (message: number, value1?: unknown, value2?: unknown) => void;

export class BoardHttpClient implements HttpClient {
  constructor(private readonly timeoutMs = 30_000, private readonly tlsVerify = true) {}

  request(baseUrl: string, request: HttpRequest): Promise<HttpResponse> {
    let url: ParsedUrl;
    try {
      url = parseBaseUrl(baseUrl);
      if (!/^\//.test(request.path)) fail("E_ARGUMENT", "request path must start with /");
      if (!/^[A-Z]+$/.test(request.method)) fail("E_ARGUMENT", "request method must be upper-case letters");
    } catch (error) {
      return Promise.reject(error);
    }
    const headers: string[] = [];
    for (const name of Object.keys(request.headers)) {
      const lower = name.toLowerCase();
      if (lower === "content-length" || lower === "host" || lower === "connection") continue;
      headers.push(lower, request.headers[name].replace(/[\r\n]/g, " "));
    }
    const hasBody = request.body.length > 0 || (request.method !== "GET" && request.method !== "HEAD");
    if (hasBody) headers.push("content-length", String(request.body.length));
    const options: RequestOptions = {
      host: url.host.replace(/^\[|\]$/g, ""),
      port: url.port,
      path: url.prefix + request.path,
      method: request.method,
      headers,
      response: ArrayBuffer,
    };
    if (hasBody) options.body = request.body.slice().buffer;
    if (url.secure) {
      options.Socket = SecureSocket;
      options.secure = { protocolVersion: 0x303, verify: this.tlsVerify };
    }

    return new Promise((resolve, reject) => {
      let status = 0;
      const responseHeaders: Record<string, string> = {};
      let done = false;
      let client: Request | undefined;
      const finish = (error: SealcamError | undefined, response?: HttpResponse): void => {
        if (done) return;
        done = true;
        Timer.clear(timer);
        if (error) {
          try {
            client?.close();
          } catch {
            // already closed
          }
          reject(error);
        } else if (response) resolve(response);
      };
      const timer = Timer.set(() => finish(new SealcamError("E_TIMEOUT", `no answer from ${url.host} within ${Math.round(this.timeoutMs / 1000)} s`)), this.timeoutMs);
      const callback: RequestCallback = (message, value1, value2) => {
        if (message === MSG_STATUS) status = Number(value1);
        else if (message === MSG_HEADER) responseHeaders[String(value1).toLowerCase()] = String(value2);
        else if (message === MSG_RESPONSE_COMPLETE) {
          const body = value1 instanceof ArrayBuffer ? new Uint8Array(value1) : new Uint8Array(0);
          finish(undefined, { status, headers: responseHeaders, body });
        } else if (message < 0 || message === MSG_ERROR) {
          finish(new SealcamError("E_NETWORK", `cannot reach ${url.host}:${url.port}`));
        }
      };
      try {
        const published: HTTPRequestOptions = options;
        client = new Request(published);
        client.callback = callback as HTTPRequestCallback;
      } catch {
        finish(new SealcamError("E_NETWORK", `cannot reach ${url.host}:${url.port}`));
      }
    });
  }
}
