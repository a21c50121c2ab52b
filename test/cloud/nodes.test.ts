/**
 * Three cloud nodes (`sealcam cloud serve --db postgres://... --blobs s3://...`, each its own process with
 * its own data folder) over one PostgreSQL and one S3 store (s3rver), as behind a load balancer: cameras upload through different nodes, a phone
 * lists and downloads through a third; a node killed (SIGKILL) in the middle of an upload leaves a
 * resumable upload that the camera finishes through another node; the sign-in limit and the replay check
 * hold across nodes; live view is relayed from the camera's node to the phone's (LISTEN/NOTIFY).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import WebSocket from "ws";
import { toBase64Url } from "../../firmware/core/bytes";
import { signRequest } from "../../firmware/core/request-auth";
import { ENVELOPE_CLOSE, ENVELOPE_DATA, ENVELOPE_OPEN } from "../../host-tools/cloud/live";
import { SIGNIN_FAILURES_PER_ACCOUNT } from "../../host-tools/cloud/server";
import { addCamera, cameraRequest, crypto, request, setUpAccount, startChildCloudCli, uploadClip, type Account, type ChildCloudCli } from "./fixture";
import { startPostgres, type PgCluster } from "./postgres";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver";

let tmp: string;
let pg: PgCluster;
let db: string;
let s3: S3rverHandle;
const nodes: ChildCloudCli[] = [];
let owner: Account;

const startNode = async (i: number) => {
  const work = path.join(tmp, `node-${i}`);
  fs.mkdirSync(work, { recursive: true });
  // Nothing shared on disk: the metadata in PostgreSQL, the clip bodies in S3, the cloud key one file.
  return startChildCloudCli(["serve", "--port", "0", "--data", path.join(work, "data"), "--db", db, "--blobs", `s3://${s3.bucket}/nodes`, "--s3-endpoint", s3.endpoint,
    "--key-file", path.join(tmp, "cloud-key.json"), "--log-level", "warn", "--sweep-interval", "0", "--grace", "1"], work);
};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-nodes-"));
  s3 = await startS3rver();
  // The standard AWS variables (the nodes inherit them): s3rver's fixed test credentials.
  process.env.AWS_ACCESS_KEY_ID = s3.storeOptions.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.storeOptions.credentials.secretAccessKey;
  pg = await startPostgres();
  db = await pg.createDatabase("nodes");
  // One at a time first (the first migrates), then the others find the schema in place.
  for (let i = 0; i < 3; i++) nodes.push(await startNode(i));
  owner = await setUpAccount(nodes[0].url, tmp, "nodes@example.org", "cam-node-a");
}, 120_000);

afterAll(async () => {
  for (const n of nodes) {
    if (n.child.exitCode === null && n.child.signalCode === null) {
      n.child.kill("SIGTERM");
      await n.exited;
    }
  }
  await pg?.stop();
  await s3?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const download = async (base: string, token: string, clipId: string): Promise<Buffer> => new Promise((resolve, reject) => {
  http.get(`${base}/v1/clips/${clipId}`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`download ${res.statusCode}`))));
  }).on("error", reject);
});

const whole = (clip: { head: Uint8Array; segments: Uint8Array[]; footer: Uint8Array }) => Buffer.concat([clip.head, ...clip.segments, clip.footer]);

test("cameras upload through two nodes; a phone lists and downloads both clips through the third", async () => {
  const second = { ...owner, camera: await addCamera(nodes[1].url, owner, "cam-node-b") };
  const a = await uploadClip(nodes[0].url, owner, 1);
  const b = await uploadClip(nodes[1].url, second, 1);
  const listed = (await request(nodes[2].url, "GET", "/v1/clips", { token: owner.token })).json.clips as { clipId: string; cameraId: string; complete: boolean }[];
  expect(listed.map((c) => [c.clipId, c.cameraId, c.complete]).sort()).toEqual([[a.clipId, "cam-node-a", true], [b.clipId, "cam-node-b", true]].sort());
  expect((await download(nodes[2].url, owner.token, a.clipId)).equals(whole(a))).toBe(true);
  expect((await download(nodes[2].url, owner.token, b.clipId)).equals(whole(b))).toBe(true);
  // The phone opens (verifies and decrypts) the clip the second node stored.
  const opened = await owner.phone.open(b.clipId, path.join(tmp, "b.frames"));
  expect(opened).toMatchObject({ cameraId: "cam-node-b", clipId: b.clipId });
  expect(opened.bytes).toBeGreaterThan(9000);
});

test("a request replayed to another node is refused: the replay check is in the database", async () => {
  const p = "/v1/camera/roster";
  const headers = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "GET", path: p, timestamp: Date.now() });
  expect((await request(nodes[0].url, "GET", p, { headers })).status).toBe(200);
  const again = await request(nodes[2].url, "GET", p, { headers });
  expect(again.status).toBe(401);
  expect(again.json.message).toMatch(/replayed/);
});

test("a node killed mid-upload: no listed clip, the upload resumes and completes through another node", async () => {
  const { sealClip } = await import("./fixture");
  const { verifyRoster } = await import("../../firmware/core/roster");
  const { fromBase64Url } = await import("../../firmware/core/bytes");
  const r = await request(nodes[0].url, "GET", "/v1/e2ee/roster", { token: owner.token });
  const roster = verifyRoster(crypto, fromBase64Url(r.json.roster as string), fromBase64Url(owner.phone.state().rootCertificate), { minVersion: 1 });
  const clip = sealClip(owner.camera, roster.recipients, roster.version, 7);
  const put = (base: string, p: string, body: Uint8Array) => cameraRequest(base, owner.camera, "PUT", p, body);
  const victim = nodes[1];
  expect((await put(victim.url, `/v1/clips/${clip.clipId}/head`, clip.head)).status).toBe(201);
  expect((await put(victim.url, `/v1/clips/${clip.clipId}/segments/0`, clip.segments[0])).status).toBe(201);
  // Segment 1: the headers and half the body reach the victim, which is then killed (SIGKILL).
  const p1 = `/v1/clips/${clip.clipId}/segments/1`;
  const headers = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "PUT", path: p1, body: clip.segments[1], timestamp: Date.now() });
  const cut = new Promise<string>((resolve) => {
    const req = http.request(victim.url + p1, { method: "PUT", headers: { ...headers, "content-length": clip.segments[1].length }, agent: false }, (res) => resolve(`answered ${res.statusCode}`));
    req.on("error", (e) => resolve(`cut: ${(e as NodeJS.ErrnoException).code}`));
    req.write(clip.segments[1].subarray(0, clip.segments[1].length >> 1), () => {
      victim.child.kill("SIGKILL");
    });
  });
  expect(await cut).toMatch(/^cut/);
  expect(await victim.exited).toBe("SIGKILL");
  // Not listed as complete anywhere; the status through another node shows what was stored.
  const listed = (await request(nodes[2].url, "GET", "/v1/clips", { token: owner.token })).json.clips as { clipId: string; complete: boolean }[];
  expect(listed.find((c) => c.clipId === clip.clipId)).toMatchObject({ complete: false });
  expect((await cameraRequest(nodes[2].url, owner.camera, "GET", `/v1/clips/${clip.clipId}/status`)).json).toEqual({ clipId: clip.clipId, head: true, segments: [0], complete: false });
  expect((await request(nodes[0].url, "GET", `/v1/clips/${clip.clipId}`, { token: owner.token })).status).toBe(404);
  // In the object store: the head and segment 0, nothing of the segment in flight, no complete clip.
  const { S3BlobStore } = await import("../../host-tools/cloud/blobs-s3");
  const store = S3BlobStore.open({ ...s3.storeOptions, prefix: "nodes" });
  try {
    expect(await store.storedSegments(clip.clipId)).toEqual(new Map([[0, clip.segments[0].length]]));
    expect(await store.clipSize(clip.clipId)).toBeNull();
  } finally {
    await store.close();
  }
  // The camera resumes through the third node.
  for (let i = 1; i < clip.segments.length; i++) expect((await put(nodes[2].url, `/v1/clips/${clip.clipId}/segments/${i}`, clip.segments[i])).status).toBe(201);
  expect((await put(nodes[2].url, `/v1/clips/${clip.clipId}/footer?segments=${clip.segments.length}`, clip.footer)).status).toBe(201);
  expect((await download(nodes[0].url, owner.token, clip.clipId)).equals(whole(clip))).toBe(true);
  // The killed node comes back on the same database and folder and serves the clip too.
  nodes[1] = await startNode(1);
  expect((await download(nodes[1].url, owner.token, clip.clipId)).equals(whole(clip))).toBe(true);
});

/** A WebSocket whose messages are collected from the start (none is missed between awaits). */
function socket(base: string, p: string, headers: Record<string, string>) {
  const ws = new WebSocket(base.replace(/^http/, "ws") + p, { headers, perMessageDeflate: false });
  const messages: Buffer[] = [];
  const waiting: ((m: Buffer) => void)[] = [];
  ws.on("message", (data: Buffer) => {
    const w = waiting.shift();
    if (w) w(Buffer.from(data));
    else messages.push(Buffer.from(data));
  });
  const opened = new Promise<number>((resolve, reject) => {
    ws.once("open", () => resolve(101));
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once("error", reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, opened, closed, next: () => new Promise<Buffer>((resolve) => (messages.length > 0 ? resolve(messages.shift()!) : waiting.push(resolve))) };
}

const envelope = (type: number, channel: number, payload: Uint8Array): Buffer => Buffer.concat([Buffer.from([type, channel >>> 24, (channel >>> 16) & 255, (channel >>> 8) & 255, channel & 255]), payload]);

test("live view across nodes: the camera's socket on one node, phones on others; data both sizes, both ways of ending", async () => {
  const { Client } = await import("pg");
  const cameraHeaders = signRequest(crypto, owner.camera.key, { cameraId: owner.camera.id, method: "GET", path: "/v1/camera/live", body: new Uint8Array(0), timestamp: Date.now() });
  const camera = socket(nodes[0].url, "/v1/camera/live", cameraHeaders);
  expect(await camera.opened).toBe(101);
  // The camera's node records its socket (asynchronously after the upgrade): wait until the row is there.
  const client = new Client({ connectionString: db });
  await client.connect();
  try {
    for (let i = 0; i < 200 && (await client.query("SELECT 1 FROM live_cameras WHERE camera_id = $1", [owner.camera.id])).rowCount === 0; i++) await new Promise((r) => setTimeout(r, 25));
  } finally {
    await client.end();
  }
  const phoneHeaders = { authorization: `Bearer ${owner.token}` };
  const challenge = crypto.randomBytes(16);
  const phone = socket(nodes[2].url, `/v1/live/${owner.camera.id}?challenge=${toBase64Url(challenge)}`, phoneHeaders);
  const open = await camera.next();
  expect(open[0]).toBe(ENVELOPE_OPEN);
  expect(open.subarray(5).equals(Buffer.from(challenge))).toBe(true);
  expect(await phone.opened).toBe(101);
  const channel = open.readUInt32BE(1);
  // A small message and one larger than one NOTIFY payload (sent in pieces, arrives whole and in order).
  const small = Buffer.from("first");
  const large = Buffer.from(crypto.randomBytes(65535));
  camera.ws.send(envelope(ENVELOPE_DATA, channel, small));
  camera.ws.send(envelope(ENVELOPE_DATA, channel, large));
  expect((await phone.next()).equals(small)).toBe(true);
  expect((await phone.next()).equals(large)).toBe(true);
  // The phone leaves: the camera hears CLOSE on that channel.
  phone.ws.close();
  const end = await camera.next();
  expect([end[0], end.readUInt32BE(1), end.subarray(5).toString()]).toEqual([ENVELOPE_CLOSE, channel, "end: the phone left"]);
  // A second phone through another node; this time the camera ends the session.
  const second = socket(nodes[1].url, `/v1/live/${owner.camera.id}?challenge=${toBase64Url(crypto.randomBytes(16))}`, phoneHeaders);
  const open2 = await camera.next();
  expect(await second.opened).toBe(101);
  camera.ws.send(envelope(ENVELOPE_CLOSE, open2.readUInt32BE(1), Buffer.from("end: maximum duration")));
  expect(await second.closed).toEqual({ code: 1000, reason: "end: maximum duration" });
  // A camera that is not online anywhere: 404 from any node.
  expect(await socket(nodes[2].url, `/v1/live/cam-node-b?challenge=${toBase64Url(crypto.randomBytes(16))}`, phoneHeaders).opened).toBe(404);
  camera.ws.close();
  await camera.closed;
});

test("the sign-in limit holds across nodes: wrong passwords spread over three nodes add up", async () => {
  const wrong = { email: owner.creds.email, password: "not the password at all" };
  for (let i = 0; i < SIGNIN_FAILURES_PER_ACCOUNT; i++) {
    const reply = await request(nodes[i % 3].url, "POST", "/v1/sessions", { body: JSON.stringify(wrong), headers: { "content-type": "application/json" } });
    expect(reply.status).toBe(401);
  }
  // The next try, even with the right password and through any node, is refused.
  for (const n of nodes) {
    const reply = await request(n.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds), headers: { "content-type": "application/json" } });
    expect(reply.status).toBe(429);
    expect(reply.json.code).toBe("E_RATE_LIMIT");
  }
});
