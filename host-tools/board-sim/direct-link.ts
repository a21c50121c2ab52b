/**
 * An in-process SimChannel: the firmware's sim bodies call BoardServices directly in this Node process.
 * The XS host (issue 4's BoardSim) is the real transport; this link runs the same firmware code under V8
 * for quick host tests and as the fallback when the XS host is not built. A power cut "kills" the link:
 * every later call throws and no event is delivered, so the old firmware instance can change nothing.
 */
import type { ChannelParams, ChannelValue, SimChannel } from "../../firmware/sim/channel";
import type { BoardServices, Params } from "./services";

function encodeError(error: unknown): Error {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === "string" ? e.message : String(error);
  return new Error(typeof e?.code === "string" ? `${e.code}: ${message}` : message);
}

export class DirectLink implements SimChannel {
  private handlers: ((name: string, payload: ChannelParams) => void)[] = [];
  dead = false;

  constructor(
    private readonly services: BoardServices,
    private readonly onPowerCut: (error: unknown) => boolean,
  ) {}

  post(method: string, params: ChannelParams): void {
    if (this.dead) return;
    try {
      this.services.post(method, params as Params);
    } catch (error) {
      if (this.onPowerCut(error)) {
        this.dead = true;
        return;
      }
      this.services.hooks.notice(`board-sim: ${method} failed: ${(error as Error).message}`);
    }
  }

  async call(method: string, params: ChannelParams): Promise<ChannelValue> {
    if (this.dead) return new Promise(() => {});
    try {
      const result = (await this.services.call(method, params as Params)) as ChannelValue;
      if (this.dead) return new Promise(() => {});
      return result;
    } catch (error) {
      if (this.dead) return new Promise(() => {});
      throw encodeError(error);
    }
  }

  /** After a power cut the old firmware instance reads nothing (its posts are already ignored). */
  callSync(method: string, params: ChannelParams): ChannelValue {
    if (this.dead) throw new Error("E_STORAGE: the power is off");
    try {
      return this.services.callSync(method, params as Params) as ChannelValue;
    } catch (error) {
      throw encodeError(error);
    }
  }

  onEvent(callback: (name: string, payload: ChannelParams) => void): void {
    this.handlers.push(callback);
  }

  emit(name: string, payload: Params): void {
    if (this.dead) return;
    setImmediate(() => {
      if (this.dead) return;
      for (const handler of this.handlers) handler(name, payload as ChannelParams);
    });
  }
}
