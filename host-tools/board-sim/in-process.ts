/**
 * The firmware entry for the in-process runner: the same boot as firmware/sim/main.ts, but in this Node
 * process with NodeCrypto instead of the native module. Used when the XS host is not built
 * (`--engine node`) and by quick host tests; the board simulator's default is the XS host.
 */
import { startCamera } from "../../firmware/camera/index";
import { simPowerOn } from "../../firmware/sim/boot";
import type { SimChannel } from "../../firmware/sim/channel";
import { NodeCrypto } from "../platform/node-crypto";

export async function inProcessMain(channel: SimChannel): Promise<void> {
  const { platform, config } = await simPowerOn(channel, new NodeCrypto());
  startCamera(platform, config, { cut: (step) => channel.post("board.step", { step }) });
}
