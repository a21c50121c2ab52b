/**
 * The board simulator's WebSocket client body (firmware/platform/websocket.ts): forwarded over the sim
 * channel to Node, which holds a real `ws` socket (host-tools/board-sim/services.ts, "ws.*").
 *
 *   call "ws.connect" {url, headers}  -> socket id (number); E_AUTH if the upgrade was refused with 401/403
 *   post "ws.send"    {id, data}         one binary message
 *   post "ws.close"   {id}
 *   event "ws.event"  {id, kind: "message", data} | {id, kind: "sent", bytes} | {id, kind: "close", reason}
 *
 * `buffered` counts bytes posted and not yet reported "sent" by Node (written to the kernel), which is what
 * live view's drop-don't-queue rule needs.
 */
import type { WebSocketClient, WebSocketConnection } from "../platform/websocket";
import { asBytes, asNumber, asString, toSealcamError, type ChannelParams, type SimChannel } from "./channel";

class SimWebSocketConnection implements WebSocketConnection {
  buffered = 0;
  private open = true;
  private readonly messages: ((data: Uint8Array) => void)[] = [];
  private readonly closes: ((reason: string) => void)[] = [];

  constructor(private readonly channel: SimChannel, readonly id: number, private readonly maxBuffered: number, private readonly forget: () => void) {}

  send(data: Uint8Array): boolean {
    if (!this.open || this.buffered + data.length > this.maxBuffered || data.length > 65535) return false;
    this.buffered += data.length;
    this.channel.post("ws.send", { id: this.id, data: data.slice() });
    return true;
  }
  onMessage(callback: (data: Uint8Array) => void): void {
    this.messages.push(callback);
  }
  onClose(callback: (reason: string) => void): void {
    this.closes.push(callback);
  }
  close(): void {
    if (!this.open) return;
    this.channel.post("ws.close", { id: this.id });
    this.closed("closed by the camera");
  }
  deliver(payload: ChannelParams): void {
    const kind = asString(payload.kind);
    if (kind === "message" && this.open) {
      const data = asBytes(payload.data);
      for (const m of this.messages) m(data);
    } else if (kind === "sent") {
      this.buffered = Math.max(0, this.buffered - asNumber(payload.bytes));
    } else if (kind === "close") {
      this.closed(asString(payload.reason));
    }
  }
  private closed(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.forget();
    for (const c of this.closes) c(reason);
  }
}

export class SimWebSocketClient implements WebSocketClient {
  private readonly sockets = new Map<number, SimWebSocketConnection>();
  /** Events that arrive before the connect reply has been seen (kept in order, per socket id). */
  private readonly early = new Map<number, ChannelParams[]>();
  constructor(private readonly channel: SimChannel) {}

  async connect(url: string, headers: Record<string, string>, maxBuffered: number): Promise<WebSocketConnection> {
    let id: number;
    try {
      id = asNumber(await this.channel.call("ws.connect", { url, headers: { ...headers } }));
    } catch (error) {
      throw toSealcamError(error, "E_NETWORK");
    }
    const conn = new SimWebSocketConnection(this.channel, id, maxBuffered, () => this.sockets.delete(id));
    this.sockets.set(id, conn);
    const early = this.early.get(id);
    this.early.delete(id);
    // Delivered after the caller has attached its handlers.
    if (early) Promise.resolve().then(() => early.forEach((e) => conn.deliver(e)));
    return conn;
  }

  /** Called by the event dispatcher for "ws.event". */
  deliver(payload: ChannelParams): void {
    const id = asNumber(payload.id);
    const conn = this.sockets.get(id);
    if (conn) conn.deliver(payload);
    else {
      const list = this.early.get(id) ?? [];
      if (list.length < 64) list.push(payload);
      this.early.set(id, list);
    }
  }
}
