/**
 * The key roster as the camera (firmware in XS on the board simulator) sees it, through a "malicious cloud"
 * proxy that can replace the roster it serves: the camera seals to every key of the verified roster, takes a
 * newer one when a phone is added, refuses an older roster, a forged one, one with an injected key (with the
 * old signature, or signed by the account but with a key that does not chain to the root), and stops wrapping
 * to a phone once the account removes it.
 */
import { fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { derGeneralizedTime, derInteger, derSequence, derUtf8String } from "../../firmware/core/der";
import { parseCertificate } from "../../firmware/core/x509";
import { spkiFromP256 } from "../../firmware/core/keys";
import { assembleRoster, encodeRosterTbs, parseRosterUnverified, type RosterRole } from "../../firmware/core/roster";
import { rsaPssSha256AlgorithmIdentifier } from "../../firmware/core/x509";
import { createAccountSigningKey, issueLeafCertificate, signPss } from "../../host-tools/phone/certs";
import { Phone } from "../../host-tools/phone/phone";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { CloudClient } from "../../host-tools/phone/client";
import { CREDENTIALS, World } from "./harness";
import * as fs from "node:fs";
import * as path from "node:path";

const crypto = new NodeCrypto();
const world = new World();
let board: SimulatedBoard;
let cameraId = "";
let served: Uint8Array | undefined;
let clipsSeen = 0;

beforeAll(async () => {
  await world.start();
  const proxy = await world.proxy((url, body) => {
    if (!url.startsWith("/v1/camera/roster") || !served) return undefined;
    const original = JSON.parse(body.toString()) as { version: number };
    return Buffer.from(JSON.stringify({ version: original.version + 1, roster: toBase64Url(served) }));
  });
  board = await world.board("cam-roster");
  cameraId = (await world.enrolled(board, proxy)).cameraId;
}, 60000);
afterAll(() => world.close());

/** Records one clip and returns the key ids (hex) it was sealed to. */
async function recipientsOfNextClip(): Promise<string[]> {
  await world.record(board);
  clipsSeen++;
  const clips = await world.clips(cameraId, clipsSeen);
  const head = await world.clipHead(clips[clips.length - 1].clipId);
  return head.header.recipients.map((r) => toHex(r.kid)).sort();
}

async function refresh(): Promise<string> {
  return board.command("roster refresh");
}

async function currentRoster(): Promise<Uint8Array> {
  return world.roster();
}

async function attackerPhoneCert(issuer: Awaited<ReturnType<typeof createAccountSigningKey>>): Promise<{ der: Uint8Array; keyId: string }> {
  const key = crypto.p256Generate();
  const spki = spkiFromP256(crypto.p256PublicKey(key));
  return { der: await issueLeafCertificate(issuer, "phone", "evil phone", spki), keyId: toHex(crypto.sha256(spki)) };
}

function entriesOf(roster: Uint8Array): { role: RosterRole; certificateDer: Uint8Array }[] {
  return parseRosterUnverified(crypto, roster).entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
}

let phoneBKeyId = "";
let v2Keys: string[] = [];

test("clips are sealed to every key of the roster: phone A and the account data key", async () => {
  const keys = await recipientsOfNextClip();
  const roster = parseRosterUnverified(crypto, await currentRoster());
  expect(keys).toEqual(roster.entries.map((e) => toHex(e.keyId)).sort());
  expect(keys).toHaveLength(2);
  expect(keys).toContain(world.phoneA.state().phoneKeyId);
});

test("a phone recovered from the passphrase joins the roster; the camera takes the newer roster", async () => {
  const phoneB = new Phone({ home: path.join(world.dir, "phone-b"), cloud: world.cloudUrl });
  await phoneB.recover(CREDENTIALS, world.passphrase, "phone-b");
  phoneBKeyId = phoneB.state().phoneKeyId;
  expect(await refresh()).toBe("roster: refreshed");
  v2Keys = await recipientsOfNextClip();
  expect(v2Keys).toHaveLength(3);
  expect(v2Keys).toContain(phoneBKeyId);
});

test("an older roster is refused", async () => {
  // The cloud replays roster v1 (a valid signature, but older than what the camera holds).
  const v1 = parseRosterUnverified(crypto, await currentRoster());
  const signer = await world.phoneA.unlockSigningKey();
  const entries = entriesOf(await currentRoster()).filter((e) => e.role === "account-data");
  entries.push({ role: "phone", certificateDer: fromBase64Url(world.phoneA.state().instanceCertificate) });
  const old = encodeRosterTbs(crypto, { accountId: v1.accountId, version: 1, issuedAt: Date.now(), entries });
  served = assembleRoster(old, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, old));
  signer.pkcs8.fill(0);
  const rejected = board.waitForLog("roster.reject", 10000);
  expect(await refresh()).toBe("roster: refresh failed (see log)");
  expect((await rejected).f?.code).toBe("E_ROSTER");
  served = undefined;
  expect(await recipientsOfNextClip()).toEqual(v2Keys);
});

test("a roster signed by someone else (forged by the cloud) is refused", async () => {
  const current = parseRosterUnverified(crypto, await currentRoster());
  const attacker = await createAccountSigningKey(current.accountId);
  const evil = await attackerPhoneCert(attacker);
  const tbs = encodeRosterTbs(crypto, {
    accountId: current.accountId, version: current.version + 1, issuedAt: Date.now(),
    entries: [...entriesOf(await currentRoster()), { role: "phone", certificateDer: evil.der }],
  });
  served = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(attacker, tbs));
  const rejected = board.waitForLog("roster.reject", 10000);
  expect(await refresh()).toBe("roster: refresh failed (see log)");
  expect((await rejected).f?.code).toBe("E_SIGNATURE");
  served = undefined;
  const keys = await recipientsOfNextClip();
  expect(keys).toEqual(v2Keys);
  expect(keys).not.toContain(evil.keyId);
});

test("an injected key is refused: with the old signature, or signed by the account key but not chaining to the root", async () => {
  const currentBytes = await currentRoster();
  const current = parseRosterUnverified(crypto, currentBytes);
  const attacker = await createAccountSigningKey(current.accountId);
  const evil = await attackerPhoneCert(attacker);
  const entries = [...entriesOf(currentBytes), { role: "phone" as const, certificateDer: evil.der }];
  const tbs = encodeRosterTbs(crypto, { accountId: current.accountId, version: current.version + 1, issuedAt: Date.now(), entries });

  // 1. The current roster's signature over a TBS with one more key.
  served = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), current.signature);
  let rejected = board.waitForLog("roster.reject", 10000);
  expect(await refresh()).toBe("roster: refresh failed (see log)");
  expect((await rejected).f?.code).toBe("E_SIGNATURE");

  // 2. A roster the account key did sign (a confused or compromised phone), listing a key from another CA.
  const signer = await world.phoneA.unlockSigningKey();
  served = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs));
  signer.pkcs8.fill(0);
  rejected = board.waitForLog("roster.reject", 10000);
  expect(await refresh()).toBe("roster: refresh failed (see log)");
  expect((await rejected).f?.code).toBe("E_CERT");
  served = undefined;

  const keys = await recipientsOfNextClip();
  expect(keys).toEqual(v2Keys);
  expect(keys).not.toContain(evil.keyId);
});

test("after phone B is removed, new clips are no longer wrapped to it", async () => {
  await world.phoneA.removePhone(phoneBKeyId);
  expect(await refresh()).toBe("roster: refreshed");
  const keys = await recipientsOfNextClip();
  expect(keys).toHaveLength(2);
  expect(keys).not.toContain(phoneBKeyId);
  expect(keys).toContain(world.phoneA.state().phoneKeyId);
});

/** The camera's latest status report as the cloud shows it to the account's phones. */
async function reportedStatus(): Promise<{ rosterVersion: number; rosterProblem: { version: number | null; code: string; message: string } | null; queued: number } | null> {
  const client = new CloudClient(world.cloudUrl, world.phoneA.state().token);
  const account = await client.json<{ cameras: { cameraId: string; status: unknown }[] }>("GET", "/v1/account");
  return (account.cameras.find((c) => c.cameraId === cameraId)?.status ?? null) as never;
}

// issue 10, finding 2: a roster over the limit never stops the camera, and the owner is told
test("an over-long roster (17 keys, signed by the account) is refused with E_LIMIT: the camera keeps sealing to the old one and reports the problem", async () => {
  const currentBytes = await currentRoster();
  const current = parseRosterUnverified(crypto, currentBytes);
  expect((await reportedStatus())?.rosterVersion).toBe(current.version);
  const signer = await world.phoneA.unlockSigningKey();
  // 15 more phone keys, each certified by the account root: only the count is wrong. The roster encoder
  // refuses more than 16 entries, so the TBS is built from DER pieces here.
  const entries = entriesOf(currentBytes);
  while (entries.length < 17) {
    const key = crypto.p256Generate();
    entries.push({ role: "phone", certificateDer: await issueLeafCertificate(signer, "phone", `phone ${entries.length}`, spkiFromP256(crypto.p256PublicKey(key))) });
    crypto.p256Destroy(key);
  }
  const sorted = entries
    .map((e) => ({ ...e, keyId: toHex(crypto.sha256(parseCertificate(e.certificateDer).spki)) }))
    .sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
  const tbs = derSequence(
    derUtf8String("sealcam-roster-v1"), derUtf8String(current.accountId), derInteger(current.version + 1),
    derGeneralizedTime(Math.floor(Date.now() / 1000) * 1000),
    derSequence(...sorted.map((e) => derSequence(derUtf8String(e.role), e.certificateDer))),
  );
  served = assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs));
  signer.pkcs8.fill(0);
  const rejected = board.waitForLog("roster.reject", 10000);
  expect(await refresh()).toBe("roster: refresh failed (see log)");
  expect((await rejected).f?.code).toBe("E_LIMIT");
  // the owner sees it: in the cloud's copy of the camera's status, and on the camera's console
  const reported = await reportedStatus();
  expect(reported?.rosterVersion).toBe(current.version);
  expect(reported?.rosterProblem).toMatchObject({ version: current.version + 1, code: "E_LIMIT" });
  expect(reported?.rosterProblem?.message.length).toBeGreaterThan(0);
  expect(await board.command("status")).toContain(`roster-problem=v${current.version + 1}:E_LIMIT`);
  // clips are still made, sealed to the roster in force, and open on the phone
  const keys = await recipientsOfNextClip();
  expect(keys).toEqual(current.entries.map((e) => toHex(e.keyId)).sort());
  const clips = await world.clips(cameraId, clipsSeen);
  const dir = path.join(world.dir, "opened-limit");
  fs.mkdirSync(dir, { recursive: true });
  const opened = await world.phoneA.open(clips[clips.length - 1].clipId, path.join(dir, "clip.frames"), dir);
  expect(opened.frames).toBeGreaterThan(0);
  // the cloud serves a good roster again: the camera takes it and reports the all-clear
  served = undefined;
  expect(await refresh()).toBe("roster: refreshed");
  expect((await reportedStatus())?.rosterProblem).toBeNull();
  expect(await board.command("status")).toContain("roster-problem=none");
});
