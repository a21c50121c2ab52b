/**
 * Camera on the board: Moddable's "embedded:io/image/in/camera" (Espressif esp32-camera underneath), JPEG
 * frames from frame buffers in PSRAM, copied out one at a time ("buffer" format) so nothing holds a driver
 * buffer across an await.
 *
 * Frame size: the sensor's nearest supported size to config width x height is chosen by the driver and
 * reported in the log. JPEG quality: esp32-camera takes it at driver start from the build's
 * `defines.camera.jpeg_quality` (the manifest sets it from config); a different runtime value is logged,
 * not applied. Frame rate: readFrame() paces itself to config.framesPerSecond.
 * Triggers: the board's BOOT button (active low) reports "button"; a PIR sensor's output (active high, rising
 * edge; board.json `pins.pir`, config `pirPin`) reports "pir", at most once a second. Motion in the frames is
 * the camera app's (firmware/camera/watcher.ts): it decodes the luma DC of each JPEG read here, so this body
 * delivers only JPEG (no second, grayscale stream: esp32-camera cannot give both without re-initialising).
 * Untested on hardware: the PIR input and the detector's cost per frame in XS on the ESP32-S3 (docs/CAMERA.md).
 */
/// <reference path="../types/embedded_io/image/in/camera.d.ts" />
import CameraDevice from "embedded:io/image/in/camera";
import Digital from "embedded:io/digital";
import Timer from "timer";
import { fail, SealcamError } from "../core/errors";
import type { Camera, CameraConfig, Frame, PreviewConfig } from "../platform/camera";
import type { Log } from "../platform/log";

export interface BoardCameraOptions {
  /** JPEG quality compiled into the driver (manifest defines.camera.jpeg_quality). */
  builtInQuality: number;
  /** GPIO of a button that triggers a recording, or -1 for none. */
  triggerPin: number;
  /** GPIO of a PIR sensor's output (active high), or -1 for none. */
  pirPin?: number;
  log?: Log;
}

export class BoardCamera implements Camera {
  private device: CameraDevice | undefined;
  private config: CameraConfig | undefined;
  private waiters: ((frame: Frame | undefined) => void)[] = [];
  private lastFrameAt = 0;
  private pacing: Timer | undefined;
  private readonly triggers: ((reason: string) => void)[] = [];
  private button: Digital | undefined;
  private pir: Digital | undefined;
  private lastPir = 0;

  constructor(private readonly options: BoardCameraOptions) {}

  start(config: CameraConfig): void {
    if (!(config.width > 0 && config.height > 0)) fail("E_ARGUMENT", "camera width and height must be positive");
    if (!(config.framesPerSecond > 0 && config.framesPerSecond <= 60)) fail("E_ARGUMENT", "camera frame rate must be 1..60 per second");
    if (!Number.isInteger(config.quality) || config.quality < 0 || config.quality > 63) fail("E_ARGUMENT", "jpeg quality must be 0..63");
    this.stop();
    try {
      this.device = new CameraDevice({
        width: config.width,
        height: config.height,
        imageType: "jpeg",
        format: "buffer",
        onReadable: () => this.deliver(),
      });
      this.device.start();
    } catch (error) {
      this.device = undefined;
      throw new SealcamError("E_STATE", `camera did not start: ${error instanceof Error ? error.message : "sensor not found"}`);
    }
    this.config = config;
    this.options.log?.write("info", "camera.start", "camera started", {
      width: this.device.width,
      height: this.device.height,
      fps: config.framesPerSecond,
    });
    if (config.quality !== this.options.builtInQuality)
      this.options.log?.write("warn", "camera.quality", "jpeg quality is fixed at build time", {
        asked: config.quality,
        built: this.options.builtInQuality,
      });
  }

  stop(): void {
    if (this.pacing) Timer.clear(this.pacing);
    this.pacing = undefined;
    if (this.device) {
      try {
        this.device.stop();
        this.device.close();
      } catch {
        // the driver is gone either way
      }
    }
    this.device = undefined;
    this.config = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(undefined);
  }

  readFrame(): Promise<Frame | undefined> {
    if (!this.device) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.deliver();
    });
  }

  /**
   * A snapshot's preview: esp32-camera fixes the frame size when the driver starts, so the stream (if any) is
   * closed, the driver reopened at the preview size (QQVGA 160x120 or QVGA 320x240 as config asks) for one
   * frame, closed, and the stream restarted at its own settings; readers waiting meanwhile keep waiting. The
   * JPEG quality is the build's, as for the stream. At most 2 s for the frame. Untested on hardware
   * (docs/HARDWARE.md "Snapshots"): the reopen costs a sensor restart, a few hundred ms of video at the
   * trigger, which is why the recorder takes the preview before the clip's frames.
   */
  capturePreview(config: PreviewConfig): Promise<Frame | undefined> {
    if (!(config.width > 0 && config.height > 0)) fail("E_ARGUMENT", "preview width and height must be positive");
    const resume = this.config;
    const waiters = this.waiters;
    this.waiters = [];
    this.stop();
    return new Promise((resolve) => {
      let device: CameraDevice | undefined;
      let timer: Timer | undefined;
      const finish = (frame: Frame | undefined): void => {
        if (timer) Timer.clear(timer);
        timer = undefined;
        if (device) {
          try {
            device.stop();
            device.close();
          } catch {
            // the driver is gone either way
          }
        }
        device = undefined;
        if (resume) {
          try {
            this.start(resume);
          } catch (error) {
            this.options.log?.write("warn", "camera.preview", "the camera did not restart after the preview", { reason: error instanceof Error ? error.message : "unknown" });
          }
        }
        this.waiters = waiters.concat(this.waiters);
        this.deliver();
        resolve(frame);
      };
      try {
        device = new CameraDevice({
          width: config.width,
          height: config.height,
          imageType: "jpeg",
          format: "buffer",
          onReadable: () => {
            if (!device) return;
            let buffer: ArrayBuffer | undefined;
            try {
              const got = device.read();
              buffer = got instanceof ArrayBuffer ? got : undefined;
            } catch {
              buffer = undefined;
            }
            if (buffer && buffer.byteLength > 0) finish({ jpeg: new Uint8Array(buffer), time: Date.now() });
          },
        });
        device.start();
        timer = Timer.set(() => finish(undefined), 2000);
      } catch {
        finish(undefined);
      }
    });
  }

  onTrigger(callback: (reason: string) => void): void {
    this.triggers.push(callback);
    this.watchPir();
    if (this.button || this.options.triggerPin < 0) return;
    try {
      this.button = new Digital({
        pin: this.options.triggerPin,
        mode: Digital.InputPullUp,
        edge: Digital.Falling,
        onReadable: () => {
          for (const trigger of this.triggers) trigger("button");
        },
      });
    } catch {
      this.options.log?.write("warn", "camera.trigger", "trigger button unavailable", { pin: this.options.triggerPin });
    }
  }

  private watchPir(): void {
    const pin = this.options.pirPin ?? -1;
    if (this.pir || pin < 0) return;
    try {
      this.pir = new Digital({
        pin,
        mode: Digital.Input,
        edge: Digital.Rising,
        onReadable: () => {
          const now = Date.now();
          if (now - this.lastPir < 1000) return;
          this.lastPir = now;
          for (const trigger of this.triggers) trigger("pir");
        },
      });
    } catch {
      this.options.log?.write("warn", "camera.pir", "PIR input unavailable", { pin });
    }
  }

  /** Hands the newest frame to the oldest waiter, no faster than the configured frame rate. */
  private deliver(): void {
    const device = this.device;
    const config = this.config;
    if (!device || !config || this.waiters.length === 0 || this.pacing) return;
    const interval = 1000 / config.framesPerSecond;
    const wait = this.lastFrameAt + interval - Date.now();
    if (wait > 1) {
      this.pacing = Timer.set(() => {
        this.pacing = undefined;
        this.deliver();
      }, Math.ceil(wait));
      return;
    }
    let buffer: ArrayBuffer | undefined;
    try {
      const got = device.read(); // format "buffer": a fresh copy of the frame
      buffer = got instanceof ArrayBuffer ? got : undefined;
    } catch {
      buffer = undefined;
    }
    if (!buffer || buffer.byteLength === 0) return; // none ready: onReadable calls again
    this.lastFrameAt = Date.now();
    const waiter = this.waiters.shift();
    if (waiter) waiter({ jpeg: new Uint8Array(buffer), time: this.lastFrameAt });
  }
}
