/**
 * The SimChannel over issue 4's "sealcam/host-channel" (the XS host's pipe to Node): posts are channel
 * events, calls are channel requests (callSync a request the host blocks on), and Node's events are
 * subscribed by name. Frames travel in order on
 * one pipe, which is what SimChannel.post's durability argument needs.
 */
import * as host from "sealcam/host-channel";
import type { ChannelParams, ChannelValue, SimChannel } from "./channel";
import { toSealcamError } from "./channel";

/** Events Node sends to the firmware (host-tools/board-sim/services.ts). */
export const SIM_EVENTS = ["wifi.state", "setup.request", "camera.trigger", "console.line", "ws.event"];

function params(value: host.ChannelValue): ChannelParams {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array || Array.isArray(value)) return {};
  return value as ChannelParams;
}

export function xsHostChannel(): SimChannel {
  return {
    post(method: string, p: ChannelParams): void {
      host.emit(method, p);
    },
    async call(method: string, p: ChannelParams): Promise<ChannelValue> {
      try {
        // No channel-level deadline: frames, sleeps and HTTP have their own timeouts on the Node side.
        return (await host.request(method, p, 0)) as ChannelValue;
      } catch (error) {
        throw toSealcamError(error, "E_INTERNAL");
      }
    },
    callSync(method: string, p: ChannelParams): ChannelValue {
      try {
        return host.requestSync(method, p) as ChannelValue;
      } catch (error) {
        throw toSealcamError(error, "E_INTERNAL");
      }
    },
    onEvent(callback: (name: string, payload: ChannelParams) => void): void {
      for (const name of SIM_EVENTS) host.on(name, (data) => callback(name, params(data)));
    },
  };
}
