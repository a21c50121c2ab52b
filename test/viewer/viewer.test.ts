/**
 * `sealcam phone view` (issue 13 §3, first mode: the phone decrypts, the page shows), in a real headless
 * Chromium (Debian's /usr/bin/chromium driven by playwright-core): a real cloud, an enrolled phone, clips of
 * solid-colour JPEG frames sealed by a test camera. A hostile proxy between the viewer's phone and the cloud
 * flips one byte of one clip's ciphertext and of another clip's head. Checked: the loopback gate (Host
 * header, per-run token, cookie, Origin), the listing (verified and unverified), playback drawn on the canvas
 * (pixels, frame counter advancing, stepping), the sealing facts, and a tampered clip refused in the page
 * with nothing drawn and nothing served.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as jpeg from "jpeg-js";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { PREAMBLE_LENGTH } from "../../firmware/core/clip/constants";
import { headLengthFromPreamble } from "../../firmware/core/clip/head";
import { HostileCloud, listFiles, phoneVia, World, type TestCamera } from "../phone/fixture";
import { uploadVideoClip, type VideoClip } from "../phone/video-fixture";
import { COOKIE_NAME, startViewer, VIEWER_CSP, type Viewer } from "../../host-tools/phone/view/server";
import { inPage, launchChromium, waitInPage } from "../helpers/chromium";

const WIDTH = 160;
const HEIGHT = 120;
/** Three frames of distinct solid colours, 400 ms apart. */
const COLOURS: [number, number, number][] = [[220, 40, 40], [40, 190, 70], [40, 70, 220]];
const T0 = 1_795_958_451_523;
const TIMES = [T0, T0 + 400, T0 + 800];
/** Baseline JPEG at quality 90 of a flat colour: the decoded centre pixel is within a few levels. */
const TOLERANCE = 10;
const ARTIFACT = path.join(__dirname, "..", "..", "build", "test-artifacts", "viewer.png");

function solidJpeg([r, g, b]: [number, number, number]): Uint8Array {
  const data = Buffer.alloc(WIDTH * HEIGHT * 4);
  for (let i = 0; i < WIDTH * HEIGHT; i++) data.set([r, g, b, 255], i * 4);
  return new Uint8Array(jpeg.encode({ data, width: WIDTH, height: HEIGHT }, 90).data);
}

let world: World;
let cam: TestCamera;
let hostile: HostileCloud;
let good: VideoClip;
let tampered: VideoClip;
let badHead: VideoClip;
let viewer: Viewer;
let browser: Browser;
let context: BrowserContext;
const pageProblems: string[] = [];

beforeAll(async () => {
  world = await World.start("viewer");
  cam = await world.addCamera("cam-viewer00000001");
  const frames = COLOURS.map(solidJpeg);
  good = await uploadVideoClip(world, cam, { frames, times: TIMES });
  tampered = await uploadVideoClip(world, cam, { frames, times: TIMES.map((t) => t + 60_000) });
  badHead = await uploadVideoClip(world, cam, { frames, times: TIMES.map((t) => t + 120_000) });
  hostile = new HostileCloud(world.cloud.url);
  hostile.lie = async ({ method, url }, forward) => {
    const flip = (url === `/v1/clips/${tampered.clipId}` || url === `/v1/clips/${badHead.clipId}/head`) && method === "GET";
    if (!flip) return undefined;
    const real = await forward();
    const body = Buffer.from(real.body);
    // The whole clip: one bit of the first sealed segment (100 bytes past the head). The head: one bit of
    // the camera's signature (its last bytes).
    if (url.endsWith("/head")) body[body.length - 10] ^= 0x01;
    else body[headLengthFromPreamble(new Uint8Array(body.subarray(0, PREAMBLE_LENGTH))) + 100] ^= 0x01;
    return { status: real.status, body };
  };
  await hostile.start();
  viewer = await startViewer({ phone: phoneVia(world.phone, hostile.url) });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
}, 40_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await viewer?.close();
  await hostile?.close();
  await world?.close();
});

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (e) => pageProblems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // The refusals this test provokes (403, 404, 422) are logged by Chromium as failed loads: expected.
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of (403|404|422)/.test(m.text())) pageProblems.push(`console: ${m.text()}`);
  });
  return page;
}

/** A raw request with chosen headers (a browser would not let a test forge Host). */
function request(p: string, headers: Record<string, string>, method = "GET"): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: viewer.port, path: p, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The canvas's centre pixel and the frame counter, read in one task (so they belong together). */
function centre(page: Page): Promise<{ pixel: number[]; counter: string; frame: string | null }> {
  return inPage(page, `(() => {
    const canvas = document.getElementById("screen");
    const d = canvas.getContext("2d").getImageData(Math.floor(canvas.width / 2), Math.floor(canvas.height / 2), 1, 1).data;
    return { pixel: Array.from(d), counter: document.getElementById("counter").textContent, frame: canvas.dataset.frame ?? null };
  })()`);
}

function expectColour(pixel: number[], [r, g, b]: [number, number, number]): void {
  expect(Math.abs(pixel[0] - r)).toBeLessThanOrEqual(TOLERANCE);
  expect(Math.abs(pixel[1] - g)).toBeLessThanOrEqual(TOLERANCE);
  expect(Math.abs(pixel[2] - b)).toBeLessThanOrEqual(TOLERANCE);
  expect(pixel[3]).toBe(255);
}

describe("the loopback gate", () => {
  const host = () => `127.0.0.1:${viewer.port}`;
  const cookie = () => `${COOKIE_NAME}=${viewer.token}`;

  test("listens on 127.0.0.1 only, with the token in the printed URL", () => {
    expect(viewer.url).toBe(`http://127.0.0.1:${viewer.port}/?token=${viewer.token}`);
    expect(viewer.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(viewer.workDir).mode & 0o777).toBe(0o700);
    expect(viewer.workDir.startsWith(world.phone.home + path.sep)).toBe(true);
  });

  test("without the token, with a wrong one, or from a foreign Host: 403 with the strict CSP", async () => {
    for (const [p, headers] of [
      ["/", { host: host() }],
      ["/viewer.js", { host: host() }],
      ["/api/clips", { host: host() }],
      [`/api/clips/${good.clipId}/frames/0`, { host: host() }],
      ["/?token=" + "A".repeat(43), { host: host() }],
      ["/?token=" + viewer.token.slice(0, 20), { host: host() }],
      ["/api/clips", { host: host(), cookie: `${COOKIE_NAME}=${"B".repeat(43)}` }],
      // DNS rebinding: a page on another name resolved to 127.0.0.1 sends its own Host.
      [`/?token=${viewer.token}`, { host: `evil.example:${viewer.port}` }],
      ["/api/clips", { host: `evil.example:${viewer.port}`, cookie: cookie() }],
      ["/api/clips", { host: `127.0.0.1.evil.example:${viewer.port}`, cookie: cookie() }],
      ["/api/clips", { host: "127.0.0.1:1", cookie: cookie() }],
      // A cross-site request carrying the cookie anyway.
      ["/api/clips", { host: host(), cookie: cookie(), "sec-fetch-site": "cross-site" }],
    ] as [string, Record<string, string>][]) {
      const res = await request(p, headers);
      expect({ p, headers, status: res.status }).toEqual({ p, headers, status: 403 });
      expect(res.headers["content-security-policy"]).toBe(VIEWER_CSP);
      expect(res.body).not.toContain(viewer.token);
    }
    // A state-changing request from another origin, even with the cookie.
    const post = await request(`/api/clips/${good.clipId}/open`, { host: host(), cookie: cookie(), origin: "http://evil.example" }, "POST");
    expect(post.status).toBe(403);
    // No frames were served to anyone: nothing is opened yet.
    expect(listFiles(viewer.workDir)).toEqual([]);
  });

  test("the token sets an HttpOnly SameSite=Strict cookie and redirects it out of the address bar", async () => {
    const res = await request(`/?token=${viewer.token}`, { host: host() });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/");
    expect(res.headers["set-cookie"]).toEqual([`${COOKIE_NAME}=${viewer.token}; HttpOnly; SameSite=Strict; Path=/`]);
    const page = await request("/", { host: host(), cookie: cookie() });
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toBe(VIEWER_CSP);
    expect(VIEWER_CSP).toContain("default-src 'self'");
    expect(VIEWER_CSP).toContain("img-src 'self' blob:");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.body).not.toMatch(/<script>|<style|\son[a-z]+=|style=/i);
  });

  test("in Chromium: the page without the token is 403", async () => {
    const page = await newPage();
    const res = await page.goto(`${viewer.origin}/`);
    expect(res?.status()).toBe(403);
    expect(await page.textContent("body")).toContain("open the URL");
    await page.close();
  });
});

describe("in Chromium with the token", () => {
  let page: Page;

  test("lists the cameras and the clips: verified ones playable, an unverified one with its reason and no play button", async () => {
    page = await newPage();
    const res = await page.goto(viewer.url);
    expect(res?.status()).toBe(200);
    expect(page.url()).toBe(`${viewer.origin}/`);
    await page.waitForSelector(`#clips tr[data-clip="${good.clipId}"] button.play-clip`);
    await page.waitForSelector(`#cameras td:has-text("${cam.cameraId}")`);
    expect(await page.textContent("#cameras tbody")).toContain("verified");
    const rows = await inPage<{ clip: string; text: string; play: boolean }[]>(page, `Array.from(document.querySelectorAll("#clips tbody tr"), (tr) => ({
      clip: tr.dataset.clip, text: Array.from(tr.cells, (c) => c.textContent).join(" | "), play: tr.querySelector("button.play-clip") !== null,
    }))`);
    const byId = new Map(rows.map((r) => [r.clip, r]));
    expect(rows).toHaveLength(3);
    expect(byId.get(good.clipId)).toMatchObject({ play: true });
    expect(byId.get(good.clipId)!.text).toContain(cam.cameraId);
    expect(byId.get(tampered.clipId)).toMatchObject({ play: true });
    expect(byId.get(badHead.clipId)).toMatchObject({ play: false });
    // The CSP holds in the browser: an inline script (as an injection would add) does not run.
    expect(await inPage(page, `(() => {
      const s = document.createElement("script");
      s.textContent = "window.inlineRan = true";
      document.body.appendChild(s);
      s.remove();
      return window.inlineRan === true;
    })()`)).toBe(false);
    // Chromium reports the refusal; that report is this probe's, not a problem of the page.
    for (let i = 0; i < 100 && !pageProblems.some((p) => p.includes("violates the following Content Security Policy")); i++) await new Promise((r) => setTimeout(r, 20));
    const violation = pageProblems.findIndex((p) => p.includes("Executing inline script violates the following Content Security Policy directive 'script-src 'self''"));
    expect(violation).toBeGreaterThanOrEqual(0);
    pageProblems.splice(violation, 1);
    expect(byId.get(badHead.clipId)!.text).toMatch(/^UNVERIFIED \| E_SIGNATURE: clip header signature does not verify.*; it cannot be played$/);
  });

  test("plays a clip on the canvas: the frame counter advances 1, 2, 3 and each frame's colour is drawn", async () => {
    // Every text the frame counter shows, in order.
    await inPage(page, `(() => {
      const counter = document.getElementById("counter");
      window.seen = [];
      new MutationObserver(() => window.seen.push(counter.textContent)).observe(counter, { childList: true, characterData: true, subtree: true });
    })()`);
    await page.click(`#clips tr[data-clip="${good.clipId}"] button.play-clip`);
    await waitInPage(page, `document.getElementById("counter").textContent === "frame 3 / 3"`);
    const seen = (await inPage<string[]>(page, "window.seen")).filter((t) => t.startsWith("frame"));
    expect(seen).toEqual(["frame 1 / 3", "frame 2 / 3", "frame 3 / 3"]);
    const last = await centre(page);
    expect(last.frame).toBe("3");
    expectColour(last.pixel, COLOURS[2]);
    expect(await page.textContent("#play")).toBe("Play again");

    // Stepping back draws the earlier frames again, from the same verified plaintext.
    await page.click("#prev");
    await waitInPage(page, `document.getElementById("screen").dataset.frame === "2"`);
    expectColour((await centre(page)).pixel, COLOURS[1]);
    await page.click("#prev");
    await waitInPage(page, `document.getElementById("screen").dataset.frame === "1"`);
    const first = await centre(page);
    expect(first.counter).toBe("frame 1 / 3");
    expectColour(first.pixel, COLOURS[0]);
    expect(await inPage(page, `[document.getElementById("screen").width, document.getElementById("screen").height]`)).toEqual([WIDTH, HEIGHT]);
  });

  test("shows the sealing facts the phone just verified: recipients, signature, segments, roster", async () => {
    const facts = await inPage<Record<string, string>>(page, `Object.fromEntries(Array.from(document.querySelectorAll("#facts dt"), (dt) => [dt.textContent, dt.nextElementSibling.textContent]))`);
    expect(facts["Clip id"]).toBe(good.clipId);
    expect(facts["Camera"]).toBe(cam.cameraId);
    expect(facts["Camera signature"]).toMatch(/^valid/);
    // The frames plaintext (12-byte record headers + JPEGs) in 16 KiB segments, the last one partial (FORMAT §7).
    const plaintext = good.jpegs.reduce((n, j) => n + 12 + j.length, 0);
    expect(facts["Segments"]).toBe(`${Math.floor(plaintext / 16384) + 1}, each authenticated`);
    expect(facts["Roster version"]).toBe("v1");
    expect(facts["Opened with"]).toBe("this phone's key");
    expect(facts["Video"]).toBe(`3 frames, ${WIDTH}×${HEIGHT}, 1.20 s`);
    const recipients = await inPage<string[][]>(page, `Array.from(document.querySelectorAll("#recipients tbody tr"), (tr) => Array.from(tr.cells, (c) => c.textContent))`);
    const phoneKeyId = world.phone.state().phoneKeyId;
    const dataKeyId = (await world.phone.roster()).entries.find((e) => e.role === "account-data")!.keyId;
    // The header's order (the roster's), whichever key id sorts first.
    expect([...recipients].sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      ["hpke-p256-sha256-aes128gcm", `${phoneKeyId.slice(0, 16)}…`, "this phone (sealcam phone phone-a) · opened with this key"],
      ["rsa-oaep-sha256", `${dataKeyId.slice(0, 16)}…`, "account data key (sealcam account data key)"],
    ]);
    // The list now knows the opened clip's duration.
    expect(await page.textContent(`#clips tr[data-clip="${good.clipId}"] td:nth-child(4)`)).toBe("1.20 s");
    fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    expect(fs.statSync(ARTIFACT).size).toBeGreaterThan(10_000);
  });

  test("a tampered clip: the page shows the error with its code, draws nothing, and no plaintext is served", async () => {
    await page.click(`#clips tr[data-clip="${tampered.clipId}"] button.play-clip`);
    await page.waitForSelector("#error:not([hidden])", { timeout: 10_000 });
    const message = (await page.textContent("#error")) ?? "";
    expect(message).toMatch(/^E_SEGMENT: /);
    expect(await page.textContent("#error .code")).toBe("E_SEGMENT");
    const shown = await centre(page);
    expect(shown.pixel).toEqual([0, 0, 0, 0]);
    expect(shown.frame).toBeNull();
    expect(shown.counter).toBe("not played");
    expect(await page.isHidden("#facts")).toBe(true);
    const status = await inPage(page, `fetch("/api/clips/${tampered.clipId}/frames/0").then((r) => r.status)`);
    expect(status).toBe(404);
    // Only the verified clip's plaintext exists; the tampered one left nothing behind.
    expect(listFiles(viewer.workDir)).toEqual([expect.stringMatching(/^clip-[^/]+\/clip\.plain$/)]);
    expect(hostile.requests).toContain(`GET /v1/clips/${tampered.clipId}`);
    // The verified clip still plays after the refusal.
    await page.click(`#clips tr[data-clip="${good.clipId}"] button.play-clip`);
    await waitInPage(page, `document.getElementById("counter").textContent === "frame 3 / 3"`);
    expectColour((await centre(page)).pixel, COLOURS[2]);
    expect(await page.isHidden("#error")).toBe(true);
    expect(pageProblems).toEqual([]);
  });

  test("closing the viewer deletes what it decrypted", async () => {
    await page.close();
    expect(listFiles(viewer.workDir)).toHaveLength(1);
    await viewer.close();
    expect(fs.existsSync(viewer.workDir)).toBe(false);
  });
});
