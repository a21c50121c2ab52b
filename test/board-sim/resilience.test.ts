/**
 * Never lose a clip, never end up half enrolled: the camera firmware in XS on the board simulator against
 * the real cloud. Cloud outage and Wi-Fi loss during recording (clips queue in flash, then all arrive and
 * open); power cuts during enrollment (at named steps and as a torn NVS write: afterwards the camera is
 * either enrolled or not, never half) and in the middle of a queue flash write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Phone } from "../../host-tools/phone/phone";
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import { CREDENTIALS, World } from "./harness";

const world = new World();

beforeAll(() => world.start(), 60000);
afterAll(() => world.close());

async function openAll(cameraId: string, count: number): Promise<number> {
  const clips = await world.clips(cameraId, count);
  let frames = 0;
  for (const clip of clips) {
    const dir = path.join(world.dir, "opened", clip.clipId);
    const opened = await world.phoneA.open(clip.clipId, path.join(dir, "clip.frames"), dir);
    expect(opened.cameraId).toBe(cameraId);
    expect(opened.frames).toBeGreaterThan(0);
    frames += opened.frames;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".jpg"))) {
      const jpeg = fs.readFileSync(path.join(dir, file));
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    }
  }
  return frames;
}

/** Resolves once the board lost power and the new boot's firmware has started (its "boot" log line). */
function watchReboot(board: SimulatedBoard): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the board did not reboot")), 15000);
    board.once("power-cut", () => {
      const mark = board.logs.length;
      const onLog = () => {
        if (!board.logs.slice(mark).some((r) => r.e === "boot")) return;
        board.off("log", onLog);
        clearTimeout(timer);
        resolve();
      };
      board.on("log", onLog);
    });
  });
}

test("cloud outage and Wi-Fi loss during recording: clips queue in flash, then every one arrives and opens", async () => {
  const board = await world.board("cam-outage");
  const { cameraId } = await world.enrolled(board);
  await world.record(board);
  await world.clips(cameraId, 1);

  // The cloud goes away: two clips are sealed into the flash queue.
  await world.stopCloud();
  const deferred = board.waitForLog("upload.defer", 20000);
  await world.record(board);
  await deferred;
  await world.record(board);
  // Then the Wi-Fi drops too: one more clip, queued while offline.
  board.dropNetwork(0);
  await board.waitForLog("wifi.down", 10000);
  await world.record(board);
  const status = await board.command("status");
  expect(status).toMatch(/queue=[1-9]/);

  // Everything comes back; the queue drains; no clip is lost.
  await world.restartCloud();
  const drained = board.waitForLog("queue.drained", 30000);
  board.restoreNetwork();
  await drained;
  expect(await openAll(cameraId, 4)).toBeGreaterThanOrEqual(4);
  expect(board.logs.some((r) => r.e === "queue.drop")).toBe(false);
});

test("power cut during enrollment, after part of the provisioning was stored: the camera comes back unenrolled, then enrolls", async () => {
  const board = await world.board("cam-cut-enroll");
  await world.setupUrl(board);
  board.cutPowerAt("step:wrote-p.cert");
  const reboot = watchReboot(board);
  await expect(world.add(board)).rejects.toThrow();
  await reboot;
  await world.setupUrl(board);
  expect(board.powerCuts).toEqual(["step:wrote-p.cert"]);
  expect(await board.command("status")).toContain("enrolled=no");
  // Leftovers of the cut enrollment were wiped, so a new add starts clean and succeeds.
  const { cameraId } = await world.enrolled(board);
  expect(await board.command("status")).toContain("enrolled=yes");
  await world.record(board);
  await openAll(cameraId, 1);
});

test("a torn write of the commit marker leaves the camera unenrolled, never half", async () => {
  const board = await world.board("cam-torn-marker");
  await world.setupUrl(board);
  board.cutPowerAt("storage:p.ok");
  const reboot = watchReboot(board);
  await expect(world.add(board)).rejects.toThrow();
  await reboot;
  await world.setupUrl(board);
  expect(board.powerCuts).toEqual(["storage p.ok"]);
  expect(await board.command("status")).toContain("enrolled=no");
  expect(board.services.nvs.keys().filter((k) => k.startsWith("p.") || k.startsWith("r."))).toEqual([]);
  await world.enrolled(board);
});

test("power cut right after the enrollment committed: the camera comes back enrolled and registers", async () => {
  const board = await world.board("cam-cut-committed");
  await world.setupUrl(board);
  board.cutPowerAt("step:committed");
  const reboot = watchReboot(board);
  await expect(world.add(board)).rejects.toThrow();
  await reboot;
  const registered = board.waitForLog("cloud.registered", 20000, true);
  await registered;
  expect(await board.command("status")).toContain("enrolled=yes");
});

test("power cut in the middle of a queue flash write: the camera boots consistent and loses no finished clip", async () => {
  const board = await world.board("cam-cut-queue");
  const { cameraId } = await world.enrolled(board);
  board.dropNetwork(0);
  await board.waitForLog("wifi.down", 10000);
  await world.record(board); // clip 1: sealed into the queue, complete
  const reboot = watchReboot(board);
  board.cutPowerAt("flash-write:2"); // clip 2: the power goes half way through its second queue write
  board.trigger("test");
  await reboot;
  expect(board.powerCuts).toEqual(["flash"]);
  const status = await board.command("status");
  expect(status).toContain("enrolled=yes");
  expect(status).toMatch(/queue=[1-9]/);
  const drained = board.waitForLog("queue.drained", 30000);
  board.restoreNetwork();
  await drained;
  await world.record(board); // clip 3, after the reboot
  // Clip 1 and clip 3 arrive whole and open; nothing the camera finished was lost.
  expect(await openAll(cameraId, 2)).toBeGreaterThanOrEqual(2);
});

// issue 10, finding 7: the roster steps of BOARD-SIM.md fire on roster updates too
test("power cut during a roster update, after the new chunks were written: the camera boots with the old roster, then takes the new one", async () => {
  const board = await world.board("cam-cut-roster");
  const { cameraId } = await world.enrolled(board);
  const before = Number(/roster=(\d+)/.exec(await board.command("status"))?.[1]);
  expect(before).toBeGreaterThanOrEqual(1);
  // Another phone joins the account: the cloud now serves roster before+1.
  const phoneB = new Phone({ home: path.join(world.dir, "phone-b-cut"), cloud: world.cloudUrl });
  await phoneB.recover(CREDENTIALS, world.passphrase, "phone-b-cut");
  board.cutPowerAt("step:wrote-roster-chunks");
  const reboot = watchReboot(board);
  board.consoleInput("roster refresh");
  await reboot;
  expect(board.powerCuts).toEqual(["step:wrote-roster-chunks"]);
  // The new boot loaded the old roster, whole (the pointer still names the old slot)...
  const sinceBoot = () => board.logs.slice(board.logs.lastIndexOf(board.logs.filter((r) => r.e === "boot").at(-1)!));
  for (const deadline = Date.now() + 20000; !sinceBoot().some((r) => r.e === "camera.enrolled"); ) {
    if (Date.now() > deadline) throw new Error("the camera did not come back enrolled");
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(sinceBoot().find((r) => r.e === "camera.enrolled")?.f?.roster).toBe(before);
  expect(sinceBoot().some((r) => r.e === "boot.repair" || r.e === "boot.bad-enrollment")).toBe(false);
  // ...and then took the new one from the cloud.
  await board.waitForLog((r) => r.e === "roster.update" && r.f?.to === before + 1, 20000, true);
  expect(await board.command("status")).toContain(`roster=${before + 1}`);
  await world.record(board);
  const clips = await world.clips(cameraId, 1);
  const head = await world.clipHead(clips[clips.length - 1].clipId);
  expect(head.header.recipients.map((r) => Buffer.from(r.kid).toString("hex"))).toContain(phoneB.state().phoneKeyId);
});
