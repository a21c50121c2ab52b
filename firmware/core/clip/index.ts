/**
 * The sealed-clip format v1 (docs/FORMAT.md): ClipSealer on the camera, ClipOpener on the phone,
 * parseClipHead for anyone who only needs to route a clip (the cloud).
 */
export * from "./constants";
export { decodeHeader, encodeHeader } from "./header";
export type { ClipHeader, RecipientEntry, HpkeRecipientEntry, StreamRecipientEntry, RsaRecipientEntry, OtherRecipientEntry } from "./header";
export { parseClipHead, headLengthFromPreamble, type ClipHead } from "./head";
export { ClipSealer, type SealerOptions, type SealedSegment, type RecipientKey } from "./sealer";
export { ClipOpener, openClip, hpkeUnwrapper, streamKeyUnwrapper, type OpenerOptions, type Unwrapper, type CameraIdentity } from "./opener";
export { encodeFrame, FrameReader, type ClipFrame } from "./frames";
