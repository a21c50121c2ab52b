/**
 * The platform: everything the firmware touches outside itself. The board (firmware/board, Moddable
 * modules and native code) and the board simulator (host-tools/board-sim) each provide one `Platform`.
 */
import type { Crypto } from "./crypto";
import type { Storage } from "./storage";
import type { Clock } from "./clock";
import type { Log } from "./log";
import type { HttpClient, HttpServer, Wifi } from "./network";
import type { Camera } from "./camera";
import type { SerialConsole } from "./console";
import type { FlashPartition } from "./flash";
import type { WebSocketClient } from "./websocket";

export type { Crypto, P256PrivateKey, Sha256 } from "./crypto";
export type { Storage } from "./storage";
export type { Clock } from "./clock";
export type { Log, LogLevel } from "./log";
export type { HttpClient, HttpServer, HttpRequest, HttpResponse, HttpHandler, Wifi, WifiState } from "./network";
export type { Camera, CameraConfig, Frame } from "./camera";
export type { SerialConsole } from "./console";
export type { FlashPartition } from "./flash";
export type { WebSocketClient, WebSocketConnection } from "./websocket";

export interface Platform {
  crypto: Crypto;
  storage: Storage;
  clock: Clock;
  log: Log;
  wifi: Wifi;
  http: HttpClient;
  setupServer: HttpServer;
  camera: Camera;
  console: SerialConsole;
  /** The data partition that holds sealed clips waiting for upload. */
  queueFlash: FlashPartition;
  /** The live-view link to the cloud (optional: without it the camera simply offers no live view). */
  webSocket?: WebSocketClient;
}
