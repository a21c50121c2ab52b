/**
 * Test helper: the ROM simulator serving the device end of a fresh socat pty pair, in this process.
 * Not a test file.
 */
import { NodeSerialLink } from "../../host-tools/serial/link";
import { Esp32s3RomSim, type RomSimOptions } from "../../host-tools/sim/esp32s3-rom";
import { ptyPair, type PtyPair } from "../serial/pty";

export interface SimBoard {
  pair: PtyPair;
  sim: Esp32s3RomSim;
  port: string;
  close(): Promise<void>;
}

export async function simBoard(options: Partial<RomSimOptions> = {}): Promise<SimBoard> {
  const pair = await ptyPair();
  const sim = new Esp32s3RomSim({ flashSize: 8 << 20, ...options });
  const link = new NodeSerialLink(pair.device);
  await link.open();
  const served = sim.serve(link).catch(() => undefined);
  return {
    pair,
    sim,
    port: pair.host,
    async close() {
      await link.close();
      await served;
      await pair.dispose();
    },
  };
}
