/**
 * The board simulator's firmware entry (bundled for the XS host by `make build`): power on (boot snapshot
 * from Node), build the sim Platform with the native crypto module, and start the camera application.
 * Named enrollment steps are reported to Node ("board.step") so the simulator can cut the power there.
 */
import { startCamera } from "../camera/index";
import { NativeCrypto } from "../native/native-crypto";
import { simPowerOn } from "./boot";
import { xsHostChannel } from "./xs-channel";

const channel = xsHostChannel();

simPowerOn(channel, new NativeCrypto()).then(
  ({ platform, config }) => {
    startCamera(platform, config, { cut: (step) => channel.post("board.step", { step }) });
  },
  (error: unknown) => {
    const e = error as { code?: string; message?: string };
    channel.post("board.fatal", { code: e.code ?? "E_INTERNAL", message: e.message ?? "power-on failed" });
  },
);
