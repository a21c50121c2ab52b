/**
 * The web viewer page (served by the cloud at /viewer/, docs/VIEWER.md "Browser-key mode"): this browser's
 * own key (made here, non-extractable, in IndexedDB), its invite and fingerprint, the mailbox, the shared clips,
 * and a player that opens clips HERE (core.ts). Text from the network is inserted with textContent only.
 */
import { SealcamError } from "../../../firmware/core/errors";
import { WebViewer, type OpenedClip } from "../core";
import type { WebCrypto } from "../webcrypto";
import { IdbStore } from "./store";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

const viewer = new WebViewer(new IdbStore(), location.origin, globalThis.crypto as unknown as WebCrypto, (url, init) => fetch(url, init));
let current: { clip: OpenedClip; index: number; timer: number | undefined } | undefined;

function status(text: string): void {
  $("status").textContent = text;
}

function showError(error: unknown): void {
  const text = error instanceof SealcamError ? `${error.code}: ${error.message}` : `E_INTERNAL: ${(error as Error)?.message ?? String(error)}`;
  $("error").textContent = text;
  $("error").hidden = false;
  status("refused");
}

function clearError(): void {
  $("error").textContent = "";
  $("error").hidden = true;
}

async function busy(label: string, work: () => Promise<void>): Promise<void> {
  clearError();
  status(`${label}…`);
  try {
    await work();
  } catch (error) {
    showError(error);
  }
}

function row(cells: (string | HTMLElement)[]): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (typeof c === "string") td.textContent = c;
    else td.append(c);
    tr.append(td);
  }
  return tr;
}

async function showAccount(): Promise<void> {
  const root = await viewer.rootFingerprint();
  $("root-fingerprint").textContent = root ?? "none yet (the first share you accept pins its account)";
  const list = $("shares");
  list.replaceChildren();
  for (const s of await viewer.store.shares()) {
    const li = document.createElement("li");
    const cameras = s.scope.cameras.length ? s.scope.cameras.join(", ") : "all cameras";
    const until = s.scope.notAfter === null ? "no end" : `until ${new Date(s.scope.notAfter).toISOString()}`;
    li.textContent = `${s.shareId}: ${s.scope.streams.join(", ")} of ${cameras}, from ${new Date(s.scope.notBefore).toISOString()}, ${until}`;
    list.append(li);
  }
}

async function accept(): Promise<void> {
  const result = await viewer.accept();
  await showAccount();
  const notes: string[] = [];
  if (result.accepted.length) notes.push(`accepted ${result.accepted.map((s) => s.shareId).join(", ")}`);
  if (result.pinnedNow) notes.push(`pinned account root ${result.rootFingerprint}: compare it with the owner's`);
  for (const r of result.refused) notes.push(`refused ${r.id.slice(0, 8)}: ${r.code}: ${r.message}`);
  $("mailbox-result").textContent = notes.length ? notes.join("; ") : "the mailbox is empty";
  await listClips();
}

async function listClips(): Promise<void> {
  const { clips, refused } = await viewer.clips();
  const body = $<HTMLTableSectionElement>("clips");
  body.replaceChildren();
  for (const c of clips) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Open";
    button.dataset.clip = c.clipId;
    button.addEventListener("click", () => void busy("opening", () => openClip({ clipId: c.clipId })));
    const preview = document.createElement("span");
    preview.className = "snapshot";
    preview.textContent = c.snapshot ? "…" : "none";
    body.append(row([preview, new Date(c.startTime).toISOString(), c.cameraId, String(c.sequence), c.shareId, c.clipId.slice(0, 12), button]));
  }
  for (const r of refused) body.append(row(["", "UNVERIFIED", "", "", "", r.clipId.slice(0, 12), r.reason]));
  $("clip-count").textContent = `${clips.length} shared clip${clips.length === 1 ? "" : "s"}`;
  // Each clip's snapshot, opened here like a clip (verified, decrypted with the held key), as a thumbnail.
  for (const [i, c] of clips.entries()) {
    if (!c.snapshot) continue;
    const cell = body.rows[i].cells[0];
    try {
      const snap = await viewer.open({ clipId: c.snapshot.snapshotId });
      if (snap.snapshotOf !== c.clipId || snap.cameraId !== c.cameraId) throw new SealcamError("E_FORMAT", "the snapshot does not name this clip");
      const img = document.createElement("img");
      img.alt = `snapshot of ${c.clipId.slice(0, 12)}`;
      img.dataset.snapshot = c.snapshot.snapshotId;
      const url = URL.createObjectURL(new Blob([snap.frames[0].jpeg.slice().buffer], { type: "image/jpeg" }));
      img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      img.addEventListener("error", () => URL.revokeObjectURL(url), { once: true });
      img.src = url;
      cell.replaceChildren(img);
    } catch (error) {
      cell.textContent = error instanceof SealcamError ? error.code : "E_INTERNAL";
      cell.title = error instanceof SealcamError ? error.message : String(error);
    }
  }
  status("ready");
}

async function draw(index: number): Promise<void> {
  if (!current) return;
  const frame = current.clip.frames[index];
  const bitmap = await createImageBitmap(new Blob([frame.jpeg.slice().buffer], { type: "image/jpeg" }));
  const canvas = $<HTMLCanvasElement>("canvas");
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
  }
  canvas.getContext("2d")!.drawImage(bitmap, 0, 0);
  bitmap.close();
  current.index = index;
  $("counter").textContent = `frame ${index + 1} / ${current.clip.frames.length} · ${new Date(frame.time).toISOString()}`;
  $("counter").dataset.frame = String(index + 1);
}

function stop(): void {
  if (current?.timer !== undefined) clearTimeout(current.timer);
  if (current) current.timer = undefined;
  $("play").textContent = "Play";
}

function play(): void {
  if (!current || current.clip.frames.length === 0) return;
  if (current.timer !== undefined) return stop();
  $("play").textContent = "Pause";
  const step = (): void => {
    if (!current) return;
    const next = current.index + 1;
    if (next >= current.clip.frames.length) return stop();
    const wait = Math.min(2000, Math.max(0, current.clip.frames[next].time - current.clip.frames[current.index].time));
    current.timer = window.setTimeout(() => void draw(next).then(step), wait);
  };
  if (current.index >= current.clip.frames.length - 1) void draw(0).then(step);
  else step();
}

function facts(clip: OpenedClip): void {
  const dl = $("facts");
  dl.replaceChildren();
  const add = (k: string, v: string): void => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  };
  add("clip", clip.clipId);
  add("camera", clip.cameraId);
  add("sequence", String(clip.sequence));
  add("start", new Date(clip.startTime).toISOString());
  add("camera signature", "valid (head and footer), certificate chains to the pinned account root");
  add("segments", `${clip.segments}, each authenticated`);
  add("opened with", `share ${clip.shareId} (a stream key held by this browser, non-extractable)`);
  add("recipients", clip.recipients.map((r) => `${r.alg} ${r.keyId.slice(0, 12)}${r.mine ? " (this browser)" : ""}`).join("; "));
}

async function openClip(what: { clipId: string } | { sealed: Uint8Array }): Promise<void> {
  stop();
  current = undefined;
  const canvas = $<HTMLCanvasElement>("canvas");
  canvas.getContext("2d")!.clearRect(0, 0, canvas.width, canvas.height);
  $("counter").textContent = "";
  $("facts").replaceChildren();
  const clip = await viewer.open(what);
  current = { clip, index: 0, timer: undefined };
  facts(clip);
  if (clip.frames.length) await draw(0);
  status("opened");
}

async function start(): Promise<void> {
  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) {
    showError(new SealcamError("E_STATE", "this page needs a secure context (https, or http on this computer's loopback) for WebCrypto"));
    return;
  }
  const { created } = await viewer.ensureIdentity();
  const { invite, fingerprint } = await viewer.invite();
  $<HTMLTextAreaElement>("invite").value = invite;
  $("fingerprint").textContent = fingerprint;
  $("key-note").textContent = created ? "made just now in this browser" : "kept in this browser since an earlier visit";
  await showAccount();
  $("accept").addEventListener("click", () => void busy("checking the mailbox", accept));
  $("refresh").addEventListener("click", () => void busy("listing", listClips));
  $("play").addEventListener("click", play);
  $("prev").addEventListener("click", () => {
    stop();
    if (current && current.index > 0) void draw(current.index - 1);
  });
  $("next").addEventListener("click", () => {
    stop();
    if (current && current.index + 1 < current.clip.frames.length) void draw(current.index + 1);
  });
  $("open-id-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const clipId = $<HTMLInputElement>("clip-id").value.trim().toLowerCase();
    void busy("opening", () => openClip({ clipId }));
  });
  $<HTMLInputElement>("clip-file").addEventListener("change", () => {
    const file = $<HTMLInputElement>("clip-file").files?.[0];
    if (file) void busy("opening", async () => openClip({ sealed: new Uint8Array(await file.arrayBuffer()) }));
  });
  status("ready");
}

void start().catch(showError);
