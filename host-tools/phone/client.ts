/** The phone's HTTP client for the cloud API (docs/CLOUD-API.md). Errors come back as SealcamError. */
import * as fs from "node:fs";
import { SealcamError, type ErrorCode } from "../../firmware/core/errors";
import { concat } from "../../firmware/core/bytes";

/**
 * The most a phone downloads for one clip unless told otherwise (`--max-bytes`): 2 GiB. The format itself
 * bounds a clip only by 2^32 segments of up to 1 MiB, so this is a policy cap, far above any clip a camera
 * records (minutes of video at a few Mbit/s) and far below what would exhaust a phone.
 */
export const DEFAULT_MAX_CLIP_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * One request to the cloud API: a network failure is E_NETWORK, a refusal the cloud's own `{code, message}`
 * as a SealcamError carrying the HTTP status.
 */
export async function cloudFetch(baseUrl: string, path: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(baseUrl.replace(/\/$/, "") + path, init);
  } catch (error) {
    throw new SealcamError("E_NETWORK", `cannot reach the cloud at ${baseUrl}: ${(error as Error).message}`);
  }
  if (!res.ok) {
    let code: ErrorCode = "E_NETWORK";
    let message = `cloud answered ${res.status}`;
    try {
      const j = (await res.json()) as { code?: ErrorCode; message?: string };
      if (j.code) code = j.code;
      if (j.message) message = j.message;
    } catch {
      // not JSON
    }
    const error = new SealcamError(code, message);
    (error as SealcamError & { status?: number }).status = res.status;
    throw error;
  }
  return res;
}

export class CloudClient {
  constructor(readonly baseUrl: string, public token: string | null = null) {
    if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) throw new SealcamError("E_ARGUMENT", "cloud URL must be http(s)://host:port");
  }

  async #fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return cloudFetch(this.baseUrl, path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.#fetch(method, path, body)).json()) as T;
  }

  /**
   * Streams a response body into `sink`, refusing with E_LIMIT as soon as the Content-Length declares, or
   * the bytes received pass, `maxBytes` (the connection is dropped: a hostile cloud cannot make the phone
   * hold or store more than the cap).
   */
  async #stream(path: string, maxBytes: number, sink: (chunk: Uint8Array) => void): Promise<number> {
    const res = await this.#fetch("GET", path);
    const declared = res.headers.get("content-length");
    const tooBig = (what: string) => new SealcamError("E_LIMIT", `the cloud's reply for ${path} ${what} more than ${maxBytes} bytes, the most this phone accepts; nothing was kept`);
    if (declared !== null && Number(declared) > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw tooBig("declares");
    }
    if (!res.body) return 0;
    const reader = res.body.getReader();
    let total = 0;
    try {
      for (;;) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (error) {
          throw new SealcamError("E_NETWORK", `download of ${path} broke off: ${(error as Error).message}`);
        }
        if (next.done) return total;
        total += next.value.length;
        if (total > maxBytes) throw tooBig("sent");
        sink(next.value);
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    }
  }

  /** A small binary reply (e.g. a clip head) in memory, at most `maxBytes`. */
  async bytes(path: string, maxBytes: number = DEFAULT_MAX_CLIP_BYTES): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    await this.#stream(path, maxBytes, (chunk) => chunks.push(Uint8Array.from(chunk)));
    return concat(...chunks);
  }

  /**
   * Downloads into a new file `file` (created exclusively, mode 0600), at most `maxBytes`. On any failure
   * the file is removed. Returns the number of bytes written.
   */
  async download(path: string, file: string, maxBytes: number): Promise<number> {
    const fd = fs.openSync(file, "wx", 0o600);
    try {
      const total = await this.#stream(path, maxBytes, (chunk) => {
        let done = 0;
        while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
      });
      fs.closeSync(fd);
      return total;
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw error;
    }
  }
}
