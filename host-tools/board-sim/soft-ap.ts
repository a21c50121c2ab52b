/**
 * The camera's soft access point, emulated as a loopback HTTP listener: joining `sealcam-XXXX` becomes
 * connecting to 127.0.0.1:<port>. Each request is handed to the firmware (in XS) as a `setup.request` event;
 * the firmware's handler answers with `setup.respond`. Bodies are bounded and requests time out, as the
 * board's HTTP server would.
 *
 * With an airspace folder (air.ts) the access point is also "on the air" while it is up: it registers its SSID,
 * its address and a verifier of its WPA2 password (never the password), so a phone joins it by SSID and
 * password (`sealcam phone add-camera --join`) and learns the address from the join, as on a real network.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { airVerifier, registerAp, unregisterAp } from "./air";

export interface SetupRequest {
  id: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface SetupResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

const MAX_BODY = 64 * 1024;
const RESPONSE_TIMEOUT_MS = 30000;

export class SoftAp {
  private server: http.Server | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (response: SetupResponse) => void>();
  ssid = "";
  url = "";
  /** The simulated airspace this access point appears in (undefined: none; reachable only by its address). */
  airDir: string | undefined;
  private verifier: string | undefined;
  private registered: string | undefined;

  constructor(
    private readonly requestedPort: number,
    private readonly forward: (request: SetupRequest) => void,
  ) {}

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** The WPA2 password the firmware gave the access point: only its verifier is kept. */
  setPassword(ssid: string, password: string): void {
    this.verifier = this.airDir !== undefined ? airVerifier(ssid, password) : undefined;
  }

  async listen(ssid: string): Promise<string> {
    this.ssid = ssid;
    if (this.server) return this.url;
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.requestedPort, "127.0.0.1", () => resolve());
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${port}`;
    if (this.airDir !== undefined && this.verifier !== undefined) {
      registerAp(this.airDir, { ssid, address: this.url, verifier: this.verifier });
      this.registered = ssid;
    }
    return this.url;
  }

  respond(id: number, response: SetupResponse): void {
    const resolve = this.pending.get(id);
    if (!resolve) return;
    this.pending.delete(id);
    resolve(response);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.url = "";
    if (this.registered !== undefined && this.airDir !== undefined) unregisterAp(this.airDir, this.registered);
    this.registered = undefined;
    for (const resolve of this.pending.values()) {
      resolve(errorReply(503, "E_STATE", "access point down"));
    }
    this.pending.clear();
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooBig) {
        send(res, errorReply(413, "E_LIMIT", "request body too large"));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.respond(id, errorReply(504, "E_TIMEOUT", "camera did not answer"));
      }, RESPONSE_TIMEOUT_MS);
      this.pending.set(id, (response) => {
        clearTimeout(timer);
        send(res, response);
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers[name.toLowerCase()] = value;
        else if (Array.isArray(value)) headers[name.toLowerCase()] = value.join(", ");
      }
      this.forward({ id, method: req.method ?? "GET", path: req.url ?? "/", headers, body: new Uint8Array(Buffer.concat(chunks)) });
    });
    req.on("error", () => res.destroy());
  }
}

function send(res: http.ServerResponse, response: SetupResponse): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (/^[a-z0-9-]+$/i.test(name) && !/[\r\n]/.test(value)) headers[name] = value;
  }
  headers["content-length"] = String(response.body.length);
  res.writeHead(response.status >= 100 && response.status < 600 ? response.status : 500, headers);
  res.end(Buffer.from(response.body));
}

/** Refusals the access point makes itself carry the setup API's error shape: {"error":{"code","message"}}. */
function errorReply(status: number, code: string, message: string): { status: number; headers: Record<string, string>; body: Uint8Array } {
  return { status, headers: { "content-type": "application/json" }, body: new TextEncoder().encode(JSON.stringify({ error: { code, message } })) };
}
