/**
 * The browser as a key holder (issue 13 §3, second mode; docs/VIEWER.md "Browser-key mode") in a real headless
 * Chromium against the real cloud and cameras whose firmware runs in XS. The page (served by the cloud at
 * /viewer/) makes its own non-extractable P-256 key; the test reads its invite from the page; the owner's
 * phone shares camera A's video and snapshots to it; the cameras refresh their rosters and record; the page
 * accepts the share, lists the shared clip with its snapshot as a thumbnail, opens it IN THE PAGE and draws its
 * first frame on the canvas (pixels checked against the phone's own decryption of the same clip). Out of
 * scope: camera B's clip by id and an earlier clip of camera A as a sealed file, both refused in the page with E_NO_RECIPIENT's message. The keys in
 * IndexedDB are non-extractable (exportKey rejects), and no response from the cloud carried key material.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as esbuild from "esbuild";
import * as jpeg from "jpeg-js";
import type { Browser, Page } from "playwright-core";
import { fromBase64Url, toBase64Url, toHex } from "../../firmware/core/bytes";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { createShare, revokeShare } from "../../host-tools/phone/share";
import { fingerprint } from "../../host-tools/phone/share-envelope";
import { proofMessage as cloudProofMessage, PROOF_LABEL as CLOUD_PROOF_LABEL } from "../../host-tools/cloud/mailbox";
import { proofMessage, PROOF_LABEL } from "../../host-tools/web-viewer/core";
import { WEB_VIEWER_CSP } from "../../host-tools/cloud/web-viewer";
import { World } from "../board-sim/harness";
import { clipRecorder } from "../helpers/next-clip";
import { inPage as inPageOf, launchChromium, waitInPage as waitInPageOf } from "../helpers/chromium";

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, "..", "..");
const ARTIFACT = path.join(ROOT, "build", "test-artifacts", "viewer-browser.png");

/** Builds dist/web-viewer as mk/web-viewer.mk does (same entry and flags), replacing files atomically. */
async function buildWebViewer(): Promise<void> {
  const out = path.join(ROOT, "dist", "web-viewer");
  fs.mkdirSync(out, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-webviewer-"));
  await esbuild.build({
    entryPoints: [path.join(ROOT, "host-tools", "web-viewer", "page", "app.ts")], bundle: true, platform: "browser", format: "esm",
    target: "es2022", logLevel: "warning", legalComments: "none", outfile: path.join(tmp, "app.js"),
  });
  for (const f of ["index.html", "viewer.css"]) fs.copyFileSync(path.join(ROOT, "host-tools", "web-viewer", "static", f), path.join(tmp, f));
  for (const f of ["app.js", "index.html", "viewer.css"]) {
    const staged = path.join(out, `.${f}.${process.pid}`);
    fs.copyFileSync(path.join(tmp, f), staged);
    fs.renameSync(staged, path.join(out, f));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

const world = new World();
let camA: SimulatedBoard;
let camB: SimulatedBoard;
let camAId = "";
let camBId = "";
let browser: Browser;
let page: Page;
let tmp: string;
const responses: { url: string; type: string; body: Buffer }[] = [];
const problems: string[] = [];

const recordClip = clipRecorder(world);
async function nextClip(board: SimulatedBoard, cameraId: string): Promise<string> {
  return (await recordClip(board, cameraId)).clipId;
}

/** Evaluates an expression in the page (a string: the host's type world has no DOM types). */
function inPage<T = unknown>(expression: string): Promise<T> {
  return inPageOf<T>(page, expression);
}

function waitInPage(expression: string, timeoutMs = 30_000): Promise<void> {
  return waitInPageOf(page, expression, timeoutMs);
}

async function statusIs(text: string): Promise<void> {
  await waitInPage(`document.getElementById("status").textContent === ${JSON.stringify(text)}`);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-webview-"));
  await buildWebViewer();
  await world.start();
  camA = await world.board("cam-web-a", {
    firmwareConfig: {
      clipMs: 600, sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 }, uploadRetryMs: 200, uploadRetryMaxMs: 500,
      handshakeTimeoutMs: 5000, snapshot: { enabled: true, width: 160, height: 120, quality: 25 },
    },
  });
  camAId = (await world.enrolled(camA)).cameraId;
  camB = await world.board("cam-web-b");
  camBId = (await world.enrolled(camB)).cameraId;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("response", async (res) => {
    try {
      responses.push({ url: res.url(), type: res.headers()["content-type"] ?? "", body: await res.body() });
    } catch {
      // a redirect has no body
    }
  });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await world.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("the mailbox proof the page signs is the cloud's, byte for byte", () => {
  expect(PROOF_LABEL).toBe(CLOUD_PROOF_LABEL);
  const to = "ab".repeat(32);
  expect(toHex(proofMessage(to, "cd".repeat(16), "GET", `/v1/mailbox/${to}`))).toBe(toHex(cloudProofMessage(to, "cd".repeat(16), "GET", `/v1/mailbox/${to}`)));
});

test("browser-key mode: the page's own key, a share to it, a clip opened and drawn in the page; out-of-scope clips refused there", async () => {
  // The page is served by the cloud with a strict CSP, and makes its key.
  const res = await page.goto(`${world.cloudUrl}/viewer/`);
  expect(res?.status()).toBe(200);
  expect(res?.headers()["content-security-policy"]).toBe(WEB_VIEWER_CSP);
  await statusIs("ready");
  const invite = await page.inputValue("#invite");
  const pageFingerprint = (await page.textContent("#fingerprint")) ?? "";
  expect(invite).toMatch(/^SEALCAM-INVITE:1:[A-Za-z0-9_-]+$/);
  expect(pageFingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);

  // The key survives a reload (IndexedDB), and nothing of it can be exported.
  await page.reload();
  await statusIs("ready");
  expect(await page.inputValue("#invite")).toBe(invite);
  expect(await page.textContent("#key-note")).toMatch(/earlier visit/);

  // The owner shares camera A's video with that invite; the phone shows the same fingerprint.
  const before = await nextClip(camA, camAId);
  const scalars: Uint8Array[] = [];
  const original = world.phoneA.crypto.p256Export.bind(world.phoneA.crypto);
  const exportSpy = jest.spyOn(world.phoneA.crypto, "p256Export").mockImplementation((key) => {
    const out = original(key);
    scalars.push(Uint8Array.from(out));
    return out;
  });
  let shared;
  try {
    shared = await createShare(world.phoneA, { invite, cameras: [camAId], streams: ["video", "snapshot"], notAfter: null });
  } finally {
    exportSpy.mockRestore();
  }
  expect(shared.viewerFingerprint).toBe(pageFingerprint);
  expect(scalars.length).toBeGreaterThan(0); // the stream key's private scalar, as the phone sealed it
  expect(await camA.command("roster refresh")).toBe("roster: refreshed");
  expect(await camB.command("roster refresh")).toBe("roster: refreshed");
  const during = await nextClip(camA, camAId);
  const other = await nextClip(camB, camBId);

  // The page accepts the share (pins the account root; fingerprint shown) and lists exactly the shared clip.
  await page.click("#accept");
  await statusIs("ready");
  expect(await page.textContent("#mailbox-result")).toContain(`accepted ${shared.shareId}`);
  const rootFp = fingerprint(world.phoneA.crypto, fromBase64Url(world.phoneA.state().rootCertificate));
  expect(await page.textContent("#root-fingerprint")).toBe(rootFp);
  expect(await inPage(`Array.from(document.querySelectorAll("#clips button[data-clip]")).map((b) => b.dataset.clip)`)).toEqual([during]);

  // Its snapshot (paired from verified heads, opened in the page with the held key) is shown as a thumbnail.
  const listedByPhone = (await world.phoneA.clips()).find((c) => c.clipId === during);
  const snapshotId = listedByPhone && listedByPhone.verified ? listedByPhone.snapshot?.snapshotId : undefined;
  expect(snapshotId).toMatch(/^[0-9a-f]{32}$/);
  await waitInPage(`(() => { const i = document.querySelector('#clips img[data-snapshot="${snapshotId}"]'); return !!i && i.complete && i.naturalWidth === 160; })()`);

  // Open it in the page: the first frame is drawn on the canvas, matching the phone's own decryption.
  await page.click(`#clips button[data-clip="${during}"]`);
  await statusIs("opened");
  expect(await page.textContent("#error")).toBe("");
  expect(await page.getAttribute("#counter", "data-frame")).toBe("1");
  const framesDir = path.join(tmp, "phone-frames");
  const opened = await world.phoneA.open(during, null, framesDir);
  expect(opened.frames).toBeGreaterThan(1);
  const first = fs.readdirSync(framesDir).sort()[0];
  const reference = jpeg.decode(fs.readFileSync(path.join(framesDir, first)), { useTArray: true });
  const drawn = await inPage<{ width: number; height: number; data: number[] }>(`(() => {
    const c = document.getElementById("canvas");
    return { width: c.width, height: c.height, data: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  })()`);
  expect([drawn.width, drawn.height]).toEqual([reference.width, reference.height]);
  let diff = 0;
  let samples = 0;
  let lit = 0;
  for (let y = 4; y < reference.height; y += 8) {
    for (let x = 4; x < reference.width; x += 8) {
      const i = (y * reference.width + x) * 4;
      for (let ch = 0; ch < 3; ch++) {
        diff += Math.abs(drawn.data[i + ch] - reference.data[i + ch]);
        if (drawn.data[i + ch] > 16) lit++;
        samples++;
      }
    }
  }
  expect(lit).toBeGreaterThan(samples / 4); // a picture, not a black canvas
  expect(diff / samples).toBeLessThan(6); // the same image, up to the two JPEG decoders' rounding
  expect(await page.textContent("#facts")).toContain(during);

  // Stepping advances the frame counter and changes what is drawn.
  await page.click("#next");
  await waitInPage(`document.getElementById("counter").dataset.frame === "2"`);

  await page.screenshot({ path: ARTIFACT, fullPage: true });

  // Out of scope, refused IN THE PAGE with the typed error's message: camera B's clip by id ...
  await page.fill("#clip-id", other);
  await page.click("#open-id");
  await statusIs("refused");
  expect(await page.textContent("#error")).toMatch(/^E_NO_RECIPIENT: this clip is not shared with this browser/);
  // ... and camera A's clip from before the share, as a sealed file: decided from its verified signed head.
  const sealed = Buffer.from(await (await fetch(`${world.cloudUrl}/v1/clips/${before}`, { headers: { authorization: `Bearer ${world.phoneA.state().token}` } })).arrayBuffer());
  await inPage(`document.getElementById("status").textContent = ""`);
  await page.setInputFiles("#clip-file", { name: "before.sealed", mimeType: "application/octet-stream", buffer: sealed });
  await statusIs("refused");
  expect(await page.textContent("#error")).toBe(
    "E_NO_RECIPIENT: this clip is not shared with this browser: it is not wrapped to any stream key you hold (recorded before the share, by another camera, or outside the share)",
  );

  // Every private key the page holds is a non-extractable CryptoKey: exportKey rejects for each.
  const keys = await inPage(`(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open("sealcam-viewer");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const get = (k) => new Promise((resolve, reject) => {
      const r = db.transaction("kv").objectStore("kv").get(k);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const identity = await get("identity");
    const shares = await get("shares");
    const verdicts = [];
    for (const key of [identity.ecdh, identity.ecdsa, ...shares.map((s) => s.key)]) {
      let exported = false;
      for (const format of ["jwk", "pkcs8"]) {
        try {
          await crypto.subtle.exportKey(format, key);
          exported = true;
        } catch {
          // refused: the key is not extractable
        }
      }
      verdicts.push({ type: key.type, extractable: key.extractable, exported });
    }
    return verdicts;
  })()`);
  expect(keys).toEqual([
    { type: "private", extractable: false, exported: false },
    { type: "private", extractable: false, exported: false },
    { type: "private", extractable: false, exported: false },
  ]);

  // What the cloud sent: the page's code, public data and ciphertext; the stream key's scalar in no form.
  const api = responses.filter((r) => new URL(r.url).pathname.startsWith("/v1/"));
  expect(api.length).toBeGreaterThan(5);
  for (const r of responses) {
    for (const scalar of scalars) {
      for (const form of [Buffer.from(scalar), Buffer.from(toHex(scalar)), Buffer.from(toBase64Url(scalar))]) expect(r.body.includes(form)).toBe(false);
    }
  }
  for (const r of api) {
    if (r.type.startsWith("application/octet-stream")) continue; // clip heads and sealed clips
    expect(r.type).toMatch(/^application\/json/);
    // Every field name anywhere in the reply: each is public data (ids, times, certificates, the signed roster,
    // share envelopes whose only secret is HPKE ciphertext to this browser's key).
    const keysOf = (v: unknown): string[] => (v && typeof v === "object" ? Object.entries(v).flatMap(([k, x]) => [Array.isArray(v) ? "" : k, ...keysOf(x)]) : []);
    const names = new Set(keysOf(JSON.parse(r.body.toString())).filter(Boolean));
    for (const n of names) expect([
      "nonce", "expiresAt", "messages", "id", "envelope", "receivedAt", "deleted", "code", "message", "accounts", "accountId", "rootCertificate", "roster",
      "cameraCertificates", "clips", "clipId", "cameraId", "startTime", "contentType", "size", "uploadedAt",
    ]).toContain(n);
  }
  expect(problems.filter((p) => !/Failed to load resource: the server responded with a status of 404/.test(p))).toEqual([]);
});

test("a share revoked before the page accepts it is refused in the page (E_SHARE_REVOKED), nothing stored", async () => {
  const other = await (await browser.newContext()).newPage();
  await other.goto(`${world.cloudUrl}/viewer/`);
  const inOther = <T>(expression: string) => other.evaluate(expression) as Promise<T>;
  const deadline = Date.now() + 20_000;
  while ((await inOther<string>(`document.getElementById("status").textContent`)) !== "ready") {
    if (Date.now() > deadline) throw new Error("the second page did not get ready");
    await new Promise((r) => setTimeout(r, 20));
  }
  const shared = await createShare(world.phoneA, { invite: await other.inputValue("#invite"), cameras: [camAId], streams: ["video"], notAfter: null });
  await revokeShare(world.phoneA, shared.shareId);
  await other.click("#accept");
  while (!/refused/.test((await other.textContent("#mailbox-result")) ?? "")) {
    if (Date.now() > deadline + 20_000) throw new Error("the mailbox result did not come");
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await other.textContent("#mailbox-result")).toMatch(new RegExp(`refused [0-9a-f]{8}: E_SHARE_REVOKED: share ${shared.shareId} was revoked`));
  expect(await inOther(`new Promise((resolve) => { const r = indexedDB.open("sealcam-viewer"); r.onsuccess = () => { const g = r.result.transaction("kv").objectStore("kv").get("shares"); g.onsuccess = () => resolve(g.result ?? null); }; })`)).toBeNull();
  expect(await other.textContent("#root-fingerprint")).toMatch(/none yet/);
});
