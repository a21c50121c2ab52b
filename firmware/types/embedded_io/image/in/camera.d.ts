/**
 * Types for Moddable's ECMA-419-style camera module, "embedded:io/image/in/camera" (modules/io/imagein/camera,
 * ESP32 body over Espressif's esp32-camera). Neither the Moddable SDK nor npm publishes typings for it; this is
 * written from the module's JavaScript (Moddable SDK 8.2.x) and covers what sealcam uses. Frame buffers live in
 * PSRAM; the nearest frame size the sensor supports is chosen from width/height.
 */
declare module "embedded:io/image/in/camera" {
  export type CameraImageType = "jpeg" | number;
  export type CameraFormat = "buffer" | "buffer/disposable";

  export interface CameraOptions {
    width?: number;
    height?: number;
    imageType?: CameraImageType;
    format?: CameraFormat;
    /** Called from the camera task's hand-off when frames are ready to read. */
    onReadable?: (this: Camera, frames: number) => void;
  }

  /** With format "buffer/disposable", read() returns the driver's frame buffer (a host buffer); close() gives it back. */
  export interface DisposableFrame {
    readonly byteLength: number;
    close(): void;
  }

  export default class Camera {
    constructor(options: CameraOptions);
    start(): void;
    stop(): void;
    close(): void;
    /** The next frame: a copy (format "buffer") or the driver's buffer (format "buffer/disposable"). */
    read(buffer?: ArrayBuffer): ArrayBuffer | DisposableFrame | undefined;
    format: CameraFormat;
    readonly imageType: CameraImageType;
    readonly width: number;
    readonly height: number;
  }
}
