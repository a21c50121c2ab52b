/** Live view, end to end (docs/FORMAT.md §12): LiveSealer on the camera, LiveOpener on the phone. */
export * from "./format";
export { LiveSealer, type LiveSealerOptions, type LivePhone } from "./sealer";
export { LiveOpener, DEFAULT_STALL_MS, type LiveOpenerOptions, type LiveEvent } from "./opener";
