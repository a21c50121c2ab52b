/**
 * sealcam camera firmware: `startCamera(platform, config)` boots the camera application on any Platform
 * (the ESP32-S3 board, the board simulator, or test bodies). See docs/CAMERA.md for states, log events,
 * console commands and config keys; docs/PROTOCOL.md ("Camera setup channel") for setup.
 */
export { startCamera, CameraApp, SETUP_BUTTON, type CameraState, type CameraHooks } from "./app";
export { DEFAULT_CONFIG, resolveConfig, type CameraAppConfig } from "./config";
export { accessPointName } from "./setup-mode";
export type { ClipReport } from "./recorder";
