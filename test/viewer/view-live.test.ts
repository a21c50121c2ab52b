/**
 * Live View in the loopback viewer (`sealcam phone view`, docs/VIEWER.md "Live View"), in a real headless
 * Chromium: the phone process watches a camera whose firmware runs in XS (session head verified, frames
 * decrypted in order by host-tools/phone/live.ts) and the page draws the newest frame. Checked: the frame
 * counter advances and the canvas pixels change between two reads; Stop ends the session on the camera; a
 * camera without its motion watcher refuses, and the page shows E_STATE with the camera's message. The clip list
 * shows each clip's snapshot as a thumbnail.
 */
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { startViewer, type Viewer } from "../../host-tools/phone/view/server";
import { World } from "../board-sim/harness";
import { liveCamera } from "../helpers/live-camera";
import { inPage as inPageOf, launchChromium, waitInPage as waitInPageOf } from "../helpers/chromium";

jest.setTimeout(120_000);


const world = new World();
let watching: SimulatedBoard;
let watchingId = "";
let blindId = "";
let viewer: Viewer;
let browser: Browser;
let page: Page;

function camera(name: string, motion: boolean): Promise<{ board: SimulatedBoard; cameraId: string }> {
  return liveCamera(world, name, { motion, maxDurationMs: 60_000, snapshot: { enabled: true, width: 160, height: 120, quality: 25 } });
}

function inPage<T = unknown>(expression: string): Promise<T> {
  return inPageOf<T>(page, expression);
}

function waitInPage(expression: string, timeoutMs = 20_000): Promise<void> {
  return waitInPageOf(page, expression, timeoutMs);
}

/** The live frame number and the whole canvas's pixels, read in one task. */
function snapshot(): Promise<{ live: number; pixels: number[] }> {
  return inPage(`(() => {
    const c = document.getElementById("screen");
    return { live: Number(c.dataset.live ?? -1), pixels: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  })()`);
}

beforeAll(async () => {
  await world.start();
  ({ board: watching, cameraId: watchingId } = await camera("live-view-cam", true));
  ({ cameraId: blindId } = await camera("blind-view-cam", false));
  viewer = await startViewer({ phone: world.phoneA });
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1200, height: 760 } })).newPage();
  await page.goto(viewer.url);
  await waitInPage(`document.querySelectorAll("button.live-camera").length === 2`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  await world.close();
});

test("Live: the page shows live frames advancing (counter up, pixels changed); Stop ends the session on the camera", async () => {
  await page.click(`button.live-camera[data-camera="${watchingId}"]`);
  await waitInPage(`Number(document.getElementById("screen").dataset.live ?? -1) >= 0`);
  const a = await snapshot();
  await waitInPage(`Number(document.getElementById("screen").dataset.live ?? -1) >= ${a.live + 3}`);
  const b = await snapshot();
  expect(b.live).toBeGreaterThan(a.live);
  expect(await page.textContent("#counter")).toMatch(/^live · frame \d+ · \d+ received$/);
  expect(await page.textContent("#time")).toMatch(/capture → decrypted \d+ ms/);
  let changed = 0;
  for (let i = 0; i < a.pixels.length; i += 4) if (Math.abs(a.pixels[i] - b.pixels[i]) + Math.abs(a.pixels[i + 1] - b.pixels[i + 1]) > 30) changed++;
  expect(changed).toBeGreaterThan(50);
  expect(b.pixels.some((v, i) => i % 4 !== 3 && v > 16)).toBe(true);
  expect(await page.textContent(`button.live-camera[data-camera="${watchingId}"]`)).toBe("Stop live");
  await page.screenshot({ path: path.join(__dirname, "..", "..", "build", "test-artifacts", "viewer-live.png") });

  const ended = watching.waitForLog("live.end", 10_000);
  await page.click(`button.live-camera[data-camera="${watchingId}"]`);
  expect((await ended).e).toBe("live.end");
  await waitInPage(`document.getElementById("counter").textContent === "live view stopped"`);
  expect(await page.textContent(`button.live-camera[data-camera="${watchingId}"]`)).toBe("Live");
});

test("Live on a camera whose motion watcher is off: the page shows E_STATE with what to do", async () => {
  await page.click(`button.live-camera[data-camera="${blindId}"]`);
  await waitInPage(`!document.getElementById("error").hidden`);
  expect(await page.textContent("#error")).toMatch(/^E_STATE: the camera's motion watcher is off \(live view needs it\): turn motion detection on/);
  expect(await inPage(`document.getElementById("screen").dataset.live ?? null`)).toBeNull();
});

test("the clip list shows each clip's snapshot (opened and verified by the phone process) as a thumbnail", async () => {
  await world.record(watching);
  const [clip] = await world.clips(watchingId, 1);
  const listed = (await world.phoneA.clips()).find((c) => c.clipId === clip.clipId);
  const snapshotId = listed && listed.verified ? listed.snapshot?.snapshotId : undefined;
  expect(snapshotId).toMatch(/^[0-9a-f]{32}$/);
  await page.click("#reload");
  await waitInPage(`(() => { const i = document.querySelector('#clips img[data-snapshot="${snapshotId}"]'); return !!i && i.complete && i.naturalWidth === 160; })()`);
  // Only listed clips' paired snapshots are served; anything else is refused.
  const other = await inPage<number>(`fetch("/api/clips/${"0".repeat(32)}/snapshot").then((r) => r.status)`);
  expect(other).toBe(422);
});
