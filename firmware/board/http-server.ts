/**
 * The setup API server on the board: Moddable's classic `http` Server on the soft AP address, feeding the
 * same HttpHandler the simulator feeds.
 *
 * The classic server wants its response synchronously (prepareResponse), while HttpHandler is async. So once
 * the request body is complete the connection is detached from the server (Server.detach, as Moddable's
 * WebSocket upgrade does) and the response is written on the raw socket when the handler resolves, paced by
 * the socket's free space. Bodies are capped at MAX_BODY; a larger Content-Length gets 413 and is not read.
 */
import { Server, type HTTPServerCallback, type Request } from "http";
import { asciiBytes, concat } from "../core/bytes";
import type { HttpHandler, HttpRequest, HttpResponse, HttpServer } from "../platform/network";
import type { Log } from "../platform/log";

export const MAX_BODY = 64 * 1024;

/** Server messages (modules/network/http/http.js). */
const MSG_STATUS = 2;
const MSG_HEADER = 3;
const MSG_HEADERS_COMPLETE = 4;
const MSG_REQUEST_COMPLETE = 6;
const MSG_PREPARE_RESPONSE = 8;
const MSG_ERROR = -1;
/** Socket messages (modules/network/socket). */
const SOCKET_WRITABLE = 3;

const REASONS: Record<number, string> = {
  200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests",
  500: "Internal Server Error", 503: "Service Unavailable",
};

interface Pending {
  method: string;
  path: string;
  headers: Record<string, string>;
  tooLarge: boolean;
}

/** The raw TCP socket a detached connection hands back (modules/network/socket). */
interface TCPSocket {
  write(): number;
  write(data: ArrayBuffer): void;
  close(): void;
  callback: (message: number, value?: number) => void;
}

/** `detach` exists on Moddable's Server; the published typings omit it. */
type DetachableServer = Server & { detach(connection: Request): TCPSocket };

/**
 * What our callback returns: the published HTTPServerCallback type leaves out the String/ArrayBuffer
 * constructors that headersComplete may return to ask for the whole body, so it is cast once below.
 */
type ServerCallback = (this: Request, message: number, value1?: unknown, value2?: unknown) => ArrayBufferConstructor | undefined;

export function encodeResponse(response: HttpResponse): Uint8Array {
  const status = Number.isInteger(response.status) && response.status >= 100 && response.status <= 599 ? response.status : 500;
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\nconnection: close\r\ncontent-length: ${response.body.length}\r\n`;
  for (const name of Object.keys(response.headers)) {
    const lower = name.toLowerCase();
    if (lower === "content-length" || lower === "connection" || lower === "transfer-encoding") continue;
    const value = response.headers[name].replace(/[\r\n]/g, " ");
    head += `${lower}: ${value}\r\n`;
  }
  return concat(asciiBytes(head + "\r\n"), response.body);
}

/** Writes bytes on a raw socket as space allows, then closes it. */
function send(socket: TCPSocket, bytes: Uint8Array): void {
  let at = 0;
  const pump = (): void => {
    while (at < bytes.length) {
      const room = socket.write();
      if (room <= 0) return;
      const n = Math.min(room, bytes.length - at);
      socket.write(bytes.slice(at, at + n).buffer);
      at += n;
    }
    socket.close();
  };
  socket.callback = (message: number) => {
    if (message === SOCKET_WRITABLE) pump();
    else if (message < 0) at = bytes.length; // peer gone: nothing more to send
  };
  pump();
}

export class BoardHttpServer implements HttpServer {
  private server: DetachableServer | undefined;

  constructor(private readonly log?: Log) {}

  listen(port: number, handler: HttpHandler): void {
    this.close();
    const server = new Server({ port }) as DetachableServer;
    const pending = new WeakMap<Request, Pending>();
    const log = this.log;
    const callback: ServerCallback = function (this: Request, message: number, value1?: unknown, value2?: unknown) {
      switch (message) {
        case MSG_STATUS:
          pending.set(this, { path: String(value1), method: String(value2).toUpperCase(), headers: {}, tooLarge: false });
          return;
        case MSG_HEADER: {
          const p = pending.get(this);
          if (!p) return;
          const name = String(value1).toLowerCase();
          p.headers[name] = String(value2);
          if (name === "content-length" && !(Number(value2) <= MAX_BODY)) p.tooLarge = true;
          return;
        }
        case MSG_HEADERS_COMPLETE: {
          const p = pending.get(this);
          return p && p.tooLarge ? undefined : ArrayBuffer;
        }
        case MSG_REQUEST_COMPLETE: {
          const p = pending.get(this);
          if (!p) return;
          pending.delete(this);
          const socket = server.detach(this);
          if (p.tooLarge) {
            send(socket, encodeResponse({ status: 413, headers: { "content-type": "application/json" }, body: asciiBytes('{"error":{"code":"E_LIMIT","message":"request body too large"}}') }));
            return;
          }
          const body = value1 instanceof ArrayBuffer ? new Uint8Array(value1) : new Uint8Array(0);
          const request: HttpRequest = { method: p.method, path: p.path, headers: p.headers, body };
          handler(request).then(
            (response) => send(socket, encodeResponse(response)),
            (error: unknown) => {
              log?.write("error", "http.handler", "setup handler failed", { path: p.path, code: (error as { code?: string }).code ?? "E_INTERNAL" });
              send(socket, encodeResponse({ status: 500, headers: { "content-type": "text/plain" }, body: asciiBytes("internal error\n") }));
            },
          );
          return;
        }
        case MSG_PREPARE_RESPONSE:
          return undefined; // not reached for detached connections
        case MSG_ERROR:
          pending.delete(this);
          return;
        default:
          return;
      }
    };
    server.callback = callback as unknown as HTTPServerCallback;
    this.server = server;
    log?.write("info", "http.listen", "setup server listening", { port });
  }

  close(): void {
    if (!this.server) return;
    this.server.close();
    this.server = undefined;
  }
}
