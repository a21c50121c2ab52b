/**
 * Network: Wi-Fi (soft AP for setup, station for normal use), an HTTP client for the cloud and an HTTP
 * server for the setup API. On the camera these are Moddable's `wifi` and `http`; in the board simulator
 * they are loopback sockets driven from Node over the host channel.
 */
export interface HttpRequest {
  method: string;
  /** Path with query, e.g. "/v1/clips/abc/segments/3". */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface HttpClient {
  /** Sends one request to the base URL's host; rejects with a SealcamError E_NETWORK when unreachable. */
  request(baseUrl: string, request: HttpRequest): Promise<HttpResponse>;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse>;

export interface HttpServer {
  /** Starts serving on the given port of the current interface (the soft AP address in setup mode). */
  listen(port: number, handler: HttpHandler): void;
  close(): void;
}

export type WifiState = "off" | "access-point" | "connecting" | "connected" | "disconnected";

export interface Wifi {
  readonly state: WifiState;
  /** The station MAC address, 6 bytes. */
  mac(): Uint8Array;
  /** WPA2 soft AP; password is 8..63 printable ASCII characters. Resolves with the AP's IPv4 address. */
  startAccessPoint(options: { ssid: string; password: string; channel?: number }): Promise<string>;
  stopAccessPoint(): void;
  /** Joins a network; resolves once an address is assigned, rejects with E_NETWORK on failure. */
  connect(options: { ssid: string; password: string }): Promise<void>;
  disconnect(): void;
  onStateChange(callback: (state: WifiState) => void): void;
}
