/**
 * Type-level check, compiled by `make typecheck` (firmware/tsconfig.json): the board's bodies and the board
 * simulator's bodies implement the same platform interfaces, so what the simulator tests is what the board
 * runs. Nothing here executes; the firmware manifest does not include this file.
 */
import type { Camera, Clock, Crypto, FlashPartition, HttpClient, HttpServer, Log, SerialConsole, Storage, WebSocketClient, Wifi } from "../platform/index";
import type { BoardCamera } from "./camera";
import type { BoardClock } from "./clock";
import type { BoardSerialConsole } from "./console";
import type { BoardCrypto } from "./crypto";
import type { BoardFlash } from "./flash";
import type { BoardHttpClient } from "./http-client";
import type { BoardHttpServer } from "./http-server";
import type { BoardLog } from "./log";
import type { BoardStorage } from "./storage";
import type { BoardWifi } from "./wifi";
import type { BoardWebSocketClient } from "./websocket";
import type { SimWebSocketClient } from "../sim/websocket";
import type {
  SimCamera,
  SimClock,
  SimConsole,
  SimFlash,
  SimHttpClient,
  SimHttpServer,
  SimLog,
  SimStorage,
  SimWifi,
} from "../sim/platform";
import type { NativeCrypto } from "../native/native-crypto";

/** `true` only when T implements I; anything else makes the tuple below fail to compile. */
type Implements<T, I> = [T] extends [I] ? true : false;

export const BOARD_AND_SIM_IMPLEMENT_THE_PLATFORM: [
  Implements<BoardCrypto, Crypto>, Implements<NativeCrypto, Crypto>,
  Implements<BoardStorage, Storage>, Implements<SimStorage, Storage>,
  Implements<BoardClock, Clock>, Implements<SimClock, Clock>,
  Implements<BoardLog, Log>, Implements<SimLog, Log>,
  Implements<BoardWifi, Wifi>, Implements<SimWifi, Wifi>,
  Implements<BoardHttpClient, HttpClient>, Implements<SimHttpClient, HttpClient>,
  Implements<BoardHttpServer, HttpServer>, Implements<SimHttpServer, HttpServer>,
  Implements<BoardCamera, Camera>, Implements<SimCamera, Camera>,
  Implements<BoardSerialConsole, SerialConsole>, Implements<SimConsole, SerialConsole>,
  Implements<BoardFlash, FlashPartition>, Implements<SimFlash, FlashPartition>,
  Implements<BoardWebSocketClient, WebSocketClient>, Implements<SimWebSocketClient, WebSocketClient>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
