/**
 * share-clip (PROTOCOL §14.11) with the camera firmware in XS: the owner shares ONE recorded clip — its key
 * wrapped to a fresh TDSK in a signed clip share envelope stored beside the clip — as a bearer token or
 * through the mailbox to a viewer. The holder opens exactly that clip (byte for byte what the owner's phone
 * opens) and nothing else; after `--until` it is E_SHARE_EXPIRED; withdrawn, E_SHARE_REVOKED; an envelope of
 * another account is E_FOREIGN_ACCOUNT, one naming another head E_MISADDRESSED, a tampered one E_SIGNATURE —
 * each refused with nothing stored. The camera's head stays byte for byte as it signed it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import { spkiFromP256 } from "../../firmware/core/keys";
import {
  openClipShareEnvelope, parseClipShareEnvelope, parseClipShareToken, sealClipShareEnvelope, sealClipShareKeyEnvelope,
} from "../../firmware/core/share-envelope";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { signPss } from "../../host-tools/phone/certs";
import { Phone } from "../../host-tools/phone/phone";
import { shareClip, withdrawClipShare } from "../../host-tools/phone/share";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { Viewer } from "../../host-tools/viewer/viewer";
import { World } from "../board-sim/harness";
import { runCli } from "../helpers/run-cli";

const crypto = new NodeCrypto();
const world = new World();
let cam: SimulatedBoard;
let camId = "";
let tmp: string;
let c1 = "";
let c2 = "";

async function ownerBytes(clipId: string): Promise<Buffer> {
  const out = path.join(tmp, `owner-${clipId}.plain`);
  await world.phoneA.open(clipId, out);
  return fs.readFileSync(out);
}

async function rawHead(clipId: string): Promise<Uint8Array> {
  const res = await fetch(`${world.cloudUrl}/v1/clips/${clipId}/head`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } });
  return new Uint8Array(await res.arrayBuffer());
}

async function postClipShare(phone: Phone, envelope: Uint8Array): Promise<{ status: number; code: string }> {
  const res = await fetch(`${world.cloudUrl}/v1/clip-shares`, {
    method: "POST", headers: { authorization: `Bearer ${phone.state().token}`, "content-type": "application/json" },
    body: JSON.stringify({ envelope: toBase64Url(envelope) }),
  });
  return { status: res.status, code: ((await res.json()) as { code?: string }).code ?? "" };
}

/** A clip share envelope for `clipId` signed by `phone`'s account, to a fresh TDSK (returned). */
async function handMade(phone: Phone, facts: { clipId: string; headHash: string; notAfter: number }) {
  const tdsk = crypto.p256Generate();
  const signer = await phone.unlockSigningKey();
  const clipKey = crypto.randomBytes(16);
  const envelope = await sealClipShareEnvelope(crypto, { accountId: phone.state().accountId, shareId: "handmade", key: spkiFromP256(crypto.p256PublicKey(tdsk)), ...facts }, clipKey, signer.rootCertDer, (m) => signPss(signer, m));
  return { tdsk, envelope, signer };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-shareclip-"));
  await world.start();
  cam = await world.board("cam-shareclip");
  camId = (await world.enrolled(cam)).cameraId;
  await world.record(cam);
  await world.record(cam);
  const clips = await world.clips(camId, 2);
  c1 = clips[0].clipId;
  c2 = clips[1].clipId;
}, 90000);
afterAll(async () => {
  await world.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a token opens exactly its clip, byte for byte the owner's; not another clip; not after --until; not once withdrawn", async () => {
  const headBefore = await rawHead(c1);
  const r = await shareClip(world.phoneA, { clip: c1, notAfter: Date.now() + 3600_000 });
  expect(r.token).toMatch(/^sealcam-share:1:[A-Za-z0-9_-]{43}$/);
  expect(r.clipId).toBe(c1);
  // The camera's head is untouched: the share lives beside the clip.
  expect(Buffer.from(await rawHead(c1)).equals(Buffer.from(headBefore))).toBe(true);

  let clock = Date.now();
  const viewer = new Viewer(path.join(tmp, "bearer"), undefined, () => clock);
  viewer.init(world.cloudUrl);
  const accepted = await viewer.acceptToken(r.token!);
  expect(accepted.pinnedNow).toBe(true);
  expect(accepted.share.clipId).toBe(c1);
  expect(fs.statSync(viewer.keystorePath).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(viewer.statePath, "utf8")).not.toContain(r.token!.slice("sealcam-share:1:".length));

  const opened = await viewer.open(c1, path.join(tmp, "c1.plain"), path.join(tmp, "c1-frames"));
  expect(opened.frames).toBeGreaterThan(0);
  expect(fs.readFileSync(path.join(tmp, "c1.plain")).equals(await ownerBytes(c1))).toBe(true);
  // Another clip of the same camera: not this holder's, and the cloud serves it nothing under the TDSK's address.
  await expect(viewer.open(c2, path.join(tmp, "c2.plain"))).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
  const tdskAddress = r.address;
  const asTdsk = await (async () => {
    const scalar = parseClipShareToken(r.token!);
    const key = crypto.p256Import(scalar);
    return { key, spki: spkiFromP256(crypto.p256PublicKey(key)) };
  })();
  expect(toHex(crypto.sha256(asTdsk.spki))).toBe(tdskAddress);
  expect(fs.existsSync(path.join(tmp, "c2.plain"))).toBe(false);

  // After --until, on the viewer's clock: E_SHARE_EXPIRED, nothing written.
  clock = r.notAfter;
  await expect(viewer.open(c1, path.join(tmp, "late.plain"))).rejects.toMatchObject({ code: "E_SHARE_EXPIRED" });
  expect(fs.existsSync(path.join(tmp, "late.plain"))).toBe(false);
  // The envelope itself refuses at notAfter, whoever's code opens it.
  const envelope = parseClipShareEnvelope(fromBase64Url(viewer.state().clipShares![0].envelope));
  const head = await rawHead(c1);
  expect(() => openClipShareEnvelope(crypto, envelope, asTdsk.key, { clipId: c1, headHash: toHex(crypto.sha256(head)) }, r.notAfter)).toThrow(expect.objectContaining({ code: "E_SHARE_EXPIRED" }));
  expect(openClipShareEnvelope(crypto, envelope, asTdsk.key, { clipId: c1, headHash: toHex(crypto.sha256(head)) }, r.notAfter - 1)).toHaveLength(16);
  // Bound to the clip id and the head: another clip's id or head is E_MISADDRESSED.
  const head2 = await rawHead(c2);
  expect(() => openClipShareEnvelope(crypto, envelope, asTdsk.key, { clipId: c2, headHash: toHex(crypto.sha256(head2)) }, r.notAfter - 1)).toThrow(expect.objectContaining({ code: "E_MISADDRESSED" }));
  expect(() => openClipShareEnvelope(crypto, envelope, asTdsk.key, { clipId: c1, headHash: toHex(crypto.sha256(head2)) }, r.notAfter - 1)).toThrow(expect.objectContaining({ code: "E_MISADDRESSED" }));
  crypto.p256Destroy(asTdsk.key);

  // Withdrawn by the owner: the cloud stops serving it.
  clock = Date.now();
  await withdrawClipShare(world.phoneA, r.address);
  await expect(viewer.open(c1, path.join(tmp, "withdrawn.plain"))).rejects.toMatchObject({ code: "E_SHARE_REVOKED" });
  const stranger = new Viewer(path.join(tmp, "late-bearer"));
  stranger.init(world.cloudUrl);
  await expect(stranger.acceptToken(r.token!)).rejects.toMatchObject({ code: "E_NOT_FOUND" });
  expect(stranger.state().clipShares ?? []).toEqual([]);
}, 60000);

test("share-clip --to a viewer: the TDSK goes through the mailbox; the viewer opens that clip only", async () => {
  const viewer = new Viewer(path.join(tmp, "invited"));
  const { invite, fingerprint } = viewer.init(world.cloudUrl);
  const r = await shareClip(world.phoneA, { clip: c2, invite });
  expect(r.token).toBeNull();
  expect(r.viewerFingerprint).toBe(fingerprint);
  const accepted = await viewer.accept();
  expect(accepted.refused).toEqual([]);
  expect(accepted.accepted).toEqual([]);
  expect(accepted.acceptedClips.map((c) => c.clipId)).toEqual([c2]);
  const opened = await viewer.open(c2, path.join(tmp, "invited-c2.plain"));
  expect(opened.clipId).toBe(c2);
  expect(fs.readFileSync(path.join(tmp, "invited-c2.plain")).equals(await ownerBytes(c2))).toBe(true);
  await expect(viewer.open(c1, path.join(tmp, "invited-c1.plain"))).rejects.toMatchObject({ code: "E_NO_RECIPIENT" });
}, 60000);

test("refused with nothing stored: another account's envelope, another head, an ended share, a tampered envelope", async () => {
  const head1 = toHex(crypto.sha256(await rawHead(c1)));
  const head2 = toHex(crypto.sha256(await rawHead(c2)));
  const later = Date.now() + 3600_000;
  const getShare = async (tdsk: ReturnType<typeof crypto.p256Generate>) => {
    const spki = toBase64Url(spkiFromP256(crypto.p256PublicKey(tdsk)));
    const to = toHex(crypto.sha256(fromBase64Url(spki)));
    const { nonce } = (await (await fetch(`${world.cloudUrl}/v1/mailbox/${to}/challenge`)).json()) as { nonce: string };
    const { proofMessage } = await import("../../host-tools/cloud/mailbox");
    const sig = crypto.ecdsaP256Sign(tdsk, proofMessage(to, nonce, "GET", `/v1/clip-shares/${to}`));
    const res = await fetch(`${world.cloudUrl}/v1/clip-shares/${to}`, { headers: { "x-sealcam-viewer-key": spki, "x-sealcam-nonce": nonce, "x-sealcam-proof": toBase64Url(sig) } });
    return res.status;
  };

  // The clip's id with another clip's head: E_MISADDRESSED.
  const mis = await handMade(world.phoneA, { clipId: c1, headHash: head2, notAfter: later });
  expect(await postClipShare(world.phoneA, mis.envelope)).toEqual({ status: 400, code: "E_MISADDRESSED" });
  expect(await getShare(mis.tdsk)).toBe(404);
  // Already ended: E_SHARE_EXPIRED.
  const ended = await handMade(world.phoneA, { clipId: c1, headHash: head1, notAfter: Date.now() - 1000 });
  expect(await postClipShare(world.phoneA, ended.envelope)).toEqual({ status: 400, code: "E_SHARE_EXPIRED" });
  expect(await getShare(ended.tdsk)).toBe(404);
  // One byte of the sealed key changed: the account signature fails.
  const good = await handMade(world.phoneA, { clipId: c1, headHash: head1, notAfter: later });
  const text = new TextDecoder().decode(good.envelope);
  const ct = /"ct":"([^"]+)"/.exec(text)![1];
  const tampered = new TextEncoder().encode(text.replace(ct, ct.slice(0, 3) + (ct[3] === "A" ? "B" : "A") + ct.slice(4)));
  expect(await postClipShare(world.phoneA, tampered)).toEqual({ status: 400, code: "E_SIGNATURE" });
  expect(await getShare(good.tdsk)).toBe(404);

  // Another account (its own root and signing key): the cloud refuses it from account A's phone; a viewer pinned
  // to account A refuses that account's clip share key from its mailbox.
  const phoneB = new Phone({ home: path.join(tmp, "phone-b"), cloud: world.cloudUrl });
  await phoneB.enroll({ email: "shareclip-b@example.com", password: "another long password" }, "phone-b");
  const foreign = await handMade(phoneB, { clipId: c1, headHash: head1, notAfter: later });
  const asA = new TextDecoder().decode(foreign.envelope).replace(`"accountId":"${phoneB.state().accountId}"`, `"accountId":"${world.phoneA.state().accountId}"`);
  expect(await postClipShare(world.phoneA, foreign.envelope)).toEqual({ status: 403, code: "E_FOREIGN_ACCOUNT" });
  expect(await postClipShare(world.phoneA, new TextEncoder().encode(asA))).toEqual({ status: 403, code: "E_FOREIGN_ACCOUNT" });
  expect(await getShare(foreign.tdsk)).toBe(404);

  const viewer = new Viewer(path.join(tmp, "pinned"));
  const { invite } = viewer.init(world.cloudUrl);
  const mine = await shareClip(world.phoneA, { clip: c1, invite });
  expect((await viewer.accept()).acceptedClips.map((c) => c.shareId)).toEqual([mine.shareId]);
  const stateBefore = fs.readFileSync(viewer.statePath, "utf8");
  const keysBefore = fs.readFileSync(viewer.keystorePath, "utf8");
  const { parseInvite } = await import("../../host-tools/phone/share-envelope");
  const viewerSpki = parseInvite(invite);
  const to = toHex(crypto.sha256(viewerSpki));
  const scalar = crypto.p256Export(foreign.tdsk);
  const { parseSpki } = await import("../../firmware/core/keys");
  const vk = parseSpki(viewerSpki);
  if (vk.kind !== "p256") throw new Error("viewer key");
  const delivery = await sealClipShareKeyEnvelope(crypto, { accountId: phoneB.state().accountId, clipId: c1, key: spkiFromP256(crypto.p256PublicKey(foreign.tdsk)), notAfter: later, shareId: "from-b", to }, vk.point65, scalar, foreign.signer.rootCertDer, (m) => signPss(foreign.signer, m));
  const posted = await fetch(`${world.cloudUrl}/v1/mailbox`, {
    method: "POST", headers: { authorization: `Bearer ${phoneB.state().token}`, "content-type": "application/json" },
    body: JSON.stringify({ to, envelope: toBase64Url(delivery) }),
  });
  expect(posted.status).toBe(200);
  const second = await viewer.accept();
  expect(second.acceptedClips).toEqual([]);
  expect(second.refused.map((x) => x.code)).toEqual(["E_FOREIGN_ACCOUNT"]);
  expect(fs.readFileSync(viewer.statePath, "utf8")).toBe(stateBefore);
  expect(fs.readFileSync(viewer.keystorePath, "utf8")).toBe(keysBefore);
}, 90000);

/** Runs `sealcam phone|viewer ARGV` in this process; stdout and stderr captured. */
async function run(tool: "phone" | "viewer", argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const main = tool === "phone" ? (await import("../../host-tools/phone/cli")).main : (await import("../../host-tools/viewer/cli")).main;
    return await runCli(main, tool === "phone" ? [...argv, "--home", world.phoneA.home, "--cloud", world.cloudUrl] : argv);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test("CLI: share-clip prints the token once, on stdout, said to be a bearer secret; viewer accept --token-file; revoke --clip-share", async () => {
  const home = path.join(tmp, "cli-viewer");
  new Viewer(home).init(world.cloudUrl);
  // A fresh viewer with nothing shared is told so, and what to do (not an empty screen).
  const empty = await run("viewer", ["clips", "--home", home]);
  expect([empty.code, empty.out]).toEqual([0, expect.stringMatching(/^No shared clips yet\. .*sealcam viewer accept/)]);
  const past = await run("phone", ["share-clip", c1, "--until", "2020-01-01T00:00:00Z"]);
  expect(past.code).toBe(2);
  expect(past.err).toMatch(/^sealcam phone: .*not in the future.*\[E_ARGUMENT\]\n$/);

  const shared = await run("phone", ["share-clip", c1, "--until", new Date(Date.now() + 3600_000).toISOString()]);
  expect(shared.code).toBe(0);
  const tokens = shared.out.match(/sealcam-share:1:[A-Za-z0-9_-]{43}/g) ?? [];
  expect(tokens).toHaveLength(1);
  expect(shared.out).toMatch(/ANYONE who holds it \(a bearer secret\)/);
  expect(shared.err).not.toContain("sealcam-share:");
  const token = tokens[0] ?? "";
  const address = /--clip-share ([0-9a-f]{64})/.exec(shared.out)![1];
  // `phone shares` lists it (public facts: the address, the clip, the end), never the token.
  const listed = await run("phone", ["shares", "--json"]);
  expect(listed.code).toBe(0);
  expect(JSON.parse(listed.out)).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "clip-share", address, clipId: c1, ended: false })]));
  expect(listed.out).not.toContain(token.slice(16));

  const tokenFile = path.join(tmp, "token.txt");
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const accepted = await run("viewer", ["accept", "--token-file", tokenFile, "--home", home]);
  expect(accepted.err).toBe("");
  expect(accepted.code).toBe(0);
  expect(accepted.out).toContain(`clip ${c1}`);
  expect(accepted.out).not.toContain(token);
  // The token is never an argument: --token takes none.
  const asArg = await run("viewer", ["accept", "--token", token, "--home", home]);
  expect(asArg.code).toBe(2);
  expect(asArg.out).not.toContain(token.slice(16));

  const opened = await run("viewer", ["open", c1, "--out", path.join(tmp, "cli-c1.plain"), "--home", home]);
  expect(opened.code).toBe(0);
  expect(fs.readFileSync(path.join(tmp, "cli-c1.plain")).equals(await ownerBytes(c1))).toBe(true);

  const withdrawn = await run("phone", ["revoke", "--clip-share", address]);
  expect(withdrawn.code).toBe(0);
  expect((JSON.parse((await run("phone", ["shares", "--json"])).out) as { address?: string }[]).some((x) => x.address === address)).toBe(false);
  const after = await run("viewer", ["open", c1, "--out", path.join(tmp, "cli-after.plain"), "--home", home]);
  expect(after.code).not.toBe(0);
  expect(after.err).toMatch(/\[E_SHARE_REVOKED\]/);
}, 60000);
