/**
 * An untrusted cloud in front of the real one: forwards every request unchanged, except that a test can
 * make it answer 503 (the cloud is down) or hand the camera a roster of the attacker's choosing.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { toBase64Url } from "../../firmware/core/bytes";

export class CloudProxy {
  down = false;
  rosterOverride: Uint8Array | undefined;
  requests: string[] = [];
  private server: http.Server | undefined;
  url = "";

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (this.down) {
          res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ code: "E_NETWORK", message: "cloud is down" }));
          return;
        }
        if (this.rosterOverride && req.method === "GET" && req.url === "/v1/camera/roster") {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version: 0, roster: toBase64Url(this.rosterOverride) }));
          return;
        }
        const up = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on("error", () => res.writeHead(502).end());
        up.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
