/**
 * The camera's native crypto module, driven from TypeScript running inside XS, under the normal, the
 * GC-stress XS host (the stress build collects garbage on every allocation, so a native that keeps a pointer
 * into a moved buffer fails there) and the 32-bit board host (build/xs-host/xs-host-board32: 32-bit pointers,
 * the manifest's fixed 2 MiB chunk heap and 32768 slots; docs/HARDWARE.md). Known answers, Wycheproof (read from ../shared/vectors at run time),
 * NodeCrypto cross-checks and hostile inputs: see test/xs/crypto-conformance.entry.ts.
 */
import * as path from "node:path";
import * as nodeCrypto from "node:crypto";
import { runInXs, xsHostBoard32Binary, type ChannelValue, type RequestHandler } from "../../host-tools/board-sim/board-sim";
import { NodeCrypto } from "../../host-tools/platform/node-crypto";
import { loadWycheproof } from "../helpers/wycheproof";

const node = new NodeCrypto();
const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();

function handlers(sample: number): Record<string, RequestHandler> {
  const pss = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    config: () => ({ sample: 1, rounds: sample === 1 ? 12 : 2 }),
    // The whole file, or (GC-stress run) every sample-th test of each group, so XS parses less JSON.
    vector: (params) => {
      // Missing vectors are an error (as in the host tests), never a silent skip.
      const testGroups = loadWycheproof(path.basename(String((params as { file: string }).file)));
      if (sample !== 1) for (const group of testGroups) group.tests = group.tests.filter((_, i) => i % sample === 0);
      return JSON.stringify({ testGroups });
    },
    "rsa-public": (params) => {
      const key = nodeCrypto.createPrivateKey({ key: Buffer.from((params as { pkcs8: Uint8Array }).pkcs8), format: "der", type: "pkcs8" });
      return u8(nodeCrypto.createPublicKey(key).export({ format: "der", type: "pkcs1" }));
    },
    "oaep-decrypt": (params) => {
      const { pkcs8, ct, label } = params as { pkcs8: Uint8Array; ct: Uint8Array; label: Uint8Array };
      const key = nodeCrypto.createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
      return u8(nodeCrypto.privateDecrypt({ key, padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label }, ct));
    },
    "pss-sign": (params) => {
      const saltLength = (params as { salt: number }).salt;
      const message = u8(nodeCrypto.randomBytes(100));
      const signature = nodeCrypto.sign("sha256", message, { key: pss.privateKey, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength });
      return { pkcs1: u8(pss.publicKey.export({ format: "der", type: "pkcs1" })), message, signature: u8(signature) };
    },
    node: (params): ChannelValue => {
      const p = params as Record<string, Uint8Array & number & string>;
      if (p.op === "symmetric") {
        return {
          sha256: node.sha256(p.data),
          prk: node.hkdfExtract(p.salt, p.data),
          okm: node.hkdfExpand(node.sha256(p.data), p.info, p.length),
          sealed: node.aesGcmSeal(p.key, p.nonce, p.aad, p.data),
          opened: node.aesGcmOpen(p.key, p.nonce, p.aad, p.sealed),
        };
      }
      const key = node.p256Import(p.scalar);
      const publicKey = node.p256PublicKey(key);
      return {
        publicKey,
        shared: node.p256Ecdh(key, p.peer),
        signature: node.ecdsaP256Sign(key, p.message),
        verifies: node.ecdsaP256Verify(publicKey, p.message, p.signature),
      };
    },
  };
}

interface Report {
  passed: string[];
  failed: { name: string; message: string; stack: string }[];
  notes: string[];
}

async function conformance(stress: boolean, sample: number, binary?: string): Promise<Report> {
  // XS_HOST_BINARY=build/xs-host/xs-host-psa4 runs the normal-build half on another host (see mk/xs-host.mk).
  return (await runInXs("test/xs/crypto-conformance.entry.ts", { stress, binary, handlers: handlers(sample), timeoutMs: 100000 })) as unknown as Report;
}

test("native crypto in XS passes every conformance test (normal build, all vectors)", async () => {
  const report = await conformance(false, 1);
  expect(report.failed).toEqual([]);
  expect(report.notes).toContain("gc stress: false");
  expect(report.passed.length).toBe(11);
  expect(report.notes.join("\n")).toMatch(/aes_gcm: \d+ cases/);
});

test("native crypto in XS passes the same tests under the GC-stress build (a sample of the vectors)", async () => {
  const report = await conformance(true, 24);
  expect(report.failed).toEqual([]);
  expect(report.notes).toContain("gc stress: true");
  expect(report.passed.length).toBe(11);
}, 110000);

test("native crypto in XS passes every conformance test in the 32-bit host on the board's memory terms (all vectors)", async () => {
  // A heap overflow here is an engine abort ("memory full"), which runInXs rejects with: the test fails.
  const report = await conformance(false, 1, xsHostBoard32Binary());
  expect(report.failed).toEqual([]);
  expect(report.notes).toContain("gc stress: false");
  expect(report.passed.length).toBe(11);
  expect(report.notes.join("\n")).toMatch(/aes_gcm: \d+ cases/);
}, 110000);
