// sealcam viewer page (served by `sealcam phone view` on 127.0.0.1). The phone process verifies and decrypts;
// this page only lists, draws frames on a canvas and shows the facts the phone established. Everything from
// the server is put in the page as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("screen");
const ctx = canvas.getContext("2d");

let clip = null; // the opened clip's summary from POST /api/clips/:id/open
let current = -1; // index of the frame on the canvas
let playing = false;
let generation = 0; // bumps on every open, play, pause, step: stale async work checks it and stops

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells, className) {
  const tr = document.createElement("tr");
  if (className) tr.className = className;
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.appendChild(cell);
    else td.textContent = cell === null || cell === undefined ? "" : String(cell);
    tr.appendChild(td);
  }
  return tr;
}

function when(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`;
}

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function api(method, url) {
  const res = await fetch(url, { method, credentials: "same-origin", cache: "no-store" });
  const type = res.headers.get("content-type") || "";
  if (type.startsWith("application/json")) {
    const body = await res.json();
    if (!res.ok) throw new ApiError(body.error ? body.error.code : `HTTP_${res.status}`, body.error ? body.error.message : res.statusText);
    return body;
  }
  if (!res.ok) throw new ApiError(`HTTP_${res.status}`, (await res.text()).trim());
  throw new ApiError("E_FORMAT", "unexpected reply from the viewer");
}

function showError(code, message) {
  const box = $("error");
  box.replaceChildren(el("span", code, "code"), document.createTextNode(`: ${message}`));
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

// ---- cameras -------------------------------------------------------------------------------------------

async function loadCameras() {
  const body = $("cameras").tBodies[0];
  try {
    const { cameras } = await api("GET", "/api/cameras");
    body.replaceChildren();
    if (cameras.length === 0) body.appendChild(row(["no cameras yet", "", ""]));
    for (const c of cameras) {
      const cert = c.certificateVerified ? el("span", "verified", "ok") : el("span", `NOT VERIFIED: ${c.certificateProblem}`, "bad");
      let status = "not reported yet";
      if (c.status) {
        status = `seals to roster v${c.status.rosterVersion}, ${c.status.queued} queued, reported ${when(c.status.reportedAt)}`;
        if (c.status.rosterProblem) status += `; refuses roster v${c.status.rosterProblem.version}: ${c.status.rosterProblem.code}`;
      }
      const live = el("button", "Live");
      live.type = "button";
      live.className = "live-camera";
      live.dataset.camera = c.cameraId;
      live.addEventListener("click", () => (liveCamera === c.cameraId ? void stopLive() : void startLive(c.cameraId)));
      body.appendChild(row([el("span", c.cameraId, "mono"), cert, status, live]));
    }
  } catch (error) {
    body.replaceChildren(row([`${error.code || "E_NETWORK"}: ${error.message}`, "", ""], "unverified"));
  }
}

// ---- live view -----------------------------------------------------------------------------------------
// The phone process watches (verifies the camera's signed session head, decrypts each frame in order); this
// page polls for the newest decrypted frame and draws it. Frames are never stored.

let liveCamera = null; // the camera being watched, or null
let liveGeneration = 0;

function liveButtons() {
  for (const b of document.querySelectorAll("button.live-camera")) b.textContent = b.dataset.camera === liveCamera ? "Stop live" : "Live";
}

async function startLive(cameraId) {
  // Leave whatever clip was playing: the canvas is the live picture now.
  generation++;
  playing = false;
  clip = null;
  current = -1;
  clearError();
  clearFacts();
  setButtons();
  if (liveCamera !== null && liveCamera !== cameraId) await stopLive();
  const gen = ++liveGeneration;
  liveCamera = cameraId;
  liveButtons();
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  delete canvas.dataset.frame;
  delete canvas.dataset.live;
  $("counter").textContent = `live: asking ${cameraId}…`;
  $("time").textContent = "";
  try {
    await api("POST", `/api/live/${encodeURIComponent(cameraId)}/start`);
    let shown = -1;
    while (gen === liveGeneration) {
      const status = await api("GET", `/api/live/${encodeURIComponent(cameraId)}`);
      if (gen !== liveGeneration) return;
      if (status.frame && status.frame.index !== shown) {
        const res = await fetch(`/api/live/${encodeURIComponent(cameraId)}/frame`, { credentials: "same-origin", cache: "no-store" });
        if (res.ok) {
          const index = Number(res.headers.get("x-sealcam-frame"));
          const image = await createImageBitmap(await res.blob());
          if (gen !== liveGeneration) return image.close();
          if (canvas.width !== image.width || canvas.height !== image.height) {
            canvas.width = image.width;
            canvas.height = image.height;
          }
          ctx.drawImage(image, 0, 0);
          image.close();
          shown = index;
          canvas.dataset.live = String(index);
          $("counter").textContent = `live · frame ${index + 1} · ${status.frames} received`;
          $("time").textContent = `${when(status.frame.time)} · capture → decrypted ${status.frame.latencyMs} ms`;
        }
      }
      if (status.state === "failed") {
        showError(status.error.code, status.error.message);
        $("counter").textContent = "live view refused or failed";
        break;
      }
      if (status.state === "ended") {
        $("counter").textContent = status.ended && status.ended.by === "camera"
          ? `live view ended by the camera (${status.ended.reason || "final frame"})`
          : "live view stopped";
        break;
      }
      await sleep(100);
    }
  } catch (error) {
    if (gen === liveGeneration) showError(error.code || "E_NETWORK", error.message);
  }
  if (gen === liveGeneration) {
    liveCamera = null;
    liveButtons();
  }
}

async function stopLive() {
  const cameraId = liveCamera;
  liveGeneration++;
  liveCamera = null;
  liveButtons();
  if (cameraId === null) return;
  $("counter").textContent = "live view stopped";
  try {
    await api("POST", `/api/live/${encodeURIComponent(cameraId)}/stop`);
  } catch (error) {
    showError(error.code || "E_NETWORK", error.message);
  }
}

// ---- clips ---------------------------------------------------------------------------------------------

async function loadClips() {
  const body = $("clips").tBodies[0];
  try {
    const { clips } = await api("GET", "/api/clips");
    body.replaceChildren();
    if (clips.length === 0) body.appendChild(row(["no clips yet", "", "", "", ""]));
    for (const c of clips) {
      if (!c.verified) {
        const tr = row([el("span", "UNVERIFIED", "bad"), `${c.reason} (listed as ${c.clipId}); it cannot be played`], "unverified");
        tr.cells[1].colSpan = 5;
        tr.cells[1].className = "reason";
        tr.dataset.clip = c.clipId;
        body.appendChild(tr);
        continue;
      }
      let action;
      if (!c.uploadComplete) action = el("span", "still uploading", "note");
      else {
        action = el("button", "Play");
        action.type = "button";
        action.className = "play-clip";
        action.addEventListener("click", () => openClip(c.clipId));
      }
      const duration = c.durationMs === null ? el("span", "after opening", "note") : seconds(c.durationMs);
      const snapshot = c.snapshot ? el("span", "…", "note") : el("span", "none", "note");
      const tr = row([when(c.startTime), el("span", c.cameraId, "mono"), c.sequence, duration, action, snapshot]);
      if (c.snapshot) void loadSnapshot(c.clipId, c.snapshot.snapshotId, tr.cells[5]);
      tr.dataset.clip = c.clipId;
      if (clip && clip.clipId === c.clipId) tr.className = "current";
      body.appendChild(tr);
    }
  } catch (error) {
    body.replaceChildren(row([`${error.code || "E_NETWORK"}: ${error.message}`, "", "", "", ""], "unverified"));
  }
}

/** A clip's snapshot, opened and verified by the phone process (GET /api/clips/:id/snapshot), as a thumbnail. */
async function loadSnapshot(clipId, snapshotId, cell) {
  try {
    const res = await fetch(`/api/clips/${clipId}/snapshot`, { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new ApiError(body && body.error ? body.error.code : `HTTP_${res.status}`, body && body.error ? body.error.message : "snapshot not available");
    }
    const img = document.createElement("img");
    img.className = "snapshot";
    img.alt = `snapshot of ${clipId.slice(0, 12)}`;
    img.dataset.snapshot = snapshotId;
    const url = URL.createObjectURL(await res.blob());
    img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    img.addEventListener("error", () => URL.revokeObjectURL(url), { once: true });
    img.src = url;
    cell.replaceChildren(img);
  } catch (error) {
    const note = el("span", error.code || "E_NETWORK", "bad");
    note.title = error.message;
    cell.replaceChildren(note);
  }
}

// ---- player --------------------------------------------------------------------------------------------

function setButtons() {
  const has = clip !== null;
  $("play").disabled = !has;
  $("play").textContent = playing ? "Pause" : has && current === clip.frames.length - 1 ? "Play again" : "Play";
  $("prev").disabled = !has || playing || current <= 0;
  $("next").disabled = !has || playing || current >= clip.frames.length - 1;
}

async function bitmap(i) {
  const res = await fetch(`/api/clips/${clip.clipId}/frames/${i}`, { credentials: "same-origin", cache: "no-store" });
  if (!res.ok) throw new ApiError(`HTTP_${res.status}`, "frame not available");
  return createImageBitmap(await res.blob());
}

function draw(i, image) {
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  image.close();
  current = i;
  const t0 = clip.frames[0].time;
  $("counter").textContent = `frame ${i + 1} / ${clip.frames.length}`;
  $("time").textContent = `${seconds(clip.frames[i].time - t0)} / ${seconds(clip.durationMs)} · ${when(clip.frames[i].time)}`;
  canvas.dataset.frame = String(i + 1);
  setButtons();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A pause longer than this in the camera's timestamps is shortened to it when playing. */
const MAX_GAP_MS = 2000;

async function playFrom(gen) {
  const frames = clip.frames;
  let anchor = performance.now();
  let base = frames[current].time;
  while (playing && gen === generation && current < frames.length - 1) {
    const next = current + 1;
    const image = await bitmap(next);
    const gap = frames[next].time - frames[current].time;
    if (gap > MAX_GAP_MS) base += gap - MAX_GAP_MS;
    const wait = anchor + (frames[next].time - base) - performance.now();
    if (wait > 0) await sleep(wait);
    if (!playing || gen !== generation) {
      image.close();
      return;
    }
    draw(next, image);
  }
  if (gen === generation) {
    playing = false;
    setButtons();
  }
}

function play() {
  if (!clip) return;
  const gen = ++generation;
  const start = current >= clip.frames.length - 1 ? 0 : current;
  playing = true;
  setButtons();
  (async () => {
    if (start !== current) draw(start, await bitmap(start));
    await playFrom(gen);
  })().catch((error) => {
    playing = false;
    setButtons();
    showError(error.code || "E_NETWORK", error.message);
  });
}

function pause() {
  generation++;
  playing = false;
  setButtons();
}

async function step(delta) {
  if (!clip || playing) return;
  const i = current + delta;
  if (i < 0 || i >= clip.frames.length) return;
  const gen = ++generation;
  const image = await bitmap(i);
  if (gen !== generation) return image.close();
  draw(i, image);
}

function showFacts(c) {
  const s = c.sealing;
  const facts = $("facts");
  facts.replaceChildren();
  const add = (term, value, className) => {
    facts.appendChild(el("dt", term));
    facts.appendChild(el("dd", value, className));
  };
  add("Clip id", c.clipId, "mono");
  add("Camera", c.cameraId, "mono");
  add("Sequence", c.sequence);
  add("Start", when(c.startTime));
  add("Camera signature", s.cameraSignatureValid ? "valid (head and footer, checked just now by the phone)" : "NOT valid", s.cameraSignatureValid ? "ok" : "bad");
  add("Segments", `${s.segments}, each authenticated`);
  add("Roster version", `v${s.rosterVersion}`);
  add("Opened with", s.openedWith === "phone" ? "this phone's key" : "the account data key");
  add("Video", `${c.frames.length} frames, ${c.width}×${c.height}, ${seconds(c.durationMs)}`);
  facts.hidden = false;
  const body = $("recipients").tBodies[0];
  body.replaceChildren();
  for (const r of s.recipients) {
    const key = el("span", `${r.keyId.slice(0, 16)}…`, "mono");
    key.title = r.keyId;
    const whose = r.role + (r.name ? ` (${r.name})` : "") + (r.openedWith ? " · opened with this key" : "");
    body.appendChild(row([r.alg, key, whose]));
  }
  $("recipients").hidden = false;
  $("facts-empty").hidden = true;
}

function clearFacts() {
  $("facts").hidden = true;
  $("recipients").hidden = true;
  $("facts-empty").hidden = false;
}

async function openClip(clipId) {
  if (liveCamera !== null) void stopLive();
  const gen = ++generation;
  playing = false;
  clip = null;
  current = -1;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  delete canvas.dataset.frame;
  clearError();
  clearFacts();
  $("counter").textContent = "verifying and decrypting…";
  $("time").textContent = "";
  setButtons();
  for (const tr of $("clips").tBodies[0].rows) tr.classList.toggle("current", tr.dataset.clip === clipId);
  try {
    const opened = await api("POST", `/api/clips/${clipId}/open`);
    if (gen !== generation) return;
    clip = opened;
    canvas.width = opened.width;
    canvas.height = opened.height;
    showFacts(opened);
    for (const tr of $("clips").tBodies[0].rows) {
      if (tr.dataset.clip === clipId) tr.cells[3].textContent = seconds(opened.durationMs);
    }
    const first = await bitmap(0);
    if (gen !== generation) return first.close();
    draw(0, first);
    play();
  } catch (error) {
    if (gen !== generation) return;
    clip = null;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    $("counter").textContent = "not played";
    setButtons();
    showError(error.code || "E_NETWORK", error.message);
  }
}

$("play").addEventListener("click", () => (playing ? pause() : play()));
$("prev").addEventListener("click", () => void step(-1));
$("next").addEventListener("click", () => void step(1));
$("reload").addEventListener("click", () => void loadClips());
setButtons();
void loadCameras();
void loadClips();
