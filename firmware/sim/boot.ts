/**
 * Power-on of the simulated board: asks Node for the boot snapshot ("board.boot": the persisted NVS entries,
 * the queue flash partition's geometry (its bytes stay in Node), the MAC and the camera application's settings), then builds the Platform from the
 * sim bodies and the given Crypto. Shared by the XS entry (main.ts) and the in-process link of host tests.
 */
import type { CameraAppConfig } from "../camera/config";
import type { Crypto } from "../platform/crypto";
import type { Platform } from "../platform/index";
import { asBytes, asNumber, asObject, asString, type SimChannel } from "./channel";
import { createSimBodies, type BootSnapshot } from "./platform";

export interface SimBoot {
  platform: Platform;
  config: Partial<CameraAppConfig>;
}

export async function simPowerOn(channel: SimChannel, crypto: Crypto): Promise<SimBoot> {
  const reply = asObject(await channel.call("board.boot", {}));
  const entries = asObject(reply.nvs);
  const nvs = new Map<string, Uint8Array>();
  for (const key of Object.keys(entries)) nvs.set(key, asBytes(entries[key]));
  const snapshot: BootSnapshot = {
    nvs,
    flashSize: asNumber(reply.flashSize),
    flashBlockSize: asNumber(reply.flashBlockSize),
    mac: asBytes(reply.mac),
  };
  const parsed: unknown = JSON.parse(asString(reply.config));
  const config = parsed !== null && typeof parsed === "object" ? (parsed as Partial<CameraAppConfig>) : {};
  return { platform: { crypto, ...createSimBodies(channel, snapshot) }, config };
}
