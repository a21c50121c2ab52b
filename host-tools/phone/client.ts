/** The phone's HTTP client for the cloud API (docs/CLOUD-API.md). Errors come back as SealcamError. */
import { SealcamError, type ErrorCode } from "../../firmware/core/errors";

export class CloudClient {
  constructor(readonly baseUrl: string, public token: string | null = null) {
    if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) throw new SealcamError("E_ARGUMENT", "cloud URL must be http(s)://host:port");
  }

  async #fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(this.baseUrl.replace(/\/$/, "") + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new SealcamError("E_NETWORK", `cannot reach the cloud at ${this.baseUrl}: ${(error as Error).message}`);
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

  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.#fetch(method, path, body)).json()) as T;
  }

  async bytes(path: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.#fetch("GET", path)).arrayBuffer());
  }
}
