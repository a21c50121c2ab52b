/**
 * The world for the board-sim end-to-end tests: the real cloud server (SQLite, loopback HTTP), phones from
 * the real phone library (enroll, recover, remove), and cameras whose firmware runs in the XS host on the
 * board simulator (NVS page file, flash file, loopback soft AP). Everything lives in one temp folder.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fromBase64Url } from "../../firmware/core/bytes";
import { parseClipHead, type ClipHead } from "../../firmware/core/clip/head";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { addCamera, type AddCameraResult } from "../../host-tools/phone/add-camera";
import { CloudClient } from "../../host-tools/phone/client";
import { Phone, type VerifiedClip } from "../../host-tools/phone/phone";
import { SimulatedBoard, type SimulatedBoardOptions } from "../../host-tools/board-sim/simulator";
import { prepareXsFirmware, XsRunner, type XsFirmware } from "../../host-tools/board-sim/xs-runner";

export const WIFI = { ssid: "test-home", password: "test-home-password" };
export const CREDENTIALS = { email: "board-sim@example.org", password: "board-sim-sign-in" };

export class World {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-bsim-"));
  cloud!: CloudServer;
  phoneA!: Phone;
  passphrase = "";
  firmware!: XsFirmware;
  private boards: SimulatedBoard[] = [];
  private servers: http.Server[] = [];
  private port = 0;

  /** Cloud + phone A enrolled (E2EE on). */
  async start(): Promise<void> {
    this.firmware = await prepareXsFirmware();
    this.cloud = await startCloud({ dataDir: path.join(this.dir, "cloud"), port: 0, host: "127.0.0.1" });
    this.port = this.cloud.port;
    this.phoneA = new Phone({ home: path.join(this.dir, "phone-a"), cloud: this.cloud.url });
    this.passphrase = (await this.phoneA.enroll(CREDENTIALS, "phone-a")).passphrase;
  }

  get cloudUrl(): string {
    return this.cloud.url;
  }

  /** Cloud outage: the server goes away; `restartCloud` brings it back on the same port and data. */
  async stopCloud(): Promise<void> {
    await this.cloud.close();
  }

  async restartCloud(): Promise<void> {
    this.cloud = await startCloud({ dataDir: path.join(this.dir, "cloud"), port: this.port, host: "127.0.0.1" });
  }

  /** A new camera (or the same one again, with `name` reused) with short clips and fast retries. */
  async board(name: string, options: Partial<SimulatedBoardOptions> = {}): Promise<SimulatedBoard> {
    const board = new SimulatedBoard({
      dataDir: path.join(this.dir, name),
      runner: () => new XsRunner(this.firmware),
      uartLink: false,
      firmwareConfig: {
        clipMs: 600,
        sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 },
        uploadRetryMs: 200,
        uploadRetryMaxMs: 500,
        handshakeTimeoutMs: 5000,
      },
      network: { ssid: WIFI.ssid, password: WIFI.password },
      restartDelayMs: 50,
      ...options,
    });
    this.boards.push(board);
    await board.start();
    return board;
  }

  async setupUrl(board: SimulatedBoard, timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!board.setupUrl) {
      if (Date.now() > deadline) throw new Error("the camera's setup API did not come up");
      await new Promise((r) => setTimeout(r, 10));
    }
    return board.setupUrl;
  }

  async roster(phone: Phone = this.phoneA): Promise<Uint8Array> {
    const client = new CloudClient(this.cloudUrl, phone.state().token);
    return fromBase64Url((await client.json<{ roster: string }>("GET", "/v1/e2ee/roster")).roster);
  }

  /** Phone A adds the camera over the setup channel; `cloudUrl` lets a test put a proxy in between. */
  async add(board: SimulatedBoard, cloudUrl = this.cloudUrl, secret = board.factory.setupSecretText): Promise<AddCameraResult> {
    const signer = await this.phoneA.unlockSigningKey();
    try {
      return await addCamera({
        setupUrl: await this.setupUrl(board),
        secret,
        wifi: WIFI,
        cloudUrl,
        signer,
        roster: await this.roster(),
        timeoutMs: 10000,
      });
    } finally {
      signer.pkcs8.fill(0);
    }
  }

  /** Adds the camera and waits until it has registered with the cloud. */
  async enrolled(board: SimulatedBoard, cloudUrl = this.cloudUrl): Promise<AddCameraResult> {
    const registered = board.waitForLog("cloud.registered", 20000);
    const result = await this.add(board, cloudUrl);
    await registered;
    return result;
  }

  /** Triggers one clip and resolves with its record.done log fields. */
  async record(board: SimulatedBoard): Promise<Record<string, string | number | boolean>> {
    const outcome = board.waitForLog((r) => ["record.done", "record.fail", "record.skip"].includes(r.e), 20000);
    board.trigger("test");
    const r = await outcome;
    if (r.e !== "record.done") throw new Error(`camera did not record: ${r.e} ${r.m} ${JSON.stringify(r.f ?? {})}`);
    return r.f ?? {};
  }

  /** Complete clips of a camera on the cloud, waiting until there are at least `count`. */
  async clips(cameraId: string, count: number, timeoutMs = 20000): Promise<{ clipId: string; startTime: number }[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listed = (await this.phoneA.clips()).filter((c): c is VerifiedClip => c.verified && c.cameraId === cameraId && c.complete);
      if (listed.length >= count) return listed.sort((a, b) => a.startTime - b.startTime);
      if (Date.now() > deadline) throw new Error(`only ${listed.length} of ${count} complete clips on the cloud`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async clipHead(clipId: string): Promise<ClipHead> {
    const client = new CloudClient(this.cloudUrl, this.phoneA.state().token);
    return parseClipHead(await client.bytes(`/v1/clips/${clipId}`));
  }

  /**
   * A "malicious cloud" in front of the real one: forwards everything, except that `rewrite` may replace
   * the body of a response (e.g. the camera's roster).
   */
  async proxy(rewrite: (path: string, body: Buffer) => Buffer | undefined): Promise<string> {
    const upstream = new URL(this.cloudUrl);
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const forward = http.request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
          (up) => {
            const parts: Buffer[] = [];
            up.on("data", (c: Buffer) => parts.push(c));
            up.on("end", () => {
              let body: Buffer = Buffer.concat(parts);
              const replaced = rewrite(req.url ?? "/", body);
              if (replaced) body = replaced;
              const headers = { ...up.headers, "content-length": String(body.length) };
              delete headers["transfer-encoding"];
              res.writeHead(up.statusCode ?? 502, headers);
              res.end(body);
            });
          },
        );
        forward.on("error", () => {
          res.writeHead(502);
          res.end();
        });
        forward.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const board of this.boards) await board.stop().catch(() => undefined);
    for (const server of this.servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.cloud?.close().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** POSTs raw bytes to a setup endpoint; resolves with status and body. */
export function rawPost(base: string, pathName: string, body: Uint8Array | string, method = "POST"): Promise<{ status: number; body: Buffer }> {
  const url = new URL(pathName, base);
  const data = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { "content-type": "application/octet-stream", "content-length": data.length }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(data);
  });
}
