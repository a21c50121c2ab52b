/**
 * Setup mode end to end: the camera firmware in the XS host on the board simulator, the real cloud and the
 * phone library. Success, and every attack on the setup channel the issue names: a wrong secret, a replayed
 * message, a second phone mid-setup, garbage on every endpoint. After each refused attempt the camera must
 * still be in setup mode, unenrolled, and a proper add must still succeed.
 */
import * as nodeCrypto from "node:crypto";
import { utf8Bytes } from "../../firmware/core/bytes";
import { deriveSetupKeys, formatSetupSecret, parseSetupSecret, SetupInitiator } from "../../firmware/core/setup-channel";
import { openSetupChannel } from "../../host-tools/phone/add-camera";
import { CloudClient } from "../../host-tools/phone/client";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { rawPost, World } from "./harness";

const crypto = new NodeCrypto();
const world = new World();

beforeAll(() => world.start(), 60000);
afterAll(() => world.close());

async function cameraIds(): Promise<string[]> {
  const client = new CloudClient(world.cloudUrl, world.phoneA.state().token);
  const account = await client.json<{ cameras: { cameraId: string }[] }>("GET", "/v1/account");
  return account.cameras.map((c) => c.cameraId);
}

test("setup success: the phone adds the camera, which stores its enrollment, joins Wi-Fi and registers", async () => {
  const board = await world.board("cam-ok");
  await world.setupUrl(board);
  // The console lines follow the setup server's start; wait for them rather than race them.
  const deadline = Date.now() + 10000;
  while (!board.uartLines.some((line) => line.startsWith("setup: label secret")) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const setupLines = board.uartLines.join("\n");
  expect(setupLines).toContain(board.factory.setupSecretText); // shown on the console in setup mode only
  const result = await world.enrolled(board);
  expect(result.cameraId).toMatch(/^cam-/);
  expect(await cameraIds()).toContain(result.cameraId);
  expect(board.services.wifiState).toBe("connected");
  expect(board.setupUrl).toBe(""); // the soft AP is down
  const status = await board.command("status");
  expect(status).toContain("state=running");
  expect(status).toContain("enrolled=yes");
  // After a power cycle it comes back enrolled, from the page file, and never shows the secret again.
  const before = board.uartLines.length;
  const registered = board.waitForLog("cloud.registered", 20000);
  await board.cutPower("test");
  await registered;
  expect(board.uartLines.slice(before).join("\n")).not.toContain(board.factory.setupSecretText);
});

test("a wrong setup secret is refused and changes nothing", async () => {
  const board = await world.board("cam-wrong");
  const url = await world.setupUrl(board);
  const wrong = formatSetupSecret(new Uint8Array(nodeCrypto.randomBytes(20)));
  await expect(openSetupChannel(url, wrong, 5000)).rejects.toMatchObject({ code: "E_AUTH" });
  await board.waitForLog("setup.fail", 5000, true);
  expect(await board.command("status")).toContain("enrolled=no");
  // The right phone still gets in.
  const result = await world.enrolled(board);
  expect(await cameraIds()).toContain(result.cameraId);
});

test("replayed setup messages are refused (hello and sealed request)", async () => {
  const board = await world.board("cam-replay");
  const url = await world.setupUrl(board);
  const secret = parseSetupSecret(board.factory.setupSecretText);
  const { psk } = deriveSetupKeys(crypto, secret);
  const initiator = new SetupInitiator(crypto, psk);
  const hello = initiator.hello();
  const reply = await rawPost(url, "/setup/v1/hello", hello);
  expect(reply.status).toBe(200);
  initiator.readReply(new Uint8Array(reply.body));
  expect((await rawPost(url, "/setup/v1/confirm", initiator.confirm())).status).toBe(204);
  const frame = initiator.session.seal(utf8Bytes(JSON.stringify({ op: "csr" })));
  const first = await rawPost(url, "/setup/v1/message", frame);
  expect(first.status).toBe(200);
  // The same sealed frame again: the counter says replay.
  const again = await rawPost(url, "/setup/v1/message", frame);
  expect(again.status).toBeGreaterThanOrEqual(400);
  // The same hello again (an eavesdropper replaying message 1): refused.
  const replayedHello = await rawPost(url, "/setup/v1/hello", hello);
  expect(replayedHello.status).toBeGreaterThanOrEqual(400);
  expect(await board.command("status")).toContain("enrolled=no");
  initiator.session.close();
});

test("a second phone cannot join while the first one holds the setup slot", async () => {
  const board = await world.board("cam-second");
  const url = await world.setupUrl(board);
  const first = await openSetupChannel(url, board.factory.setupSecretText, 5000);
  // Even with the right secret, a second hello is refused while the first session is open.
  await expect(openSetupChannel(url, board.factory.setupSecretText, 5000)).rejects.toMatchObject({ code: "E_CONFLICT" });
  // The first phone's session still works.
  const csr = await first.client.call({ op: "csr" });
  expect(typeof csr.csr).toBe("string");
  first.client.close();
  expect(await board.command("status")).toContain("enrolled=no");
});

test("garbage on every setup endpoint is refused; the camera stays in setup mode and can still be added", async () => {
  const board = await world.board("cam-garbage", {
    firmwareConfig: {
      clipMs: 600, sensor: { width: 160, height: 120, quality: 20, framesPerSecond: 5 }, maxSetupFailures: 50, handshakeTimeoutMs: 5000,
    },
  });
  const url = await world.setupUrl(board);
  const junk = [
    new Uint8Array(0),
    new Uint8Array(1),
    new Uint8Array(nodeCrypto.randomBytes(65)),
    new Uint8Array(nodeCrypto.randomBytes(97)),
    new Uint8Array(nodeCrypto.randomBytes(5000)),
    utf8Bytes('{"op":"provision"}'),
    new Uint8Array(100 * 1024),
  ];
  for (const endpoint of ["/setup/v1/hello", "/setup/v1/confirm", "/setup/v1/message", "/setup/v1/info", "/setup/v1/nope", "/"]) {
    for (const body of junk) {
      const reply = await rawPost(url, endpoint, body);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
    }
  }
  for (const method of ["GET", "PUT", "DELETE"]) {
    expect((await rawPost(url, "/setup/v1/hello", new Uint8Array(0), method)).status).toBeGreaterThanOrEqual(400);
  }
  const info = await rawPost(url, "/setup/v1/info", "", "GET");
  expect(info.status).toBe(200);
  expect(info.body.toString()).not.toContain(board.factory.setupSecretText.replace(/-/g, ""));
  expect(await board.command("status")).toContain("state=setup");
  const result = await world.enrolled(board);
  expect(await cameraIds()).toContain(result.cameraId);
});
