/**
 * Setup mode under attack, with the camera application on loopback: a wrong label secret, replayed
 * messages, a second phone mid-setup, garbage on every endpoint, too many failures and the timeout. After
 * each attack the camera is still consistent (not enrolled, nothing stored) and, where setup mode is still
 * open, the real phone can finish enrollment.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { addCamera, openSetupChannel, secretFromLabel } from "../../host-tools/phone/add-camera";
import { startCamera, type CameraApp } from "../../firmware/camera";
import type { CameraAppConfig } from "../../firmware/camera/config";
import { formatSetupSecret, deriveSetupKeys, SetupInitiator } from "../../firmware/core/setup-channel";
import { asciiBytes } from "../../firmware/core/bytes";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { TestAccount } from "./account";
import { makeBoard, until, type TestBoard } from "./harness";

const crypto = new NodeCrypto();
let dir: string;
let cloud: CloudServer;
let account: TestAccount;
const running: { app: CameraApp; board: TestBoard }[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-setup-"));
  cloud = await startCloud({ dataDir: dir, port: 0, host: "127.0.0.1" });
  account = await TestAccount.create(cloud.url);
});

afterAll(async () => {
  for (const { app, board } of running) {
    app.stop();
    board.setupServer.close();
    board.clock.clearAll();
  }
  await cloud.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const FAST: Partial<CameraAppConfig> = {
  clipMs: 600, sensor: { width: 64, height: 48, quality: 20, framesPerSecond: 5 }, segmentSize: 4096, uploadRetryMs: 20, uploadRetryMaxMs: 200,
};

async function bootSetup(config: Partial<CameraAppConfig> = {}, board = makeBoard()): Promise<{ app: CameraApp; board: TestBoard; url: string; secret: string }> {
  const app = startCamera(board.platform, { ...FAST, ...config });
  running.push({ app, board });
  const url = await board.setupServer.ready();
  const line = board.console.lines.find((l) => l.startsWith("setup: label secret "));
  if (!line) throw new Error("no label secret");
  return { app, board, url, secret: line.slice("setup: label secret ".length) };
}

async function raw(url: string, method: string, p: string, body?: Uint8Array): Promise<{ status: number; body: Uint8Array; json?: { error?: { code: string } } }> {
  const res = await fetch(url + p, { method, body: body ? Buffer.from(body) : undefined });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    json = undefined;
  }
  return { status: res.status, body: bytes, json };
}

function wrongSecret(secret: string): string {
  const bytes = secretFromLabel(secret);
  bytes[0] ^= 1;
  return formatSetupSecret(bytes);
}

async function enroll(url: string, secret: string) {
  return addCamera({ setupUrl: url, secret, wifi: { ssid: "home", password: "home-wifi-pw" }, cloudUrl: cloud.url, signer: account.signer, roster: account.roster });
}

function notEnrolled(board: TestBoard): void {
  expect(board.storage.keys().filter((k) => k.startsWith("p.") || k.startsWith("r."))).toEqual([]);
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "no error";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

test("a phone with the wrong secret is refused; the right phone then enrolls", async () => {
  const { app, board, url, secret } = await bootSetup();
  expect(await code(enroll(url, wrongSecret(secret)))).toBe("E_AUTH");
  expect(app.setupMode?.failures).toBe(1);
  expect(app.state).toBe("setup");
  notEnrolled(board);
  const ok = await enroll(url, secret);
  expect(ok.cameraId).toMatch(/^cam-/);
  await until(() => app.state === "running", "running");
});

test("an impostor camera (no label secret) cannot get the phone past the handshake", async () => {
  // A fake setup endpoint that answers hello with a reply made under a guessed secret.
  const { secret } = await bootSetup();
  const guessed = deriveSetupKeys(crypto, crypto.randomBytes(20)).psk;
  const http = await import("node:http");
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (req.url?.endsWith("/hello")) {
        const { SetupResponder } = await import("../../firmware/core/setup-channel");
        try {
          const r = new SetupResponder(crypto, guessed).readHello(new Uint8Array(Buffer.concat(chunks)));
          res.writeHead(200).end(Buffer.from(r.reply));
        } catch {
          // it cannot even read the hello; it answers with garbage of the right shape
          res.writeHead(200).end(Buffer.from(crypto.randomBytes(2 + 65 + 16).map((b, i) => (i === 0 ? 1 : i === 1 ? 2 : i === 2 ? 4 : b))));
        }
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const err = await code(openSetupChannel(`http://127.0.0.1:${port}`, secret));
    expect(["E_AUTH", "E_FORMAT"]).toContain(err);
  } finally {
    server.close();
  }
});

test("replays: an old transport frame, a replayed hello, a replayed confirmation", async () => {
  const { app, board, url, secret } = await bootSetup({ handshakeTimeoutMs: 400, maxSetupFailures: 10 });
  const psk = deriveSetupKeys(crypto, secretFromLabel(secret)).psk;

  // A handshake whose confirmation never comes: the slot frees after the handshake timeout (a failure).
  const first = new SetupInitiator(crypto, psk);
  const hello1 = first.hello();
  expect((await raw(url, "POST", "/setup/v1/hello", hello1)).status).toBe(200);
  await new Promise((r) => setTimeout(r, 500)); // past the 400 ms handshake timeout
  // The same hello again: refused as a replay even though its tag is valid.
  const again = await raw(url, "POST", "/setup/v1/hello", hello1);
  expect(again.status).toBe(401);
  expect(again.json?.error?.code).toBe("E_AUTH");
  expect(app.setupMode?.failures).toBe(2); // the timeout and the replay

  // A real session: replaying its first sealed request is refused and changes nothing.
  const phone = new SetupInitiator(crypto, psk);
  const reply = await raw(url, "POST", "/setup/v1/hello", phone.hello());
  phone.readReply(reply.body);
  const confirm = phone.confirm();
  expect((await raw(url, "POST", "/setup/v1/confirm", confirm)).status).toBe(204);
  // the confirmation replayed: no handshake is waiting for it any more
  expect((await raw(url, "POST", "/setup/v1/confirm", confirm)).status).toBe(409);
  const frame = phone.session.seal(asciiBytes(JSON.stringify({ op: "csr" })));
  const r1 = await raw(url, "POST", "/setup/v1/message", frame);
  expect(r1.status).toBe(200);
  const csr1 = JSON.parse(Buffer.from(phone.session.open(r1.body)).toString()) as { ok: boolean; csr: string };
  expect(csr1.ok).toBe(true);
  const r2 = await raw(url, "POST", "/setup/v1/message", frame);
  expect(r2.status).toBe(401);
  expect(r2.json?.error?.code).toBe("E_AUTH");
  // the session still works with the next counter, and the camera's CSR did not change
  const r3 = await raw(url, "POST", "/setup/v1/message", phone.session.seal(asciiBytes(JSON.stringify({ op: "csr" }))));
  expect((JSON.parse(Buffer.from(phone.session.open(r3.body)).toString()) as { csr: string }).csr).toBe(csr1.csr);
  expect(app.state).toBe("setup");
  notEnrolled(board);
});

test("a second phone mid-setup is refused; the first phone keeps its session", async () => {
  const { app, board, url, secret } = await bootSetup();
  const one = await openSetupChannel(url, secret);
  expect(await code(openSetupChannel(url, secret))).toBe("E_CONFLICT");
  expect(await code(openSetupChannel(url, wrongSecret(secret)))).toBe("E_CONFLICT");
  expect(board.log.count("setup.busy")).toBe(2);
  const csr = await one.client.call({ op: "csr" });
  expect(typeof csr.csr).toBe("string");
  one.client.close();
  expect(app.state).toBe("setup");
  notEnrolled(board);
});

test("garbage on every setup endpoint is refused and changes nothing; the phone then enrolls", async () => {
  // A short idle timeout frees the slot held by the garbage session below; 1 s is long enough that the real
  // enrollment afterwards never idles out between its own requests, even on a loaded machine.
  const { app, board, url, secret } = await bootSetup({ maxSetupFailures: 1000, setupSessionIdleMs: 1000 });
  const bodies = [
    new Uint8Array(0), crypto.randomBytes(1), crypto.randomBytes(83), crypto.randomBytes(300), new Uint8Array(80 * 1024),
    asciiBytes("{\"op\":\"provision\"}"), new Uint8Array([1, 1]), new Uint8Array([1, 1, ...crypto.randomBytes(81)]), new Uint8Array([2, 1, ...crypto.randomBytes(81)]),
    new Uint8Array([1, 0x10, 0, 0, 0, 0, ...crypto.randomBytes(40)]),
  ];
  const paths = ["/setup/v1/hello", "/setup/v1/confirm", "/setup/v1/message", "/setup/v1/info", "/setup/v1/nope", "/"];
  let sent = 0;
  for (const p of paths) {
    for (const method of ["POST", "PUT", "GET"]) {
      for (const body of method === "GET" ? [undefined] : bodies) {
        const r = await raw(url, method, p, body);
        sent++;
        if (p === "/setup/v1/info" && method === "GET") {
          expect(r.status).toBe(200);
          expect(Object.keys(r.json as object).sort()).toEqual(["busy", "protocol", "ssid"]);
        } else {
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
        }
      }
    }
  }
  expect(sent).toBeGreaterThan(100);
  expect(app.state).toBe("setup");
  notEnrolled(board);
  // garbage hellos of the exact hello length fail authentication and count; malformed ones do not
  expect(app.setupMode!.failures).toBeGreaterThan(0);
  expect(app.setupMode!.failures).toBeLessThan(sent);

  // garbage inside an authenticated session: refused by the camera, nothing stored
  const { client } = await openSetupChannel(url, secret);
  for (const request of [{ op: "provision" }, { op: "provision", certificate: "AAAA", root: "AAAA", roster: "AAAA", wifi: {}, cloudUrl: "x" }, { op: "what" }, { op: "csr", extra: 1 }]) {
    const c = await code(client.call(request));
    if (request.op === "csr") expect(c).toBe("no error");
    else expect(["E_FORMAT", "E_STATE", "E_CERT"]).toContain(c);
  }
  client.close();
  notEnrolled(board);
  // that phone's session holds the slot until it goes idle; then the phone enrolls on the same boot
  const busy = async () => ((await raw(url, "GET", "/setup/v1/info")).json as { busy?: boolean } | undefined)?.busy;
  for (const deadline = Date.now() + 10000; (await busy()) !== false; ) {
    if (Date.now() > deadline) throw new Error("the idle session never freed the slot");
    await new Promise((r) => setTimeout(r, 50));
  }
  expect((await enroll(url, secret)).cameraId).toMatch(/^cam-/);
  await until(() => app.state === "running", "running");
});

test("too many failed handshakes end setup mode; the camera stays unenrolled until power-cycled", async () => {
  const { app, board, url, secret } = await bootSetup({ maxSetupFailures: 3 });
  for (let i = 0; i < 3; i++) expect(await code(openSetupChannel(url, wrongSecret(secret)))).toBe("E_AUTH");
  await until(() => app.state === "setup-ended", "setup to end");
  expect(board.wifi.ap).toBeUndefined();
  expect(board.setupServer.url).toBeUndefined();
  expect(board.log.count("setup.locked")).toBe(1);
  expect(await code(enroll(url, secret))).toBe("E_NETWORK");
  notEnrolled(board);
  // the console `setup` command needs the label secret
  board.console.type("setup " + wrongSecret(secret));
  await app.idle();
  expect(board.console.lines[board.console.lines.length - 1]).toBe("setup: wrong setup secret");
  expect(app.state).toBe("setup-ended");
  board.console.type("setup " + secret.toLowerCase());
  await until(() => app.state === "setup" && board.setupServer.url !== undefined, "setup again");
  expect(board.log.dump()).not.toContain(secret);
});

test("setup mode times out", async () => {
  const { app, board } = await bootSetup({ setupTimeoutMs: 150 });
  await until(() => app.state === "setup-ended", "timeout");
  expect(board.log.lines.find((l) => l.event === "setup.end")?.fields?.outcome).toBe("timeout");
  expect(board.wifi.ap).toBeUndefined();
  notEnrolled(board);
});

// --- issue 10, finding 6: setup mode cannot be jammed ------------------------------------------------------

test("malformed confirmations from a bystander change nothing: the phone's handshake keeps its slot and completes", async () => {
  const { app, board, url, secret } = await bootSetup({ maxSetupFailures: 5 });
  const psk = deriveSetupKeys(crypto, secretFromLabel(secret)).psk;
  const phone = new SetupInitiator(crypto, psk);
  const reply = await raw(url, "POST", "/setup/v1/hello", phone.hello());
  expect(reply.status).toBe(200);
  phone.readReply(reply.body);
  // Message 3 is exactly 01 03 || 16-byte tag over 23 bytes = 41 bytes; everything else is malformed.
  const malformed: Uint8Array[] = [
    new Uint8Array(0), new Uint8Array([1]), new Uint8Array([1, 3]), new Uint8Array([1, 3, ...crypto.randomBytes(16)]),
    new Uint8Array([1, 3, ...crypto.randomBytes(38)]), new Uint8Array([1, 3, ...crypto.randomBytes(40)]),
    new Uint8Array([1, 3, ...crypto.randomBytes(200)]), new Uint8Array([2, 3, ...crypto.randomBytes(39)]),
    new Uint8Array([1, 4, ...crypto.randomBytes(39)]), new Uint8Array([1, 1, ...crypto.randomBytes(81)]),
    new Uint8Array([1, 0x10, ...crypto.randomBytes(39)]), asciiBytes("{\"confirm\":true}"),
  ];
  for (let round = 0; round < 3; round++) {
    for (const body of malformed) {
      const r = await raw(url, "POST", "/setup/v1/confirm", body);
      expect(r.status).toBe(400);
      expect(r.json?.error?.code).toMatch(/^E_(FORMAT|VERSION)$/);
    }
  }
  expect(app.setupMode?.failures).toBe(0); // malformed requests are not counted...
  expect(app.setupMode?.phoneConnected).toBe(true); // ...and do not free the slot
  expect((await raw(url, "GET", "/setup/v1/info")).json).toMatchObject({ busy: true });
  // The genuine confirmation still completes the handshake, and the session works.
  expect((await raw(url, "POST", "/setup/v1/confirm", phone.confirm())).status).toBe(204);
  const r = await raw(url, "POST", "/setup/v1/message", phone.session.seal(asciiBytes(JSON.stringify({ op: "info" }))));
  expect(r.status).toBe(200);
  expect(JSON.parse(Buffer.from(phone.session.open(r.body)).toString())).toMatchObject({ ok: true });
  expect(app.setupMode?.failures).toBe(0);
  notEnrolled(board);
});

test("a well-formed confirmation that does not authenticate spends the handshake and is counted", async () => {
  const { app, url, secret } = await bootSetup({ maxSetupFailures: 5 });
  const psk = deriveSetupKeys(crypto, secretFromLabel(secret)).psk;
  const phone = new SetupInitiator(crypto, psk);
  phone.readReply((await raw(url, "POST", "/setup/v1/hello", phone.hello())).body);
  const forged = await raw(url, "POST", "/setup/v1/confirm", new Uint8Array([1, 3, ...crypto.randomBytes(39)]));
  expect(forged.status).toBe(401);
  expect(forged.json?.error?.code).toBe("E_AUTH");
  expect(app.setupMode?.failures).toBe(1);
  expect(app.setupMode?.phoneConnected).toBe(false);
  // that handshake is gone (documented): the phone starts over and gets in
  expect((await raw(url, "POST", "/setup/v1/confirm", phone.confirm())).status).toBe(409);
  expect((await enroll(url, secret)).cameraId).toMatch(/^cam-/);
  await until(() => app.state === "running", "running");
});

test("a wrong secret's refusal says how many attempts remain", async () => {
  const { app, url, secret } = await bootSetup({ maxSetupFailures: 4 });
  const psk = deriveSetupKeys(crypto, secretFromLabel(wrongSecret(secret))).psk;
  const messages: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await raw(url, "POST", "/setup/v1/hello", new SetupInitiator(crypto, psk).hello());
    expect(r.status).toBe(401);
    expect(r.json?.error?.code).toBe("E_AUTH");
    messages.push((r.json as unknown as { error: { message: string } }).error.message);
  }
  expect(messages[0]).toMatch(/\b3 attempts left\b/);
  expect(messages[1]).toMatch(/\b2 attempts left\b/);
  expect(messages[2]).toMatch(/\b1 attempt left\b/);
  expect(app.setupMode?.failures).toBe(3);
  expect((await enroll(url, secret)).cameraId).toMatch(/^cam-/);
});

test("a hello captured in one setup session is refused (and counted) after setup mode is re-entered or the camera reboots", async () => {
  const first = await bootSetup({ setupTimeoutMs: 1500, maxSetupFailures: 5 });
  const psk = deriveSetupKeys(crypto, secretFromLabel(first.secret)).psk;
  const captured = new SetupInitiator(crypto, psk).hello();
  expect((await raw(first.url, "POST", "/setup/v1/hello", captured)).status).toBe(200);
  // setup mode ends (timeout) and is entered again from the console
  await until(() => first.app.state === "setup-ended", "setup mode to time out");
  first.board.console.type("setup " + first.secret);
  await until(() => first.app.state === "setup" && first.board.setupServer.url !== undefined, "setup again");
  const url2 = await first.board.setupServer.ready();
  const replay = await raw(url2, "POST", "/setup/v1/hello", captured);
  expect(replay.status).toBe(401);
  expect(replay.json?.error?.code).toBe("E_AUTH");
  expect(first.app.setupMode?.failures).toBe(1);

  // a power cycle: the same storage on a fresh board
  first.app.stop();
  first.board.setupServer.close();
  first.board.clock.clearAll();
  const second = await bootSetup({ maxSetupFailures: 5 }, makeBoard({ storage: first.board.storage.reboot() }));
  expect(second.secret).toBe(first.secret);
  const again = await raw(second.url, "POST", "/setup/v1/hello", captured);
  expect(again.status).toBe(401);
  expect(second.app.setupMode?.failures).toBe(1);
  // the genuine phone still gets in
  expect((await enroll(second.url, second.secret)).cameraId).toMatch(/^cam-/);
});
