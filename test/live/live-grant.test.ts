/**
 * The cloud relay's decision for a viewer's live request (PROTOCOL §13.6, host-tools/cloud/live.ts
 * liveViewerGrant), on a real signed roster: admitted only for a stream key the account's current roster lists
 * with `live` for this camera at the cloud's `now`; otherwise E_SHARE_REVOKED (not listed), E_NO_RECIPIENT (no
 * live, another camera, a cloud-held key, not started yet) or E_SHARE_EXPIRED (ended), each with its status.
 */
import * as nodeCrypto from "node:crypto";
import { spkiFromP256 } from "../../firmware/core/keys";
import { assembleRoster, encodeRosterTbs, type RosterRole } from "../../firmware/core/roster";
import type { StreamScope } from "../../firmware/core/stream-scope";
import { rsaPssSha256AlgorithmIdentifier } from "../../firmware/core/x509";
import { liveViewerGrant, type LiveCameraAccount } from "../../host-tools/cloud/live";
import { createAccountSigningKey, issueLeafCertificate, issueStreamCertificate, signPss, type AccountSigningKey } from "../../host-tools/phone/certs";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";

const crypto = new NodeCrypto();
const ACCOUNT = "acct-live-grant";
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const T1 = Date.UTC(2026, 10, 8, 12, 0, 0);

interface Key { keyId: Uint8Array; certificateDer: Uint8Array }
let account: LiveCameraAccount;
let signer: AccountSigningKey;
const keys: Record<string, Key> = {};

async function streamKey(scope: StreamScope): Promise<Key> {
  const spki = spkiFromP256(crypto.p256PublicKey(crypto.p256Generate()));
  return { keyId: crypto.sha256(spki), certificateDer: await issueStreamCertificate(signer, spki, scope) };
}

beforeAll(async () => {
  signer = await createAccountSigningKey(ACCOUNT);
  const phone = await issueLeafCertificate(signer, "phone", "phone one", spkiFromP256(crypto.p256PublicKey(crypto.p256Generate())));
  const data = await issueLeafCertificate(signer, "account-data", "data", new Uint8Array(nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "der", type: "spki" })));
  keys.live = await streamKey({ cameras: ["cam-porch"], streams: ["video", "live"], notBefore: T0, notAfter: T1, holder: "share:live" });
  keys.everyCamera = await streamKey({ cameras: [], streams: ["live"], notBefore: T0, notAfter: null, holder: "share:all" });
  keys.video = await streamKey({ cameras: ["cam-porch"], streams: ["video"], notBefore: T0, notAfter: null, holder: "share:video" });
  keys.cloud = await streamKey({ cameras: [], streams: ["snapshot", "live"], notBefore: T0, notAfter: null, holder: "cloud" });
  keys.revoked = await streamKey({ cameras: ["cam-porch"], streams: ["live"], notBefore: T0, notAfter: null, holder: "share:gone" });
  const entries: { role: RosterRole; certificateDer: Uint8Array }[] = [
    { role: "phone", certificateDer: phone }, { role: "account-data", certificateDer: data },
    ...["live", "everyCamera", "video", "cloud"].map((k) => ({ role: "stream" as const, certificateDer: keys[k].certificateDer })),
  ];
  const tbs = encodeRosterTbs(crypto, { accountId: ACCOUNT, version: 4, issuedAt: T0, entries });
  account = { accountId: ACCOUNT, rootCertificate: signer.rootCertDer, roster: assembleRoster(tbs, rsaPssSha256AlgorithmIdentifier(), await signPss(signer, tbs)) };
});

function outcome(key: Key, cameraId: string, now: number, acct: LiveCameraAccount = account): string {
  try {
    return `ok ${liveViewerGrant(crypto, acct, key.keyId, cameraId, now)}`;
  } catch (error) {
    const e = error as { status?: number; code?: string };
    return `${e.status} ${e.code}`;
  }
}

test("a live key listed by the current roster, for its camera, inside its window: admitted", () => {
  expect(outcome(keys.live, "cam-porch", T0)).toBe("ok share:live");
  expect(outcome(keys.live, "cam-porch", T1 - 1)).toBe("ok share:live");
  expect(outcome(keys.everyCamera, "cam-anything", T1 + 1)).toBe("ok share:all");
});

test("refusals: not listed E_SHARE_REVOKED; no live, another camera, a cloud key, not yet E_NO_RECIPIENT; ended E_SHARE_EXPIRED", () => {
  expect(outcome(keys.revoked, "cam-porch", T0)).toBe("403 E_SHARE_REVOKED");
  expect(outcome(keys.video, "cam-porch", T0)).toBe("403 E_NO_RECIPIENT");
  expect(outcome(keys.live, "cam-garden", T0)).toBe("403 E_NO_RECIPIENT");
  expect(outcome(keys.cloud, "cam-porch", T0)).toBe("403 E_NO_RECIPIENT");
  expect(outcome(keys.live, "cam-porch", T0 - 1)).toBe("403 E_NO_RECIPIENT");
  expect(outcome(keys.live, "cam-porch", T1)).toBe("410 E_SHARE_EXPIRED");
});

test("a stored roster that does not verify against the account's root is the cloud's fault (500), never an admission", async () => {
  const other = await createAccountSigningKey(ACCOUNT);
  expect(outcome(keys.live, "cam-porch", T0, { ...account, rootCertificate: other.rootCertDer })).toBe("500 E_INTERNAL");
  const flipped = Uint8Array.from(account.roster);
  flipped[flipped.length - 10] ^= 1;
  expect(outcome(keys.live, "cam-porch", T0, { ...account, roster: flipped })).toBe("500 E_INTERNAL");
});
