/**
 * The ESP32-S3 board's Platform: every firmware platform interface implemented with Moddable modules
 * (wifi, http, securesocket, preference, flash, the camera module, timer/time/sntp) plus two native modules
 * (issue 4's PSA crypto and our small "sealcam/native-system"). docs/HARDWARE.md describes each body.
 *
 *   const platform = createBoardPlatform(readBoardConfig(config));
 *   startCamera(platform, cameraAppConfig(boardConfig), { freeMemory: freeHeap });
 */
import type { Platform } from "../platform/index";
import { BoardCamera } from "./camera";
import { BoardClock } from "./clock";
import type { BoardConfig } from "./config";
import { BoardSerialConsole } from "./console";
import { ConsolePort } from "./console-port";
import { BoardCrypto } from "./crypto";
import { BoardFlash } from "./flash";
import { BoardHttpClient } from "./http-client";
import { BoardHttpServer } from "./http-server";
import { BoardLog } from "./log";
import { BoardStorage } from "./storage";
import { stationMac } from "./system";
import { BoardWebSocketClient } from "./websocket";
import { BoardWifi } from "./wifi";

export { readBoardConfig, cameraAppConfig, BOARD_DEFAULTS, type BoardConfig } from "./config";

export function createBoardPlatform(config: BoardConfig): Platform {
  const port = new ConsolePort(config.consoleMode);
  const log = new BoardLog(port, config.logLevel);
  const clock = new BoardClock(config.sntpHost, log);
  const wifi = new BoardWifi({ mac: stationMac, log });
  // Wall time comes from SNTP as soon as the station has an address (and again after every reconnect).
  wifi.onStateChange((state) => {
    if (state === "connected") clock.synchronize();
  });
  return {
    crypto: new BoardCrypto(),
    storage: new BoardStorage(),
    clock,
    log,
    wifi,
    http: new BoardHttpClient(config.httpTimeoutMs, config.tlsVerify),
    setupServer: new BoardHttpServer(log),
    camera: new BoardCamera({ builtInQuality: config.jpegQuality, triggerPin: config.triggerPin, pirPin: config.pirPin, log }),
    console: new BoardSerialConsole(port, log),
    queueFlash: new BoardFlash(config.queuePartition),
    webSocket: new BoardWebSocketClient(config.tlsVerify),
  } satisfies Platform;
}
