/**
 * The cloud's opt-in features, from the owner's phone (docs/PROTOCOL.md §14.14):
 *
 *   shareWithCloud   `phone share --to cloud --stream snapshot [--camera C]...`: fetches the cloud's invite
 *                    (GET /v1/cloud/invite), and shares a SNAPSHOT-ONLY stream key to it through the mailbox,
 *                    exactly as to a viewer (share.ts createShare; holder "cloud"). Any other stream is refused
 *                    (E_ARGUMENT) before anything is sent: the cloud may never hold a video key.
 *   timeline         `phone timeline`: GET /v1/timeline (the events, with the snapshot JPEG where the cloud can
 *                    open it, else why not)
 *   followAlerts     `phone alerts`: GET /v1/alerts (Server-Sent Events), one event per completed snapshot upload
 *
 * Revoking: `phone revoke cloud` (share.ts) publishes a roster without the cloud's key; cameras stop wrapping
 * snapshots to it from their next roster refresh. An image in the timeline or an alert is what the CLOUD
 * decrypted: a preview. The phone's own `phone open SNAPSHOT_ID` verifies and decrypts it end to end.
 */
import { fail, SealcamError } from "../../firmware/core/errors";
import type { StreamName } from "../../firmware/core/stream-scope";
import { cloudFetch } from "./client";
import type { Phone } from "./phone";
import { createShare, inviteFingerprint } from "./share";

export interface CloudInvite {
  invite: string;
  /** Computed here from the invite's key (not the cloud's word). */
  fingerprint: string;
}

export interface TimelineEvent {
  time: number;
  cameraId: string;
  clipId: string;
  snapshotId: string | null;
  image: { contentType: "image/jpeg"; base64: string } | null;
  reason: string | null;
  detail: string | null;
}

/** Refuses anything but exactly the snapshot stream for the cloud (before any request). */
export function checkCloudStreams(streams: string[]): StreamName[] {
  const list = streams.length === 0 ? ["snapshot"] : streams;
  for (const s of list) {
    if (s !== "snapshot") fail("E_ARGUMENT", `--to cloud --stream ${s.slice(0, 16)}: the cloud may only be given the snapshot stream; it never holds a ${s === "video" ? "video" : "non-snapshot"} key`);
  }
  return ["snapshot"];
}

/** The cloud's invite (its public key), with the fingerprint computed from it. */
export async function cloudInvite(phone: Phone): Promise<CloudInvite> {
  const res = await cloudFetch(phone.options.cloud, "/v1/cloud/invite", { method: "GET" });
  const body = (await res.json()) as { invite?: unknown };
  if (typeof body.invite !== "string") fail("E_FORMAT", "the cloud's invite answer has no invite");
  return { invite: body.invite, fingerprint: inviteFingerprint(phone, body.invite) };
}

/** Shares a snapshot-only stream key with the cloud (a DSK unless `notAfter`). */
export async function shareWithCloud(
  phone: Phone, request: { cameras: string[]; streams: string[]; notBefore?: number; notAfter: number | null; invite?: CloudInvite },
): Promise<{ shareId: string; rosterVersion: number; keyId: string; fingerprint: string }> {
  const streams = checkCloudStreams(request.streams);
  const invite = request.invite ?? (await cloudInvite(phone));
  const r = await createShare(phone, { invite: invite.invite, cameras: request.cameras, streams, notBefore: request.notBefore, notAfter: request.notAfter, cloud: true });
  return { shareId: r.shareId, rosterVersion: r.rosterVersion, keyId: r.keyId, fingerprint: r.viewerFingerprint };
}

function auth(phone: Phone): Record<string, string> {
  return { authorization: `Bearer ${phone.state().token}` };
}

/** The account's timeline as the cloud serves it (newest first). */
export async function timeline(phone: Phone, limit?: number): Promise<{ events: TimelineEvent[]; grants: { shareId: string; keyId: string; active: boolean }[] }> {
  const res = await cloudFetch(phone.options.cloud, `/v1/timeline${limit ? `?limit=${limit}` : ""}`, { method: "GET", headers: auth(phone) });
  const body = (await res.json()) as { events?: unknown; grants?: unknown };
  if (!Array.isArray(body.events) || !Array.isArray(body.grants)) fail("E_FORMAT", "the cloud's timeline is not a list of events");
  return { events: body.events as TimelineEvent[], grants: body.grants as { shareId: string; keyId: string; active: boolean }[] };
}

export interface AlertSubscription {
  /** Resolves once the cloud confirmed the subscription (its `ready` event). */
  ready: Promise<void>;
  /** Resolves when the stream ends: `count` events seen, `close()`, or the cloud closed it. */
  done: Promise<number>;
  close(): void;
}

/**
 * Subscribes to preview alerts (SSE). `onEvent` gets each `snapshot` event; the subscription ends after
 * `count` events (if given) or on close(). Lines longer than 4 MiB are refused (E_LIMIT).
 */
export function followAlerts(phone: Phone, onEvent: (event: TimelineEvent) => void, options: { count?: number } = {}): AlertSubscription {
  const abort = new AbortController();
  let readyResolve!: () => void;
  let readyReject!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  ready.catch(() => undefined);
  const done = (async (): Promise<number> => {
    let seen = 0;
    try {
      const res = await cloudFetch(phone.options.cloud, "/v1/alerts", { method: "GET", headers: { ...auth(phone), accept: "text/event-stream" }, signal: abort.signal });
      if (!res.body) fail("E_FORMAT", "the cloud's alert stream has no body");
      const decoder = new TextDecoder();
      let buffer = "";
      const reader = res.body.getReader();
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        buffer += decoder.decode(value, { stream: true });
        if (buffer.length > 4 * 1024 * 1024) fail("E_LIMIT", "an alert is larger than 4 MiB");
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let name = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (name === "ready") readyResolve();
          if (name !== "snapshot") continue;
          onEvent(JSON.parse(data.join("\n")) as TimelineEvent);
          seen++;
          if (options.count !== undefined && seen >= options.count) {
            abort.abort();
            return seen;
          }
        }
      }
      return seen;
    } catch (error) {
      readyReject(error);
      if (abort.signal.aborted) return seen;
      if (error instanceof SealcamError) throw error;
      throw new SealcamError("E_NETWORK", `the alert stream broke: ${(error as Error).message}`);
    }
  })();
  return { ready, done, close: () => abort.abort() };
}
