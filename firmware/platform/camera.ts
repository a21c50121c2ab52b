/** Camera: JPEG frames from the sensor and motion/trigger events. */
export interface Frame {
  /** A complete JPEG image. */
  jpeg: Uint8Array;
  /** Capture time, milliseconds since the Unix epoch. */
  time: number;
}

export interface CameraConfig {
  width: number;
  height: number;
  /** JPEG quality as esp32-camera counts it: 0 (best) .. 63. */
  quality: number;
  framesPerSecond: number;
}

export interface Camera {
  start(config: CameraConfig): void;
  stop(): void;
  /** The next frame, or undefined if the camera is stopped. */
  readFrame(): Promise<Frame | undefined>;
  /** Called on a motion or trigger event (PIR, button, simulator script). */
  onTrigger(callback: (reason: string) => void): void;
}
