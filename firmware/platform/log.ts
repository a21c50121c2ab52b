/**
 * Log: one structured line per event on the serial console.
 * Never pass key material, the setup secret or plaintext here.
 *
 * Wire form on the UART (one line each, parsed by `sealcam console`; see docs/CONSOLE.md):
 *   SC {"t":<ms since boot>,"l":"<level>","e":"<event>","m":"<text>","f":{<fields>}}
 * In Moddable debug builds the same line travels inside xsbug framing (<xsbug><log>SC {...}</log></xsbug>).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Log {
  /** event: a stable dotted code such as "setup.start"; text: short and human; fields: plain values only. */
  write(level: LogLevel, event: string, text: string, fields?: Record<string, string | number | boolean>): void;
}
