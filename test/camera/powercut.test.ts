/**
 * Power cuts. During enrollment: at every storage step of the commit, the camera comes back either enrolled
 * or not enrolled (partial data wiped), never half, and can then be enrolled. During a queue write: the
 * camera comes back, recovers the queue, delivers every clip that was fully queued, and keeps recording.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startCloud, type CloudServer } from "../../host-tools/cloud/server";
import { addCamera } from "../../host-tools/phone/add-camera";
import { MemoryFlash, PowerCutFlash } from "../../host-tools/board-sim/flash-file";
import { startCamera, type CameraApp } from "../../firmware/camera";
import type { CameraAppConfig } from "../../firmware/camera/config";
import type { FlashPartition } from "../../firmware/platform/flash";
import { TestAccount } from "./account";
import { makeBoard, until, type MemoryStorage, type TestBoard } from "./harness";

let dir: string;
let cloud: CloudServer;
let account: TestAccount;
const running: { app: CameraApp; board: TestBoard }[] = [];

const FAST: Partial<CameraAppConfig> = {
  clipMs: 600, sensor: { width: 64, height: 48, quality: 20, framesPerSecond: 5 }, segmentSize: 4096, uploadRetryMs: 20, uploadRetryMaxMs: 100,
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cut-"));
  cloud = await startCloud({ dataDir: dir, port: 0, host: "127.0.0.1" });
  account = await TestAccount.create(cloud.url);
});

afterAll(async () => {
  for (const r of running) powerOff(r);
  await cloud.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function powerOff({ app, board }: { app: CameraApp; board: TestBoard }): void {
  app.stop();
  board.setupServer.close();
  board.clock.clearAll();
}

function boot(board: TestBoard, config: Partial<CameraAppConfig> = {}): CameraApp {
  const app = startCamera(board.platform, { ...FAST, ...config });
  running.push({ app, board });
  return app;
}

function secretOf(board: TestBoard): string {
  return board.console.lines.find((l) => l.startsWith("setup: label secret "))!.slice("setup: label secret ".length);
}

function enrollFrom(url: string, secret: string) {
  return addCamera({ setupUrl: url, secret, wifi: { ssid: "home", password: "home-wifi-pw" }, cloudUrl: cloud.url, signer: account.signer, roster: account.roster });
}

const provisionKeys = (s: MemoryStorage) => s.keys().filter((k) => k.startsWith("p.") || k.startsWith("r.")).sort();

test("power cut at every storage step of enrollment: enrolled or not, never half", async () => {
  const outcomes: string[] = [];
  for (let n = 0; n < 40; n++) {
    const board = makeBoard();
    const app = boot(board);
    const url = await board.setupServer.ready();
    const secret = secretOf(board);
    board.storage.cutAfter = n;
    let phoneError = "";
    try {
      await enrollFrom(url, secret);
    } catch (error) {
      phoneError = (error as { code?: string }).code ?? "error";
    }
    if (!board.storage.dead) {
      // no cut within the commit: enrollment completed; this is the end of the sweep
      expect(phoneError).toBe("");
      await until(() => app.state === "running", "running");
      outcomes.push("complete");
      break;
    }
    expect(phoneError).not.toBe("");
    powerOff({ app, board });
    // Power returns: same storage contents, same flash.
    const after = makeBoard({ storage: board.storage.reboot(), flash: board.flash });
    const app2 = boot(after);
    await until(() => app2.state === "setup" || app2.state === "running" || app2.state === "connecting", "boot");
    await app2.idle();
    const keys = provisionKeys(after.storage);
    if (app2.status().enrolled) {
      expect(keys).toContain("p.ok");
      outcomes.push("enrolled");
    } else {
      expect(app2.state).toBe("setup");
      expect(keys).toEqual([]);
      outcomes.push("not-enrolled");
      // and it can be enrolled now (checked on a few of the cut points to keep the test fast)
      if (n % 4 === 1) {
        const url2 = await after.setupServer.ready();
        await enrollFrom(url2, secretOf(after));
        await until(() => app2.state === "running", "enrolled after the cut");
      }
    }
    powerOff({ app: app2, board: after });
  }
  expect(outcomes[outcomes.length - 1]).toBe("complete");
  expect(outcomes.filter((o) => o === "not-enrolled").length).toBeGreaterThan(5);
  // the marker is the last write: no cut point leaves the camera enrolled before the commit finished
  expect(outcomes.slice(0, -1).every((o) => o === "not-enrolled")).toBe(true);
});

/** A flash that behaves normally until armed, then cuts the power after `budget` more changed bytes. */
class ArmableFlash implements FlashPartition {
  readonly byteLength: number;
  readonly blockSize: number;
  private cutter: PowerCutFlash | undefined;
  constructor(readonly inner: MemoryFlash) {
    this.byteLength = inner.byteLength;
    this.blockSize = inner.blockSize;
  }
  arm(budget: number): void {
    this.cutter = new PowerCutFlash(this.inner, { budget });
  }
  get cut(): boolean {
    return this.cutter?.cut ?? false;
  }
  private target(): FlashPartition {
    return this.cutter ?? this.inner;
  }
  read(offset: number, length: number): Uint8Array {
    return this.target().read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    this.target().write(offset, data);
  }
  eraseBlock(block: number): void {
    this.target().eraseBlock(block);
  }
}

test("power cut during a queue write: the queue recovers and every fully queued clip is delivered", async () => {
  // Enroll once; every cut below starts from a copy of this camera's storage.
  const board = makeBoard({ flash: new MemoryFlash(32 * 4096, 4096) });
  const app = boot(board);
  const url = await board.setupServer.ready();
  const enrolled = await enrollFrom(url, secretOf(board));
  await until(() => app.state === "running" && board.log.count("cloud.registered") === 1, "registered");
  await app.idle();
  powerOff({ app, board });
  const opened = (sealed: Uint8Array) => account.open(sealed, enrolled.certificate, account.phones.get("phone-a")!);

  for (const budget of [1, 17, 500, 2100, 4100, 6000]) {
    const known = await account.clipIds();
    const flash = new ArmableFlash(new MemoryFlash(32 * 4096, 4096));
    const cam = makeBoard({ storage: board.storage.reboot(), flash });
    const camApp = boot(cam);
    cam.net.setUp(false);
    await until(() => camApp.state === "connecting", "offline");
    // clip A is queued whole; during clip B the power goes
    cam.camera.trigger("motion");
    await until(() => cam.log.count("record.done") === 1, "clip A queued");
    const queuedA = camApp.queue.count;
    flash.arm(budget);
    cam.camera.trigger("motion");
    await until(() => flash.cut && cam.log.count("record.fail") + cam.log.count("record.done") === 2, "power cut during clip B");
    expect(cam.log.count("record.fail")).toBe(1);
    powerOff({ app: camApp, board: cam });

    // Power returns with the network up: the queue recovers, clip A arrives whole, recording goes on.
    const back = makeBoard({ storage: cam.storage.reboot(), flash: flash.inner });
    const backApp = boot(back);
    await until(() => backApp.state === "running", "running after the cut");
    expect(backApp.queue.count).toBeGreaterThanOrEqual(queuedA);
    await until(() => backApp.queue.count === 0, "queue drained");
    back.camera.trigger("motion");
    await until(() => back.log.count("record.done") === 1, "clip C");
    await backApp.idle();
    const complete = (await account.clipIds()).filter((id) => !known.includes(id));
    expect(complete).toHaveLength(2); // A and C; B was cut mid-clip and never completes
    const seqs = [];
    for (const id of complete) seqs.push(opened(await account.download(id)).sequence);
    // sequence numbers are persisted before a clip starts: C never reuses B's number
    const base = Math.min(...seqs);
    expect(seqs.sort()).toEqual([base, base + 2]);
    powerOff({ app: backApp, board: back });
  }
});

test("power cut at every storage step of a roster update: the camera boots with the old roster or the new one, whole, then holds the new one", async () => {
  // One enrolled camera on roster v1; its storage is the starting point of every run below.
  const first = makeBoard();
  const app = boot(first);
  await enrollFrom(await first.setupServer.ready(), secretOf(first));
  await until(() => app.state === "running", "running");
  await app.idle();
  const v1 = app.status().roster as number;
  powerOff({ app, board: first });
  const enrolled = first.storage.reboot();
  await account.addPhone(`cut-roster-${Date.now()}`); // the cloud now serves v1 + 1
  const outcomes: string[] = [];
  for (let n = 0; n < 20; n++) {
    const board = makeBoard({ storage: enrolled.reboot(), flash: new MemoryFlash(64 * 4096, 4096) });
    board.storage.cutAfter = n; // counted from power-on: the update's deletes and sets are the only writes
    const cam = boot(board);
    await until(() => board.storage.dead || cam.status().roster === v1 + 1, "the roster update or the cut");
    await cam.idle();
    powerOff({ app: cam, board });
    if (!board.storage.dead) {
      outcomes.push("complete");
      break;
    }
    // Power returns on what the cut left.
    const after = makeBoard({ storage: board.storage.reboot(), flash: board.flash });
    const again = boot(after);
    await until(() => again.state === "running" || again.state === "setup", "boot after the cut");
    expect(again.status().enrolled).toBe(true);
    expect([v1, v1 + 1]).toContain(again.status().roster as number);
    expect(after.log.count("boot.repair") + after.log.count("boot.bad-enrollment")).toBe(0);
    outcomes.push(`v${again.status().roster}`);
    await until(() => again.status().roster === v1 + 1, "the new roster after the cut");
    powerOff({ app: again, board: after });
  }
  expect(outcomes[outcomes.length - 1]).toBe("complete");
  expect(outcomes.length).toBeGreaterThanOrEqual(3); // at least: before the chunks, between chunks and pointer, complete
});
