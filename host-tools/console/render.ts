/** How each decoded console item is shown (pure). */
import type { ConsoleItem } from "./decode";
import { renderRaw, renderSc } from "./sc";

const DIM = "\x1b[2m";
const CYAN = "\x1b[36m";
const RESET = "\x1b[0m";

/** An ESP32 ROM boot banner line: the board has just reset. */
export function isBootBanner(text: string): boolean {
  return /^ESP-ROM:/.test(text);
}

export function renderItem(item: ConsoleItem, colour: boolean): string[] {
  const xs = (machine: string | undefined) => (machine ? `${colour ? DIM : ""}[xs ${machine}]${colour ? RESET : ""} ` : "");
  switch (item.kind) {
    case "sc":
      return [xs(item.machine) + renderSc(item.record, colour)];
    case "text": {
      const lines = item.text.split("\n").map((t) => xs(item.machine) + t);
      if (isBootBanner(item.text)) lines.unshift(colour ? `${CYAN}── board booting ──${RESET}` : "── board booting ──");
      return lines;
    }
    case "xsbug":
      return [xs(item.machine) + (colour ? DIM + item.summary + RESET : item.summary)];
    case "raw":
      return [renderRaw(item.bytes, colour)];
  }
}
