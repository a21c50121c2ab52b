/**
 * "sealcam/host-channel": the board simulator's line to Node. Only exists in the XS host (there is no such
 * thing on the board); the board simulator's platform bodies, which run inside XS, use it to reach the
 * simulated world (network, storage, camera, UART) that Node provides. Implementation:
 * host-tools/board-sim/xs-host/js/host-channel.ts; Node side: BoardSim in host-tools/board-sim/board-sim.ts.
 *
 * Values cross as JSON, except Uint8Array (anywhere inside a value), which crosses as raw bytes.
 * Both sides can make requests (answered by the other side's handler) and emit events (fire and forget).
 */
declare module "sealcam/host-channel" {
  export type ChannelValue =
    | null
    | boolean
    | number
    | string
    | Uint8Array
    | ChannelValue[]
    | { [key: string]: ChannelValue | undefined };

  /** Raised in XS when Node's handler fails; `code` is the SealcamError code if Node threw one. */
  export interface ChannelErrorInfo {
    message: string;
    code?: string;
    name?: string;
  }

  /** True when the host was started with a channel (BoardSim always does). */
  export function available(): boolean;
  /** Asks Node; resolves with its handler's result, rejects with an Error carrying `code` if it failed. */
  export function request(method: string, params?: ChannelValue, timeoutMs?: number): Promise<ChannelValue>;
  /**
   * Asks Node and blocks until it answers (no other JS runs meanwhile); returns its handler's result or throws
   * an Error carrying `code`. For what the board does synchronously outside the JS heap (flash reads).
   */
  export function requestSync(method: string, params?: ChannelValue): ChannelValue;
  /** Fire-and-forget notification to Node. */
  export function emit(name: string, data?: ChannelValue): void;
  /** Subscribes to events from Node; returns an unsubscribe function. */
  export function on(name: string, handler: (data: ChannelValue) => void): () => void;
  /** Answers requests from Node for `method` (one handler per method; a later one replaces it). */
  export function handle(method: string, handler: (params: ChannelValue) => ChannelValue | Promise<ChannelValue>): void;
  /** Ends the XS host with this exit code after the current turn. */
  export function exit(code: number): void;
}
