/**
 * A real cloud on loopback, a really enrolled phone (Phone.enroll, real scrypt), and cameras whose keys stay
 * in the test: certificates issued by the phone from a CSR, registration and clip upload through the real
 * camera API with signed requests. `HostileCloud` sits in front of the cloud and lets a test rewrite any
 * reply (the attacker the phone must not believe).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toBase64Url, toHex } from "../../firmware/core/bytes";
import { ClipSealer, encodeFrame, CONTENT_TYPE_FRAMES } from "../../firmware/core/clip";
import { buildCsr } from "../../firmware/core/csr";
import { signRequest } from "../../firmware/core/request-auth";
import { verifyRoster } from "../../firmware/core/roster";
import { fromBase64Url } from "../../firmware/core/bytes";
import type { P256PrivateKey } from "../../firmware/platform/crypto";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { Phone } from "../../host-tools/phone/phone";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

export const crypto = new NodeCrypto();
export const creds = { email: "owner@example.org", password: "correct horse battery" };

export interface TestCamera {
  cameraId: string;
  key: P256PrivateKey;
  certificate: Uint8Array;
  sequence: number;
}

export interface UploadedClip {
  clipId: string;
  cameraId: string;
  sequence: number;
  startTime: number;
  head: Uint8Array;
  sealed: Uint8Array;
  frames: Uint8Array[];
}

export class World {
  private constructor(readonly dir: string, readonly cloud: CloudServer, readonly phone: Phone, readonly passphrase: string) {}

  static async start(prefix: string): Promise<World> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sealcam-${prefix}-`));
    const cloud = await startCloud({ dataDir: path.join(dir, "cloud"), port: 0, host: "127.0.0.1" });
    const phone = new Phone({ home: path.join(dir, "phone-a"), cloud: cloud.url });
    const { passphrase } = await phone.enroll(creds, "phone-a");
    return new World(dir, cloud, phone, passphrase);
  }

  async close(): Promise<void> {
    await this.cloud.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async cameraRequest(cam: { cameraId: string; key: P256PrivateKey }, method: string, p: string, body: Uint8Array = new Uint8Array(0)): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers = signRequest(crypto, cam.key, { cameraId: cam.cameraId, method, path: p, body, timestamp: Date.now() });
    const res = await fetch(this.cloud.url + p, { method, headers, body: method === "GET" ? undefined : Buffer.from(body) });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** A camera enrolled by this world's phone and registered with the cloud. */
  async addCamera(cameraId: string): Promise<TestCamera> {
    const key = crypto.p256Generate();
    const issued = await this.phone.issueCameraCertificate(buildCsr(crypto, key, cameraId));
    const cam = { cameraId, key, certificate: issued.certificateDer, sequence: 0 };
    const body = new Uint8Array(Buffer.from(JSON.stringify({ accountId: this.phone.state().accountId, certificate: toBase64Url(cam.certificate) })));
    const reg = await this.cameraRequest(cam, "POST", "/v1/camera/register", body);
    if (reg.status !== 201) throw new Error(`register ${cameraId}: ${reg.status} ${JSON.stringify(reg.json)}`);
    return cam;
  }

  /** Seals a small frames clip to the account's current roster and uploads it (complete unless told not to). */
  async uploadClip(cam: TestCamera, options: { complete?: boolean; startTime?: number; frames?: number } = {}): Promise<UploadedClip> {
    const r = await this.cameraRequest(cam, "GET", "/v1/camera/roster");
    const roster = verifyRoster(crypto, fromBase64Url(r.json.roster as string), fromBase64Url(this.phone.state().rootCertificate), { minVersion: 1 });
    cam.sequence++;
    const startTime = options.startTime ?? 1_700_000_000_000 + cam.sequence * 60_000;
    const sealer = new ClipSealer({
      crypto, cameraKey: cam.key, cameraId: cam.cameraId, cameraCertHash: crypto.sha256(cam.certificate), sequence: cam.sequence, startTime,
      contentType: CONTENT_TYPE_FRAMES, recipients: roster.recipients, rosterVersion: roster.version, segmentSize: 4096,
    });
    const clipId = toHex(sealer.clipId);
    const frames = Array.from({ length: options.frames ?? 3 }, (_, i) =>
      new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.from(`${cam.cameraId} clip ${cam.sequence} frame ${i} `.repeat(100)), Buffer.from([0xff, 0xd9])])));
    const segments = frames.flatMap((jpeg, i) => sealer.write(encodeFrame({ time: startTime + i * 100, jpeg })));
    const done = sealer.finish();
    segments.push(done.segment);
    const put = async (p: string, bytes: Uint8Array) => {
      const res = await this.cameraRequest(cam, "PUT", p, bytes);
      if (res.status >= 300) throw new Error(`PUT ${p}: ${res.status} ${JSON.stringify(res.json)}`);
    };
    await put(`/v1/clips/${clipId}/head`, sealer.head);
    for (const s of segments) await put(`/v1/clips/${clipId}/segments/${s.index}`, s.bytes);
    if (options.complete !== false) await put(`/v1/clips/${clipId}/footer?segments=${segments.length}`, done.footer);
    const sealed = new Uint8Array(Buffer.concat([sealer.head, ...segments.map((s) => s.bytes), done.footer]));
    return { clipId, cameraId: cam.cameraId, sequence: cam.sequence, startTime, head: sealer.head, sealed, frames };
  }
}

/** The lying cloud double (one for every suite). */
export { HostileCloud } from "../helpers/hostile-cloud";

/** A phone object for the same home but talking to another URL (e.g. through the hostile cloud). */
export function phoneVia(phone: Phone, url: string, maxClipBytes?: number): Phone {
  return new Phone({ home: phone.home, cloud: url, maxClipBytes });
}

/** Files under a directory, recursively (relative names). */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}
