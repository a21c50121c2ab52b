/**
 * Issue 10 finding 2 (phone part): one roster limit. An account holds at most ROSTER_MAX_PHONES (15) phones,
 * so every clip can be sealed to all of them plus the account data key (16 recipients). `phone recover`
 * refuses a 16th phone with a clear E_LIMIT before any work: no scrypt, no passphrase try spent on the cloud,
 * nothing published, nothing stored. The 15-phone state is built cheaply: extra phone certificates issued
 * with the account signing key and rosters published through the real cloud API (no 14 scrypt recoveries).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { toBase64Url, fromBase64Url } from "../../firmware/core/bytes";
import { spkiFromP256 } from "../../firmware/core/keys";
import { ROSTER_MAX_PHONES, verifyRoster } from "../../firmware/core/roster";
import { issueLeafCertificate } from "../../host-tools/phone/certs";
import { Phone, signRoster } from "../../host-tools/phone/phone";
import { HostileCloud, World, creds, crypto } from "./fixture";

let world: World;
let hostile: HostileCloud;
let olderRoster: Uint8Array;

const MESSAGE = `this account already has ${ROSTER_MAX_PHONES} phones, the most a clip can be sealed to with the data key; remove one with \`sealcam phone remove-phone KEYID\` first`;

async function rosterNow(): Promise<{ version: number; bytes: Uint8Array }> {
  const res = await fetch(`${world.cloud.url}/v1/e2ee/roster`, { headers: { authorization: `Bearer ${world.phone.state().token}` } });
  const bytes = fromBase64Url(((await res.json()) as { roster: string }).roster);
  return { version: verifyRoster(crypto, bytes, fromBase64Url(world.phone.state().rootCertificate), { minVersion: 1 }).version, bytes };
}

beforeAll(async () => {
  world = await World.start("limit");
  const signer = await world.phone.unlockSigningKey();
  const root = fromBase64Url(world.phone.state().rootCertificate);
  const token = world.phone.state().token;
  for (let n = 2; n <= ROSTER_MAX_PHONES; n++) {
    const current = await rosterNow();
    const parsed = verifyRoster(crypto, current.bytes, root, { minVersion: current.version });
    if (n === ROSTER_MAX_PHONES) olderRoster = current.bytes;
    const key = crypto.p256Generate();
    const certificate = await issueLeafCertificate(signer, "phone", `sealcam phone extra-${n}`, spkiFromP256(crypto.p256PublicKey(key)));
    crypto.p256Destroy(key);
    const entries = parsed.entries.map((e) => ({ role: e.role, certificateDer: e.certificate.der }));
    entries.push({ role: "phone", certificateDer: certificate });
    const roster = await signRoster(crypto, signer, world.phone.state().accountId, current.version + 1, entries);
    const rand = (k: number) => toBase64Url(new Uint8Array(crypto.randomBytes(k)));
    const res = await fetch(`${world.cloud.url}/v1/e2ee/phones`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `extra-${n}`, certificate: toBase64Url(certificate), wraps: { passphraseKey: rand(113), dataKey: rand(113) }, roster: toBase64Url(roster) }),
    });
    if (res.status !== 201) throw new Error(`adding phone ${n}: ${res.status} ${await res.text()}`);
  }
  hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
}, 120_000);

afterAll(async () => {
  await hostile?.close();
  await world?.close();
});

test(`the account holds ${ROSTER_MAX_PHONES} phones: recovering a 16th refuses before any work, with what to do`, async () => {
  expect((await world.phone.roster()).entries.filter((e) => e.role === "phone")).toHaveLength(ROSTER_MAX_PHONES);
  const home = path.join(world.dir, "phone-16");
  const phone = new Phone({ home, cloud: hostile.url });
  hostile.requests = [];
  await expect(phone.recover(creds, world.passphrase, "sixteenth")).rejects.toMatchObject({ code: "E_LIMIT", message: MESSAGE });
  // Only sign-in and the roster: no KDF parameters fetched, no passphrase try, nothing published.
  expect(hostile.requests).toEqual(["POST /v1/sessions", "GET /v1/e2ee/roster"]);
  expect(fs.existsSync(path.join(home, "keystore.json"))).toBe(false);
  expect(fs.existsSync(path.join(home, "phone.json"))).toBe(false);
  expect((await rosterNow()).version).toBe(ROSTER_MAX_PHONES);
});

test("a cloud that shows an older, shorter roster first still meets the limit on the verified current roster", async () => {
  const home = path.join(world.dir, "phone-16b");
  let served = 0;
  hostile.lie = async ({ method, url }) => {
    if (method === "GET" && url === "/v1/e2ee/roster" && served++ === 0) return { headers: { "content-type": "application/json" }, body: JSON.stringify({ version: ROSTER_MAX_PHONES - 1, roster: toBase64Url(olderRoster) }) };
    return undefined;
  };
  try {
    hostile.requests = [];
    await expect(new Phone({ home, cloud: hostile.url }).recover(creds, world.passphrase, "sixteenth")).rejects.toMatchObject({ code: "E_LIMIT", message: MESSAGE });
  } finally {
    hostile.lie = undefined;
  }
  expect(hostile.requests.filter((r) => r.startsWith("POST /v1/e2ee/phones"))).toEqual([]);
  expect(fs.existsSync(path.join(home, "keystore.json"))).toBe(false);
  expect((await rosterNow()).version).toBe(ROSTER_MAX_PHONES);
}, 60_000);
