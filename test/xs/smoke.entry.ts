// Runs in XS: exercises the channel both ways, timers, and error reporting (driven by test/xs/host.test.ts).
/// <reference path="../../firmware/types/sealcam-host-channel.d.ts" />
import { emit, handle, on, request } from "sealcam/host-channel";
import { NativeCrypto } from "../../firmware/native/native-crypto";

const crypto = new NativeCrypto();

handle("echo", (params) => params);
handle("sha256", (params) => crypto.sha256(params as Uint8Array));
handle("later", () => new Promise((resolve) => setTimeout(() => resolve("later"), 20)));
handle("fail", () => {
  throw new Error("handler failed on purpose");
});
on("throw", (data) => {
  throw new Error(`listener threw: ${String(data)}`);
});
on("ping", (data) => emit("pong", data));

void (async () => {
  const reply = await request("node.add", { a: 2, b: 3 });
  emit("ready", { reply, text: "caf\u00e9 \u2713", bytes: new Uint8Array([0, 1, 255]) });
})();
