/**
 * Fuzzing the camera firmware inside XS (issue 10): structure-aware mutations of everything a stranger can
 * hand the camera, fed to the real firmware on the board simulator (XS host, native crypto, NVS page file):
 *
 *   - setup API bodies: hello, confirm and transport frames (mutations of genuine ones, and odd lengths);
 *   - provisioning requests inside a genuine setup channel: each field of a genuine `provision` mutated
 *     (certificate and root DER, the roster, Wi-Fi, cloud URL; missing fields, wrong types);
 *   - rosters served by a lying cloud to the enrolled camera (mutations of the genuine roster);
 *   - console commands.
 *
 * After every rejected input: the camera answered with a typed error (documented HTTP status and an E_ code,
 * or `ok:false` with a code inside the channel, or a console line), within a bounded time, it did not crash or
 * reboot, and its stored state (the bytes of nvs.bin) is byte-identical to before. Then a genuine setup still
 * succeeds. Deterministic: one seeded PRNG drives every mutation.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fromBase64Url, toBase64Url, utf8Bytes, utf8String } from "../../firmware/core/bytes";
import { deriveSetupKeys, parseSetupSecret, SetupInitiator } from "../../firmware/core/setup-channel";
import { issueCameraCertificate } from "../../host-tools/phone/certs";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { WIFI, World } from "../board-sim/harness";
import { prng } from "../../host-tools/board-sim/synthetic-camera";

jest.setTimeout(120_000);

const crypto = new NodeCrypto();
const world = new World();
let board: SimulatedBoard;
let url = "";
let psk: Uint8Array;
let servedRoster: Uint8Array | undefined;
let proxyUrl = "";
const crashes: string[] = [];
const counts: Record<string, number> = {};

const random = prng(0x5ea1ca);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const randomBytes = (n: number) => {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = int(256);
  return out;
};

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** One to three byte-level mutations; never returns the input unchanged. */
function mutate(input: Uint8Array, keepLength = false): Uint8Array {
  let b = input.slice();
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    const kind = keepLength ? pick(["flip", "set"] as const) : pick(["flip", "set", "truncate", "extend", "delete", "insert", "header"] as const);
    const at = b.length > 0 ? int(b.length) : 0;
    switch (kind) {
      case "flip":
        if (b.length) b[at] ^= 1 << int(8);
        break;
      case "set":
        if (b.length) b[at] = int(256);
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "extend":
        b = new Uint8Array([...b, ...randomBytes(1 + int(40))]);
        break;
      case "delete":
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + int(8)))]);
        break;
      case "insert":
        b = new Uint8Array([...b.subarray(0, at), ...randomBytes(1 + int(8)), ...b.subarray(at)]);
        break;
      case "header":
        if (b.length > 1) b[int(2)] = pick([0, 1, 2, 3, 4, 0x10, 0xff]);
        break;
    }
  }
  if (sameBytes(b, input)) {
    b = input.slice();
    if (b.length) b[int(b.length)] ^= 0x80;
    else b = new Uint8Array([0]);
  }
  return b;
}

function nvsBytes(): Buffer {
  return fs.readFileSync(path.join(board.dataDir, "nvs.bin"));
}

function note(kind: string): void {
  counts[kind] = (counts[kind] ?? 0) + 1;
}

/** POST with a bound on the time the camera may take. */
async function post(endpoint: string, body: Uint8Array): Promise<{ status: number; body: Uint8Array; json?: { error?: { code?: string; message?: string } } }> {
  const res = await fetch(url + endpoint, { method: "POST", body: Buffer.from(body), signal: AbortSignal.timeout(15_000) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    json = undefined;
  }
  return { status: res.status, body: bytes, json };
}

/** The invariant after a rejected input: a typed refusal, nothing stored, the firmware still up. */
async function rejected(kind: string, endpoint: string, body: Uint8Array, statuses: number[]): Promise<number> {
  const before = nvsBytes();
  const r = await post(endpoint, body);
  expect({ kind, status: r.status, ok: statuses.includes(r.status) }).toEqual({ kind, status: r.status, ok: true });
  expect(r.json?.error?.code).toMatch(/^E_[A-Z_]+$/);
  expect(nvsBytes().equals(before)).toBe(true);
  expect(crashes).toEqual([]);
  note(kind);
  return r.status;
}

/** A genuine handshake; returns the phone's side with the session open. */
async function handshake(): Promise<SetupInitiator> {
  const phone = new SetupInitiator(crypto, psk);
  const reply = await post("/setup/v1/hello", phone.hello());
  expect(reply.status).toBe(200);
  phone.readReply(reply.body);
  expect((await post("/setup/v1/confirm", phone.confirm())).status).toBe(204);
  return phone;
}

/** A sealed request in the session; returns the opened answer. */
async function call(phone: SetupInitiator, request: unknown): Promise<{ ok: boolean; error?: { code: string; message: string } } & Record<string, unknown>> {
  const r = await post("/setup/v1/message", phone.session.seal(utf8Bytes(typeof request === "string" ? request : JSON.stringify(request))));
  expect(r.status).toBe(200);
  return JSON.parse(utf8String(phone.session.open(r.body)));
}

beforeAll(async () => {
  await world.start();
  proxyUrl = await world.proxy((requestUrl, body) => {
    if (!requestUrl.startsWith("/v1/camera/roster") || !servedRoster) return undefined;
    const original = JSON.parse(body.toString()) as { version: number };
    return Buffer.from(JSON.stringify({ version: original.version, roster: toBase64Url(servedRoster) }));
  });
  board = await world.board("cam-fuzz", {
    firmwareConfig: {
      clipMs: 600, sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 },
      maxSetupFailures: 100_000, handshakeTimeoutMs: 600_000, setupSessionIdleMs: 600_000, setupTimeoutMs: 3_600_000,
      uploadRetryMs: 200, uploadRetryMaxMs: 500,
    },
  });
  board.on("crash", (reason: string) => crashes.push(reason));
  url = await world.setupUrl(board);
  psk = deriveSetupKeys(crypto, parseSetupSecret(board.factory.setupSecretText)).psk;
}, 60_000);

afterAll(async () => {
  await world.close();
  // What ran, for the log of a CI run (counts per kind of input).
  process.stdout.write(`fuzz-xs inputs: ${JSON.stringify(counts)}\n`);
});

test("setup API bodies: mutated hellos, confirmations and transport frames are refused with typed errors and store nothing", async () => {
  // hello: mutations of a genuine hello that is never sent, and odd sizes
  const genuineHello = new SetupInitiator(crypto, psk).hello();
  for (let i = 0; i < 50; i++) await rejected("hello", "/setup/v1/hello", mutate(genuineHello), [400, 401, 413]);
  for (const size of [0, 1, 2, 82, 83, 84, 600, 71 * 1024]) await rejected("hello", "/setup/v1/hello", randomBytes(size), [400, 401, 413]);

  // confirmation: a handshake is waiting; malformed confirmations do not disturb it
  let phone = new SetupInitiator(crypto, psk);
  const reply = await post("/setup/v1/hello", phone.hello());
  expect(reply.status).toBe(200);
  phone.readReply(reply.body);
  let confirm = phone.confirm();
  for (let i = 0; i < 30; i++) {
    let m = mutate(confirm);
    if (m.length === confirm.length && m[0] === 1 && m[1] === 3) m = m.subarray(0, m.length - 1); // keep it malformed
    expect(await rejected("confirm", "/setup/v1/confirm", m, [400])).toBe(400);
  }
  // a well-formed confirmation that does not authenticate spends the handshake (counted); start again
  for (let i = 0; i < 5; i++) {
    const forged = mutate(confirm, true);
    forged[0] = 1;
    forged[1] = 3;
    if (sameBytes(forged, confirm)) forged[2] ^= 1;
    expect(await rejected("confirm", "/setup/v1/confirm", forged, [401])).toBe(401);
    phone = new SetupInitiator(crypto, psk);
    const again = await post("/setup/v1/hello", phone.hello());
    expect(again.status).toBe(200);
    phone.readReply(again.body);
    confirm = phone.confirm();
  }
  expect((await post("/setup/v1/confirm", confirm)).status).toBe(204);

  // transport frames: mutations of the next genuine frame; then the genuine one still opens
  for (let round = 0; round < 4; round++) {
    const frame = phone.session.seal(utf8Bytes(JSON.stringify({ op: "info" })));
    for (let i = 0; i < 10; i++) await rejected("frame", "/setup/v1/message", mutate(frame), [400, 401, 413]);
    const r = await post("/setup/v1/message", frame);
    expect(r.status).toBe(200);
    expect(JSON.parse(utf8String(phone.session.open(r.body)))).toMatchObject({ ok: true });
  }
  // well-sealed frames whose plaintext is not a setup request
  for (const text of ["", "{", "null", "[]", "42", '"op"', '{"op":5}', '{"nop":"csr"}', "\u0000\u0001", "{\"op\":\"" + "x".repeat(5000) + "\"}"]) {
    const before = nvsBytes();
    const r = await post("/setup/v1/message", phone.session.seal(utf8Bytes(text)));
    if (r.status === 200) expect(JSON.parse(utf8String(phone.session.open(r.body)))).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^E_[A-Z_]+$/) } });
    else {
      expect(r.status).toBe(400);
      expect(r.json?.error?.code).toMatch(/^E_[A-Z_]+$/);
    }
    expect(nvsBytes().equals(before)).toBe(true);
    note("plaintext");
  }
  phone.session.close();
  expect(board.bootCount).toBe(1);
  expect(crashes).toEqual([]);
});

test("provisioning requests inside a genuine channel, console commands; then a genuine setup succeeds and mutated rosters from the cloud change nothing", async () => {
  // The previous test's session holds the slot (setupSessionIdleMs is long): a power cycle ends it; the
  // camera comes back in setup mode from what it stored.
  const restarted = board.waitForLog("setup.start", 20_000);
  await board.cutPower("fuzz: new session");
  await restarted;
  url = await world.setupUrl(board);
  const phone = await handshake();
  const csr = await call(phone, { op: "csr" });
  expect(csr.ok).toBe(true);
  const signer = await world.phoneA.unlockSigningKey();
  const issued = await issueCameraCertificate(fromBase64Url(csr.csr as string), signer);
  const roster = await world.roster();
  const genuine = {
    op: "provision",
    certificate: toBase64Url(issued.certificateDer),
    root: toBase64Url(signer.rootCertDer),
    roster: toBase64Url(roster),
    wifi: { ssid: WIFI.ssid, password: WIFI.password },
    cloudUrl: proxyUrl,
  };
  // A second, valid but foreign, certificate: the same CSR issued by another account's root.
  const { createAccountSigningKey } = await import("../../host-tools/phone/certs");
  const stranger = await createAccountSigningKey("acct-stranger");
  const foreign = await issueCameraCertificate(fromBase64Url(csr.csr as string), stranger);

  const derMutations = (der: Uint8Array): string => {
    const choice = int(10);
    if (choice === 0) return toBase64Url(der.subarray(0, int(der.length)));
    if (choice === 1) return toBase64Url(new Uint8Array([...der, ...randomBytes(1 + int(4))]));
    if (choice === 2) return toBase64Url(der).slice(0, -1 - int(5)) + pick(["!", "=", " ", "+", "/", ""]);
    return toBase64Url(mutate(der, random() < 0.5));
  };
  type Provision = Record<string, unknown> & { wifi: Record<string, unknown> };
  const variants: ((p: Provision) => void)[] = [
    (p) => (p.certificate = derMutations(issued.certificateDer)),
    (p) => (p.certificate = derMutations(issued.certificateDer)),
    (p) => (p.certificate = derMutations(issued.certificateDer)),
    (p) => (p.root = derMutations(signer.rootCertDer)),
    (p) => (p.root = derMutations(signer.rootCertDer)),
    (p) => (p.roster = derMutations(roster)),
    (p) => (p.roster = derMutations(roster)),
    (p) => (p.roster = derMutations(roster)),
    (p) => (p.certificate = pick([genuine.root, genuine.roster, toBase64Url(foreign.certificateDer)])),
    (p) => (p.root = pick([genuine.certificate, genuine.roster, toBase64Url(stranger.rootCertDer)])),
    (p) => (p.roster = pick([genuine.certificate, genuine.root])),
    (p) => {
      p.certificate = toBase64Url(foreign.certificateDer);
      p.root = toBase64Url(stranger.rootCertDer);
    },
    (p) => (p.wifi.ssid = pick(["", "x".repeat(33), 42, null, ["home"], "é".repeat(17)])),
    (p) => (p.wifi.password = pick(["short12", "x".repeat(64), 12345678, null, "1234567"])),
    (p) => (p.wifi = pick([null, "home", [], 7]) as never),
    (p) => (p.cloudUrl = pick(["ftp://cloud.example", "http://", "javascript:alert(1)", "http://" + "a".repeat(200), "http://host:123456", "http://a b", "", 80, null, "https://x/?q=1"])),
    (p) => delete p[pick(["certificate", "root", "roster", "wifi", "cloudUrl"])],
    (p) => (p[pick(["certificate", "root", "roster"])] = pick([0, null, "", {}, [], true, "AAAA", "a".repeat(100_00)])),
  ];
  for (let i = 0; i < 90; i++) {
    const request = JSON.parse(JSON.stringify(genuine)) as Provision;
    pick(variants)(request);
    const before = nvsBytes();
    const answer = await call(phone, request);
    expect({ i, ok: answer.ok }).toEqual({ i, ok: false });
    expect(answer.error?.code).toMatch(/^E_[A-Z_]+$/);
    expect(nvsBytes().equals(before)).toBe(true);
    note("provision");
  }
  // other ops in the channel
  for (const request of [{ op: "provision" }, { op: "PROVISION" }, { op: "" }, { op: "csr", certificate: genuine.certificate }, { op: "unenroll" }]) {
    const before = nvsBytes();
    await call(phone, request);
    expect(nvsBytes().equals(before)).toBe(true);
    note("op");
  }

  // console commands (setup mode): garbage, unknown, wrong secrets, over-long lines
  const consoleLines = [
    "", "   ", "\t", "HELP", "status now", "roster", "roster refresh", "roster nonsense", "setup", "setup 0000", "setup " + "Z".repeat(32),
    "setup " + board.factory.setupSecretText.slice(0, -1) + "X", "x".repeat(2000), "\u0000\u0001\u0002", "é ü ß", "unenrol", "factory", "factory-rese",
  ];
  for (let i = 0; i < 22; i++) consoleLines.push(Array.from({ length: 1 + int(4) }, () => pick(["setup", "roster", "status", "help", "refresh", "-", "0"]) + (random() < 0.5 ? String.fromCharCode(33 + int(90)) : "")).join(" "));
  for (const line of consoleLines) {
    const before = nvsBytes();
    const mark = board.uartLines.length;
    board.consoleInput(line);
    const reply = await board.command("help", 10_000); // the console answers the next command: it did not hang
    expect(reply.startsWith("help:") || reply.startsWith("error:")).toBe(true);
    for (const out of board.uartLines.slice(mark)) expect(out).not.toContain(board.factory.setupSecretText);
    expect(nvsBytes().equals(before)).toBe(true);
    note("console");
  }
  expect(crashes).toEqual([]);
  expect(board.bootCount).toBe(2); // the one reboot above, no other

  // the genuine setup still succeeds
  const registered = board.waitForLog("cloud.registered", 30_000);
  const done = await call(phone, genuine);
  expect(done).toMatchObject({ ok: true, cameraId: issued.cameraId });
  phone.session.close();
  await registered;

  // rosters from a lying cloud: mutations of the genuine roster (every one refused, nothing stored)
  /** Runs a console command and resolves with its verdict line (not a late line of an earlier command). */
  const consoleVerdict = (line: string, verdict: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to '${line}'`)), 15_000);
      const onLine = (out: string) => {
        if (!verdict.test(out)) return;
        clearTimeout(timer);
        board.off("uart", onLine);
        resolve(out);
      };
      board.on("uart", onLine);
      board.consoleInput(line);
    });
  for (let i = 0; i < 30; i++) {
    servedRoster = pick([() => mutate(roster), () => mutate(roster, true), () => roster.subarray(0, int(roster.length)), () => new Uint8Array([...roster, 0])])();
    if (sameBytes(servedRoster, roster)) servedRoster = mutate(roster, true);
    const before = nvsBytes();
    expect(await consoleVerdict("roster refresh", /^roster: refresh/)).toBe("roster: refresh failed (see log)");
    expect(nvsBytes().equals(before)).toBe(true);
    note("roster");
  }
  servedRoster = undefined;
  expect(await consoleVerdict("roster refresh", /^roster: refresh/)).toBe("roster: refreshed");
  expect(await board.command("status")).toContain("enrolled=yes");
  signer.pkcs8.fill(0);
  expect(crashes).toEqual([]);
  expect(board.bootCount).toBe(2);
});
