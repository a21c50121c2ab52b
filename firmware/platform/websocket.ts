/**
 * WebSocket client: the camera's one outbound connection to the cloud for live view (docs/PROTOCOL.md §13).
 * Binary messages only. On the board it is Moddable's `websocket` Client (firmware/board/websocket.ts); in
 * the board simulator it is forwarded over the host channel to Node's `ws` (firmware/sim/websocket.ts).
 */
export interface WebSocketConnection {
  /**
   * Queues one binary message (at most 65535 bytes). Returns false, sending nothing, when the link cannot
   * take it now (more than `maxBuffered` bytes still unsent, or the socket is closed): the caller drops it.
   */
  send(data: Uint8Array): boolean;
  /** Bytes handed to send() that have not yet left for the network (0 when the body cannot tell). */
  readonly buffered: number;
  onMessage(callback: (data: Uint8Array) => void): void;
  /** Called once, when the connection is gone (either side closed, or the link dropped). */
  onClose(callback: (reason: string) => void): void;
  close(): void;
}

export interface WebSocketClient {
  /**
   * Opens `url` (ws:// or wss://, path and query included) with extra request headers (lower-case names).
   * Resolves once the upgrade succeeded; rejects with E_NETWORK (unreachable, refused upgrade) or E_AUTH
   * (the server answered 401/403).
   */
  connect(url: string, headers: Record<string, string>, maxBuffered: number): Promise<WebSocketConnection>;
}
