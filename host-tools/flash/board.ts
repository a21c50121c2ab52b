/**
 * The board definition as the flasher sees it: host-tools/hw/boards.ts reads hw/<name>/board.json and
 * partitions.csv (and checks them); this keeps only what flashing needs, with USB ids as numbers.
 */
import { loadBoard, type Board } from "../hw/boards";
import type { FlashBoard } from "./layout";

export function toFlashBoard(board: Board): FlashBoard {
  return {
    name: board.name,
    chip: board.chip,
    flashSize: board.flashBytes,
    usb: { vid: parseInt(board.usb.vid, 16), pid: parseInt(board.usb.pid, 16), kind: board.usb.kind },
    offsets: { ...board.offsets },
    partitions: board.partitions.map((p) => ({ name: p.name, type: p.type, subtype: p.subtype, offset: p.offset, size: p.size })),
  };
}

/** hwDir defaults to the repository's hw/ (found from the sources or from dist/). */
export function loadFlashBoard(name: string, hwDir?: string): FlashBoard {
  return toFlashBoard(hwDir ? loadBoard(name, hwDir) : loadBoard(name));
}
