/**
 * Running the cloud (issue 11 items 2 and 5): GET /v1/info announces the camera-facing public URL, GET
 * /v1/health checks the database and turns 503 while draining, every request leaves one JSON log line with
 * its fields, a 500's cause is logged while the client only sees E_INTERNAL, and no secret (bearer token,
 * login password, passphrase, passphrase auth key, camera signature) ever reaches the log.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toBase64Url } from "../../firmware/core/bytes";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { backupAuthKey, derivePassphraseKey } from "../../host-tools/phone/kdf";
import packageJson from "../../package.json";
import { cameraRequest, request, setUpAccount, type Account, startTestCloud } from "./fixture";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-ops-"));
const lines: string[] = [];
let cloud: CloudServer;
let owner: Account;

beforeAll(async () => {
  cloud = await startTestCloud({ dataDir: path.join(tmp, "data"), publicUrl: "http://192.168.1.20:8080/", logLevel: "debug", logSink: { write: (l: string) => lines.push(l) } });
  owner = await setUpAccount(cloud.url, tmp, "ops@example.org", "cam-ops");
});

afterAll(async () => {
  await cloud?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

/** The request log line of the request with this id (written when the response closes: polled, bounded). */
async function logLine(reqId: string): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 500; i++) {
    const found = records().filter((r) => r.reqId === reqId);
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  return [];
}

test("GET /v1/info announces the service, version, API and the normalised public URL, without authentication", async () => {
  const r = await request(cloud.url, "GET", "/v1/info");
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ service: "sealcam-cloud", version: packageJson.version, api: 1, publicUrl: "http://192.168.1.20:8080" });
  expect(cloud.publicUrl).toBe("http://192.168.1.20:8080");
});

test("the public URL defaults to the listen URL; a URL with a path, query or credentials is refused before listening", async () => {
  const other = await startTestCloud({ dataDir: path.join(tmp, "other") });
  try {
    expect((await request(other.url, "GET", "/v1/info")).json.publicUrl).toBe(other.url);
  } finally {
    await other.close();
  }
  for (const bad of ["http://cloud.example.org/sealcam", "ftp://x", "https://u:p@cloud.example.org", "http://x?a=1", "not a url"]) {
    await expect(startCloud({ dataDir: path.join(tmp, "bad"), publicUrl: bad })).rejects.toMatchObject({ code: "E_ARGUMENT" });
  }
});

test("GET /v1/health is 200 {ok, db} while serving", async () => {
  const r = await request(cloud.url, "GET", "/v1/health");
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ ok: true, db: "ok" });
});

test("one JSON log line per request: time, request id, method, route, path, status, duration, client, account or camera, error code", async () => {
  const r = await request(cloud.url, "GET", "/v1/clips", { token: owner.token });
  expect(r.status).toBe(200);
  const reqId = r.headers["x-request-id"] as string;
  expect(reqId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
  const [line, ...more] = await logLine(reqId);
  expect(more).toHaveLength(0); // exactly one line for this request
  expect(line).toEqual({
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: "info", msg: "request", reqId, method: "GET", route: "/v1/clips",
    path: "/v1/clips", status: 200, durationMs: expect.any(Number), client: "127.0.0.1", accountId: owner.accountId,
  });

  // A camera's request names the camera; a refusal names its code; the route is the pattern, the path the ids.
  const status = await cameraRequest(cloud.url, owner.camera, "GET", "/v1/clips/00112233445566778899aabbccddeeff/status");
  const [cam] = await logLine(status.headers["x-request-id"] as string);
  expect(cam).toMatchObject({ route: "/v1/clips/:id/status", path: "/v1/clips/00112233445566778899aabbccddeeff/status", status: 200, cameraId: "cam-ops", accountId: owner.accountId });
  const refused = await request(cloud.url, "GET", "/v1/account", { token: "A".repeat(43) });
  const [bad] = await logLine(refused.headers["x-request-id"] as string);
  expect(bad).toMatchObject({ level: "info", route: "/v1/account", status: 401, code: "E_AUTH" });
  expect(bad.accountId).toBeUndefined();
  const missing = await request(cloud.url, "GET", "/v1/nothing");
  expect((await logLine(missing.headers["x-request-id"] as string))[0]).toMatchObject({ route: null, path: "/v1/nothing", status: 404, code: "E_NOT_FOUND" });
});

test("a 500 logs its cause (stack) server-side; the client gets only E_INTERNAL", async () => {
  await cloud.store.exec("ALTER TABLE camera_status RENAME TO camera_status_away");
  let r;
  try {
    r = await request(cloud.url, "GET", "/v1/account", { token: owner.token });
  } finally {
    await cloud.store.exec("ALTER TABLE camera_status_away RENAME TO camera_status");
  }
  expect(r.status).toBe(500);
  expect(r.json).toEqual({ code: "E_INTERNAL", message: "internal error" });
  const [line] = await logLine(r.headers["x-request-id"] as string);
  expect(line).toMatchObject({ level: "error", msg: "request", status: 500, code: "E_INTERNAL", route: "/v1/account", accountId: owner.accountId });
  const err = line.err as { message: string; stack: string };
  expect(err.message).toMatch(/no such table: camera_status|relation "camera_status" does not exist/); // SQLite, PostgreSQL
  expect(err.stack).toContain("server.ts");
  expect(JSON.stringify(r.json)).not.toContain("camera_status");
});

test("no secret ever reaches the log: bearer tokens, login password, passphrase, its auth key, camera signatures", async () => {
  // A sign-in (password), an unlock with the passphrase's auth key (a wrong one too), camera requests.
  const signIn = await request(cloud.url, "POST", "/v1/sessions", { body: JSON.stringify(owner.creds) });
  expect(signIn.status).toBe(201);
  const token = signIn.json.token as string;
  const wrong = await request(cloud.url, "POST", "/v1/sessions", { body: JSON.stringify({ ...owner.creds, password: "wrong password 123" }) });
  expect(wrong.status).toBe(401);
  const kdf = (await request(cloud.url, "GET", "/v1/e2ee/kdf", { token })).json.kdf as Parameters<typeof derivePassphraseKey>[1];
  const authKey = toBase64Url(backupAuthKey(derivePassphraseKey(owner.passphrase, kdf), owner.accountId));
  const wrongKey = toBase64Url(new Uint8Array(32).fill(7));
  expect((await request(cloud.url, "POST", "/v1/e2ee/unlock", { token, body: JSON.stringify({ authKey: wrongKey }) })).status).toBe(403);
  const unlock = await request(cloud.url, "POST", "/v1/e2ee/unlock", { token, body: JSON.stringify({ authKey }) });
  expect(unlock.status).toBe(200);
  const cam = await cameraRequest(cloud.url, owner.camera, "GET", "/v1/camera/roster");
  expect(cam.status).toBe(200);
  await logLine(cam.headers["x-request-id"] as string);

  const log = lines.join("");
  expect(records().filter((r) => r.msg === "request").length).toBeGreaterThan(10);
  const secrets = [owner.token, token, owner.creds.password, "wrong password 123", owner.passphrase, ...owner.passphrase.split(" ").filter((w) => w.length > 5), authKey, wrongKey];
  for (const secret of secrets) expect(log).not.toContain(secret);
  expect(log.toLowerCase()).not.toContain("bearer");
  expect(log.toLowerCase()).not.toContain("authorization");
  expect(log).not.toContain("x-sealcam-signature");
  expect(log).not.toContain("x-sealcam-nonce");
});

test("draining: health turns 503 before the listener closes, then the cloud stops accepting", async () => {
  const other = await startTestCloud({ dataDir: path.join(tmp, "drain") });
  expect((await request(other.url, "GET", "/v1/health")).status).toBe(200);
  const stopping = other.shutdown({ drainDelayMs: 2500, graceMs: 1000 });
  const r = await request(other.url, "GET", "/v1/health");
  expect(r.status).toBe(503);
  expect(r.json).toEqual({ ok: false, db: "ok", draining: true });
  expect(r.headers.connection).toBe("close");
  expect(await stopping).toEqual({ cut: 0 });
  await expect(request(other.url, "GET", "/v1/health")).rejects.toMatchObject({ code: "ECONNREFUSED" });
});

test("cloud serve --db: a password in the URL or another scheme is a usage error (exit 2), and nothing starts", async () => {
  const { main } = await import("../../host-tools/cloud/cli");
  const { PassThrough } = await import("node:stream");
  const run = async (db: string) => {
    const stderr = new PassThrough();
    let text = "";
    stderr.on("data", (d: Buffer) => (text += d.toString()));
    const io = { stdout: new PassThrough(), stderr, stdin: new PassThrough() };
    const code = await main(["serve", "--port", "0", "--data", path.join(tmp, "never"), "--db", db], io);
    return { code, text };
  };
  const secret = await run("postgres://sealcam:hunter2@127.0.0.1:5432/sealcam");
  expect(secret.code).toBe(2);
  expect(secret.text).toMatch(/^sealcam cloud: --db must not carry a password .*PGPASSWORD/);
  expect(secret.text).not.toContain("hunter2");
  const other = await run("mysql://127.0.0.1/sealcam");
  expect(other.code).toBe(2);
  expect(other.text).toMatch(/--db must be a SQLite file path or a postgres:\/\//);
  expect(fs.existsSync(path.join(tmp, "never"))).toBe(false);
});
