/**
 * A hostile cloud: it sits in front of the real cloud and forwards every request, but a test can make it lie
 * about any answer — rewrite a body, serve another resource's bytes, stream without end. What it cannot do is
 * what a real compromised cloud cannot do either: it holds no account, phone or camera key.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface Exchange {
  method: string;
  /** Path and query as the client sent them. */
  url: string;
}

/** The real cloud's answer to one exchange. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** What a lie answers instead (missing fields: 200, no extra headers, an empty body). */
export interface Reply {
  status?: number;
  headers?: Record<string, string | number>;
  body?: Uint8Array | string;
}

/**
 * What a lie does with one exchange: answer something else, stream forever ("endless"), or let the truth
 * through (undefined). `upstream()` fetches the genuine answer (once; later calls return the same answer).
 */
export type Lie = (exchange: Exchange, upstream: () => Promise<Answer>) => Promise<Reply | "endless" | undefined>;

export class HostileCloud {
  url = "";
  lie: Lie | undefined;
  /** Takes over a request entirely (answers that are not one buffer); returns true when it did. */
  raw: ((req: http.IncomingMessage, res: http.ServerResponse) => boolean) | undefined;
  /** Every request seen, as "METHOD /path". */
  requests: string[] = [];
  private server: http.Server | undefined;

  constructor(private readonly target: string) {}

  /** The genuine answer to any request, as the real cloud gives it (with the client's own headers). */
  fetchUpstream(method: string, url: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<Answer> {
    const target = new URL(this.target);
    return new Promise((resolve, reject) => {
      const up = http.request({ host: target.hostname, port: target.port, method, path: url, headers: { ...headers, host: target.host } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h[k] = v;
          resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
        });
        res.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      if (this.raw?.(req, res)) return;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const exchange = { method: req.method ?? "GET", url: req.url ?? "/" };
        let genuine: Promise<Answer> | undefined;
        const upstream = () => (genuine ??= this.fetchUpstream(exchange.method, exchange.url, req.headers, Buffer.concat(chunks)));
        void (async () => {
          const answer = (this.lie ? await this.lie(exchange, upstream) : undefined) ?? (await upstream());
          if (answer === "endless") return endless(res);
          const body = typeof answer.body === "string" ? Buffer.from(answer.body) : Buffer.from(answer.body ?? new Uint8Array(0));
          const headers: Record<string, string | number> = { ...(answer.headers ?? {}), "content-length": body.length };
          delete headers["transfer-encoding"];
          res.writeHead(answer.status ?? 200, headers).end(body);
        })().catch(() => res.destroy());
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

/** Streams 1 MiB blocks until the client goes away. */
function endless(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "application/octet-stream" });
  const block = Buffer.alloc(1 << 20, 0x5a);
  const pump = () => {
    while (!res.destroyed && res.write(block));
    if (!res.destroyed) res.once("drain", pump);
  };
  res.on("close", () => res.removeAllListeners("drain"));
  pump();
}

/** A JSON answer built from a genuine one. */
export function rewriteJson(answer: Answer, edit: (json: Record<string, unknown>) => void): Answer {
  const json = JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
  edit(json);
  return { ...answer, body: Buffer.from(JSON.stringify(json)) };
}
