/**
 * make bench-enroll: where the time of enrollment goes.
 *
 * Phone: `Phone.enroll` and `Phone.recover` run end to end against the real cloud (in this process, loopback
 * HTTP, SQLite in a temp folder). Network time is measured by wrapping `fetch` in this bench (the phone's
 * CloudClient uses it): every round trip, including the cloud's handling of the request. The other stages
 * are the same library calls with the same parameters, timed directly here (before and after the flows) and multiplied
 * by how often each flow makes them (read from host-tools/phone/phone.ts); "other" is what remains (certificate
 * issuing, roster signing, HPKE wraps, keystore files). No timing hooks in production code.
 *
 * Camera setup: the firmware in XS on the board simulator (test/board-sim/harness.ts World), driven by the
 * phone's own steps from host-tools/phone/add-camera.ts, each timed from the phone: handshake (setup channel,
 * both messages), camera keygen + CSR (the camera's answer to "csr": P-256 key generation and the CSR, one call),
 * certificate signing (phone, RSA-PSS), storage (the camera's answer to "provision": checks and its NVS writes),
 * registration (from then until the camera logs cloud.registered: Wi-Fi join, cloud registration).
 */
import * as nodeCrypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toBase64Url, fromBase64Url } from "../firmware/core/bytes";
import { startCloud } from "../host-tools/cloud/server";
import { NodeCrypto } from "../host-tools/platform/node-crypto";
import { openSetupChannel } from "../host-tools/phone/add-camera";
import { createAccountSigningKey, issueCameraCertificate } from "../host-tools/phone/certs";
import { PBKDF2_ITERATIONS, SCRYPT_N, SCRYPT_P, SCRYPT_R } from "../host-tools/phone/kdf";
import { Phone } from "../host-tools/phone/phone";
import { readPkcs12, writePkcs12 } from "../host-tools/phone/pkcs12";
import { World, WIFI } from "../test/board-sim/harness";
import { mergeResults, table } from "./lib/results";

const REPEAT = 3;
const ms = (n: number) => Number(n.toFixed(1));

let network = 0;
let requests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
  const start = performance.now();
  try {
    const response = await realFetch(...args);
    const body = await response.arrayBuffer(); // the whole round trip, body included
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  } finally {
    network += performance.now() - start;
    requests++;
  }
}) as typeof fetch;

async function mean(fn: () => unknown | Promise<unknown>, n = REPEAT): Promise<number> {
  await fn();
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; network: number; requests: number }> {
  network = 0;
  requests = 0;
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start, network, requests };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-bench-enroll-"));
  const world = new World();
  try {
    // ---- components, timed directly ----
    const crypto = new NodeCrypto();
    const salt = nodeCrypto.randomBytes(16);
    const rsa = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs8 = new Uint8Array(rsa.privateKey.export({ format: "der", type: "pkcs8" }));
    const signer = await createAccountSigningKey("bench-account");
    const pfxInput = { privateKeyPkcs8: pkcs8, certificateDer: signer.rootCertDer, password: "b".repeat(43), friendlyName: "bench" };
    const pfx = writePkcs12(pfxInput);
    const measureUnits = async () => ({
      rsa_keygen: await mean(() => nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 }), 5),
      root_keygen: await mean(() => createAccountSigningKey("bench-account"), 5),
      p256_keygen: await mean(() => crypto.p256Generate(), 20),
      scrypt: await mean(() => nodeCrypto.scryptSync("x".repeat(60), salt, 32, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 256 * 1024 * 1024 })),
      pbkdf2: await mean(() => nodeCrypto.pbkdf2Sync(nodeCrypto.randomBytes(32), salt, PBKDF2_ITERATIONS, 32, "sha256")),
      pkcs12_write: await mean(() => writePkcs12(pfxInput)),
      pkcs12_read: await mean(() => readPkcs12(pfx, pfxInput.password)),
    });
    // Measured before and after the flows and averaged, so they see the machine's load as the flows did.
    const before = await measureUnits();

    // ---- phone enroll and recover, end to end ----
    await world.start(); // cloud + phone A enrolled (its account serves the camera below)
    const credentials = { email: "bench-enroll@example.org", password: "bench-enroll-sign-in" };
    const phoneB = new Phone({ home: path.join(dir, "phone-b"), cloud: world.cloudUrl });
    const enroll = await timed(() => phoneB.enroll(credentials, "phone-b"));
    const phoneC = new Phone({ home: path.join(dir, "phone-c"), cloud: world.cloudUrl });
    const recover = await timed(() => phoneC.recover(credentials, enroll.value.passphrase, "phone-c"));
    const after = await measureUnits();
    const unit = Object.fromEntries(Object.keys(before).map((k) => [k, (before[k as keyof typeof before] + after[k as keyof typeof after]) / 2])) as typeof before;
    // How often each flow makes each call (host-tools/phone/phone.ts): enroll = account signing key (RSA-2048
    // root) + data key (RSA-2048) + instance key (P-256), two scrypt+PBKDF2 derivations (passphrase key, data-key
    // key), two PKCS#12 files written; recover = one derivation, two PKCS#12 files read, one P-256 key.
    const split = (flow: { ms: number; network: number }, parts: [string, number][]) => {
      const known = parts.reduce((sum, [, v]) => sum + v, 0) + flow.network;
      return [...parts, ["network (loopback round trips, cloud handling included)", flow.network], ["other (certificates, roster signature, wraps, files)", flow.ms - known]] as [string, number][];
    };
    const enrollParts = split(enroll, [
      ["keygen: RSA-2048 root + RSA-2048 data key + P-256", unit.root_keygen + unit.rsa_keygen + unit.p256_keygen],
      ["scrypt (N=2^17, r=8) x2", 2 * unit.scrypt],
      ["PBKDF2-SHA256 100k x2", 2 * unit.pbkdf2],
      ["PKCS#12 build x2", 2 * unit.pkcs12_write],
    ]);
    const recoverParts = split(recover, [
      ["keygen: P-256", unit.p256_keygen],
      ["scrypt (N=2^17, r=8) x1", unit.scrypt],
      ["PBKDF2-SHA256 100k x1", unit.pbkdf2],
      ["PKCS#12 read x2", 2 * unit.pkcs12_read],
    ]);

    // ---- camera setup end to end: firmware in XS on the board simulator, the phone's steps timed ----
    const board = await world.board("cam-bench");
    const setupUrl = await world.setupUrl(board);
    const accountSigner = await world.phoneA.unlockSigningKey();
    const roster = await world.roster();
    const stage: Record<string, number> = {};
    let t = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      stage[name] = now - t;
      t = now;
    };
    const { client } = await openSetupChannel(setupUrl, board.factory.setupSecretText, 20000);
    lap("handshake (setup channel, 2 round trips)");
    const csrReply = await client.call({ op: "csr" });
    lap("camera keygen (P-256) + CSR, one channel call");
    const issued = await issueCameraCertificate(fromBase64Url(csrReply.csr as string), accountSigner);
    lap("certificate signing (phone, RSA-PSS)");
    const registered = board.waitForLog("cloud.registered", 30000);
    await client.call({
      op: "provision",
      certificate: toBase64Url(issued.certificateDer),
      root: toBase64Url(accountSigner.rootCertDer),
      roster: toBase64Url(roster),
      wifi: WIFI,
      cloudUrl: world.cloudUrl,
    });
    lap("storage (provision: camera checks + NVS writes), one channel call");
    client.close();
    await registered;
    lap("registration (Wi-Fi join + cloud registration, until cloud.registered)");
    accountSigner.pkcs8.fill(0);
    const cameraTotal = Object.values(stage).reduce((a, b) => a + b, 0);

    const rows = (parts: [string, number][], total: number) => parts.map(([name, v]) => ({ stage: name, ms: ms(v), pct: Number(((v / total) * 100).toFixed(1)) }));
    const result = {
      phone_enroll: { total_ms: ms(enroll.ms), requests: enroll.requests, stages: rows(enrollParts, enroll.ms) },
      phone_recover: { total_ms: ms(recover.ms), requests: recover.requests, stages: rows(recoverParts, recover.ms) },
      camera_setup: { total_ms: ms(cameraTotal), stages: rows(Object.entries(stage), cameraTotal), engine: "firmware in the 64-bit XS host on the board simulator (test/board-sim/harness.ts)" },
      unit_ms: Object.fromEntries(Object.entries(unit).map(([k, v]) => [k, ms(v)])),
      note: `phone stages other than network: the same library calls timed directly (mean of 3-20 calls after a warm-up, measured before and after the flows and averaged; RSA key generation varies a lot from call to call, so 'other' carries that noise) times their count in the flow; network: fetch wrapped in the bench; camera stages timed from the phone's side of the setup channel`,
    };
    mergeResults("enroll", result);
    const print = (title: string, flow: { total_ms: number; stages: { stage: string; ms: number; pct: number }[] }) => {
      console.log(`${title}: ${flow.total_ms} ms`);
      console.log(table([["stage", "ms", "% of total"], ...flow.stages.map((s) => [s.stage, s.ms, s.pct])]));
      console.log("");
    };
    print(`Phone enroll (${enroll.requests} requests)`, result.phone_enroll);
    print(`Phone recover (${recover.requests} requests)`, result.phone_recover);
    print("Camera setup end to end (firmware in XS, board simulator)", result.camera_setup);
  } finally {
    await world.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
