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

/** A preview (snapshot, docs/FORMAT.md §3.1): one small JPEG, e.g. QQVGA 160x120 or QVGA 320x240. */
export interface PreviewConfig {
  width: number;
  height: number;
  /** JPEG quality as esp32-camera counts it: 0 (best) .. 63. */
  quality: number;
}

export interface Camera {
  start(config: CameraConfig): void;
  stop(): void;
  /** The next frame, or undefined if the camera is stopped. */
  readFrame(): Promise<Frame | undefined>;
  /**
   * One small JPEG of what the sensor sees now, for a clip's snapshot; the frame stream of a running camera
   * resumes afterwards at its own settings. Undefined when no frame came. A camera without a preview mode
   * leaves this out, and then clips get no snapshot.
   */
  capturePreview?(config: PreviewConfig): Promise<Frame | undefined>;
  /** Called on a motion or trigger event (PIR, button, simulator script). */
  onTrigger(callback: (reason: string) => void): void;
}
