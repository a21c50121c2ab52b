/**
 * The live-view WebSocket on the board: Moddable's classic `websocket` Client (modules/network/websocket),
 * over `securesocket` (TLS 1.2) for wss:// URLs, like the HTTP client. NOT YET RUN ON HARDWARE (docs/
 * HARDWARE.md "What cannot be verified here"): written against the module's source and typings.
 *
 * What the module gives and what we do about it:
 * - `new Client({host, port, path, headers: [name, value, ...], Socket?, secure?})`; callback messages
 *   1 connect, 2 handshake (upgrade accepted), 3 receive (value: ArrayBuffer for binary), 4 disconnect.
 * - A refused upgrade (a status other than 101) makes the module throw inside its socket callback and then
 *   report disconnect; we cannot see the status, so a refusal is E_NETWORK here (the simulator tells 401).
 * - `write(ArrayBuffer)` sends one binary message and throws for 65536 bytes or more: live messages are at
 *   most 65535 bytes by design (FORMAT §12.3).
 * - The module exposes no send queue length. Moddable's socket `write()` with no arguments answers how many
 *   bytes it can take now; we refuse a message (send() = false, the caller drops the frame) when that is less
 *   than the message, so nothing queues on the camera. `buffered` is 0.
 */
import { Client } from "websocket";
import SecureSocket from "securesocket";
import { fail, SealcamError } from "../core/errors";
import type { WebSocketClient, WebSocketConnection } from "../platform/websocket";

const MSG_HANDSHAKE = 2;
const MSG_RECEIVE = 3;
const MSG_DISCONNECT = 4;

interface ParsedWsUrl {
  secure: boolean;
  host: string;
  port: number;
  path: string;
}

export function parseWsUrl(url: string): ParsedWsUrl {
  const m = /^(wss?):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(\/[^#]*)?$/.exec(url);
  if (!m) fail("E_ARGUMENT", `websocket url '${url}' must look like wss://host[:port]/path`);
  const secure = m[1] === "wss";
  const port = m[3] ? Number(m[3]) : secure ? 443 : 80;
  if (port < 1 || port > 65535) fail("E_ARGUMENT", `websocket url port ${port} is out of range`);
  return { secure, host: m[2].replace(/^\[|\]$/g, ""), port, path: m[4] ?? "/" };
}

/** The module's socket, as far as we use it (Moddable `socket` write() with no arguments: bytes it can take). */
interface ModdableSocket {
  write(...data: unknown[]): number;
}

interface ClientOptions {
  host: string;
  port: number;
  path: string;
  headers: string[];
  Socket?: typeof SecureSocket;
  secure?: { protocolVersion: number; verify: boolean };
}

class BoardWebSocketConnection implements WebSocketConnection {
  readonly buffered = 0;
  open = true;
  readonly messages: ((data: Uint8Array) => void)[] = [];
  readonly closes: ((reason: string) => void)[] = [];
  constructor(private readonly client: Client) {}

  send(data: Uint8Array): boolean {
    if (!this.open || data.length > 65535) return false;
    try {
      const socket = (this.client as unknown as { socket?: ModdableSocket }).socket;
      // Frame header (2..4 bytes) + mask (4) + payload must fit what the socket can take now.
      if (socket && socket.write() < data.length + 8) return false;
      this.client.write(data.slice().buffer);
      return true;
    } catch {
      this.closed("write failed");
      return false;
    }
  }
  onMessage(callback: (data: Uint8Array) => void): void {
    this.messages.push(callback);
  }
  onClose(callback: (reason: string) => void): void {
    this.closes.push(callback);
  }
  close(): void {
    if (!this.open) return;
    try {
      this.client.close();
    } catch {
      // already closed
    }
    this.closed("closed by the camera");
  }
  closed(reason: string): void {
    if (!this.open) return;
    this.open = false;
    for (const c of this.closes) c(reason);
  }
}

export class BoardWebSocketClient implements WebSocketClient {
  constructor(private readonly tlsVerify = true) {}

  connect(url: string, headers: Record<string, string>, _maxBuffered: number): Promise<WebSocketConnection> {
    let parsed: ParsedWsUrl;
    try {
      parsed = parseWsUrl(url);
    } catch (error) {
      return Promise.reject(error);
    }
    const list: string[] = [];
    for (const name of Object.keys(headers)) list.push(name.toLowerCase(), headers[name].replace(/[\r\n]/g, " "));
    const options: ClientOptions = { host: parsed.host, port: parsed.port, path: parsed.path, headers: list };
    if (parsed.secure) {
      options.Socket = SecureSocket;
      options.secure = { protocolVersion: 0x303, verify: this.tlsVerify };
    }
    return new Promise((resolve, reject) => {
      let client: Client;
      let connection: BoardWebSocketConnection | undefined;
      try {
        client = new Client(options as unknown as ConstructorParameters<typeof Client>[0]);
      } catch {
        reject(new SealcamError("E_NETWORK", `cannot reach ${parsed.host}:${parsed.port}`));
        return;
      }
      client.callback = (message: number, value?: unknown): void => {
        if (message === MSG_HANDSHAKE) {
          connection = new BoardWebSocketConnection(client);
          resolve(connection);
        } else if (message === MSG_RECEIVE) {
          if (connection && value instanceof ArrayBuffer) {
            const data = new Uint8Array(value);
            for (const m of connection.messages) m(data);
          }
        } else if (message === MSG_DISCONNECT || message < 0) {
          if (connection) connection.closed("link closed");
          else reject(new SealcamError("E_NETWORK", `live-view upgrade to ${parsed.host} failed`));
        }
      };
    });
  }
}
