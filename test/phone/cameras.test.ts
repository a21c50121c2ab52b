/**
 * `sealcam phone cameras`: the account's cameras, each certificate verified against the phone's pinned root,
 * and the status each camera last reported through the cloud (PUT /v1/camera/status), with a roster the
 * camera refuses shown loudly. A certificate the root did not sign is marked, not trusted.
 */
import { toBase64Url } from "../../firmware/core/bytes";
import { buildCsr } from "../../firmware/core/csr";
import { createAccountSigningKey, issueCameraCertificate } from "../../host-tools/phone/certs";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { HostileCloud, World, crypto, phoneVia, type TestCamera } from "./fixture";

let world: World;
let hostile: HostileCloud;
let front: TestCamera;

beforeAll(async () => {
  world = await World.start("cameras");
  front = await world.addCamera("cam-front");
  await world.addCamera("cam-back");
  hostile = new HostileCloud(world.cloud.url);
  await hostile.start();
}, 60_000);

afterAll(async () => {
  await hostile?.close();
  await world?.close();
});

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  const out: string[] = [];
  const w = process.stdout.write;
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    return { code: await phoneMain([...args, "--home", world.phone.home, "--cloud", hostile.url]), stdout: out.join("") };
  } finally {
    process.stdout.write = w;
  }
}

test("cameras: verified certificates, the reported status, a refused roster shown loudly", async () => {
  const problem = { version: 7, code: "E_LIMIT", message: "roster: 17 entries, at most 16" };
  const report = await world.cameraRequest(front, "PUT", "/v1/camera/status", new Uint8Array(Buffer.from(JSON.stringify({ rosterVersion: 6, rosterProblem: problem, queued: 3 }))));
  expect(report.status).toBe(200);

  const cameras = await phoneVia(world.phone, hostile.url).cameras();
  expect(cameras.map((c) => [c.cameraId, c.certificateVerified])).toEqual([["cam-back", true], ["cam-front", true]]);
  const f = cameras.find((c) => c.cameraId === "cam-front")!;
  expect(f.status).toEqual({ rosterVersion: 6, rosterProblem: problem, queued: 3, reportedAt: expect.any(Number) });
  expect(f.keyId).toMatch(/^[0-9a-f]{64}$/);
  expect(cameras.find((c) => c.cameraId === "cam-back")!.status).toBeNull();

  const text = await cli(["cameras"]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain("cam-front  certificate verified  registered ");
  expect(text.stdout).toContain("status: seals to roster v6, 3 parts queued, reported ");
  expect(text.stdout).toContain("!! camera refuses roster v7: E_LIMIT roster: 17 entries, at most 16; it keeps sealing to v6");
  expect(text.stdout).toContain("cam-back  certificate verified");
  expect(text.stdout).toContain("status: not reported yet");
  expect(text.stdout).toContain("status is reported by each camera through the cloud");

  const json = JSON.parse((await cli(["cameras", "--json"])).stdout) as { cameraId: string; certificateVerified: boolean; status: unknown }[];
  expect(json.find((c) => c.cameraId === "cam-front")).toMatchObject({ certificateVerified: true, status: { rosterVersion: 6, rosterProblem: problem, queued: 3 } });
});

test("a camera certificate from another root (or naming another camera) is shown as not verified", async () => {
  const stranger = await createAccountSigningKey("someone-else");
  const foreign = await issueCameraCertificate(buildCsr(crypto, crypto.p256Generate(), "cam-front"), stranger);
  const otherName = await world.phone.issueCameraCertificate(buildCsr(crypto, crypto.p256Generate(), "cam-elsewhere"));
  hostile.lie = async ({ method, url }, forward) => {
    if (method !== "GET" || url !== "/v1/account") return undefined;
    const account = JSON.parse((await forward()).body.toString()) as { cameras: { cameraId: string; certificate: string }[] };
    for (const c of account.cameras) c.certificate = toBase64Url(c.cameraId === "cam-front" ? foreign.certificateDer : otherName.certificateDer);
    return { headers: { "content-type": "application/json" }, body: JSON.stringify(account) };
  };
  try {
    const cameras = await phoneVia(world.phone, hostile.url).cameras();
    expect(cameras.find((c) => c.cameraId === "cam-front")).toMatchObject({ certificateVerified: false, certificateProblem: expect.stringMatching(/^E_CERT: /), keyId: "" });
    expect(cameras.find((c) => c.cameraId === "cam-back")).toMatchObject({ certificateVerified: false, certificateProblem: expect.stringContaining("names cam-elsewhere, not cam-back") });
    const text = await cli(["cameras"]);
    expect(text.stdout).toContain("cam-front  CERTIFICATE NOT VERIFIED (E_CERT: ");
  } finally {
    hostile.lie = undefined;
  }
});
