/**
 * The share envelopes (docs/PROTOCOL.md §14.8, §14.11) live in firmware/core/share-envelope.ts so the camera's
 * engine (XS) runs the same code for the vectors; this module re-exports them for the phone, viewer and cloud.
 */
export * from "../../firmware/core/share-envelope";
