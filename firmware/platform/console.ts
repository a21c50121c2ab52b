/** SerialConsole: the UART (or USB CDC) line interface that the `sealcam console` tool talks to. */
export interface SerialConsole {
  writeLine(line: string): void;
  /** Called once per received line, without the line terminator. */
  onLine(callback: (line: string) => void): void;
}
