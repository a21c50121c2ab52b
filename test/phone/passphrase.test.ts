/** The passphrase, the step-3 key derivation, and the CLI's enroll output (the passphrase is shown once). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EFF_LONG_WORDLIST } from "secure-password-utilities/wordlists";
import { toBase64Url } from "../../firmware/core/bytes";
import { startCloud } from "../../host-tools/cloud/server";
import { main } from "../../host-tools/phone/cli";
import {
  backupAuthKey, checkKdfParams, deriveKey, derivePassphraseKey, generatePassphrase, newKdfParams, normalizePassphrase,
  pkcs12Password, wordlistSize, SCRYPT_N,
} from "../../host-tools/phone/kdf";

test("10 words from the 7,776-word EFF list: >= 128 bits", () => {
  expect(wordlistSize()).toBe(7776);
  const words = new Set(EFF_LONG_WORDLIST);
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const p = generatePassphrase();
    const list = p.split(" ");
    expect(list).toHaveLength(10);
    for (const w of list) {
      expect(words.has(w)).toBe(true);
      seen.add(w);
    }
  }
  expect(10 * Math.log2(7776)).toBeGreaterThan(128);
  expect(seen.size).toBeGreaterThan(400); // 500 draws from 7,776 words: nearly all distinct
});

test("normalisation tolerates case and spacing, refuses wrong counts and unknown words", () => {
  const p = generatePassphrase();
  expect(normalizePassphrase(`  ${p.toUpperCase().replace(/ /g, "   ")}\n`)).toBe(p);
  expect(() => normalizePassphrase(p.split(" ").slice(1).join(" "))).toThrow(expect.objectContaining({ code: "E_ARGUMENT" }));
  expect(() => normalizePassphrase(p.replace(/^\S+/, "qqqqzz"))).toThrow(/word 1 .*not in the word list/);
});

test("scrypt then PBKDF2: deterministic, salt-dependent; weaker parameters refused", () => {
  const params = newKdfParams();
  const p = generatePassphrase();
  const k1 = derivePassphraseKey(p, params);
  expect(k1).toHaveLength(32);
  expect(derivePassphraseKey(p.toUpperCase(), params)).toEqual(k1);
  expect(derivePassphraseKey(p, newKdfParams())).not.toEqual(k1);
  expect(pkcs12Password(k1)).toMatch(/^[0-9a-f]{64}$/);
  expect(backupAuthKey(k1, "acct-1")).not.toEqual(backupAuthKey(k1, "acct-2"));
  expect(() => checkKdfParams({ ...params, scryptN: SCRYPT_N / 2 })).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(() => checkKdfParams({ ...params, scryptSalt: toBase64Url(new Uint8Array(4)) })).toThrow(expect.objectContaining({ code: "E_FORMAT" }));
  expect(deriveKey(new Uint8Array(32), params)).not.toEqual(deriveKey(new Uint8Array(32).fill(1), params));
});

test("CLI enroll prints the passphrase once and stores it nowhere", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sealcam-cli-"));
  const cloud = await startCloud({ dataDir: path.join(tmp, "cloud") });
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const errors: string[] = [];
  const errSpy = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    errors.push(String(chunk));
    return true;
  });
  process.env.SEALCAM_LOGIN_PASSWORD = "cli password 1";
  try {
    const home = path.join(tmp, "home");
    expect(await main(["enroll", "--home", home, "--cloud", cloud.url, "--email", "cli@example.org", "--name", "cli-phone"])).toBe(0);
    const text = out.join("");
    const match = /^ {4}([a-z-]+(?: [a-z-]+){9})$/m.exec(text);
    expect(match).not.toBeNull();
    const passphrase = match![1];
    expect(text.split(passphrase).length - 1).toBe(1);
    for (const f of fs.readdirSync(home)) expect(fs.readFileSync(path.join(home, f), "utf8")).not.toContain(passphrase);
    expect(fs.statSync(path.join(home, "keystore.json")).mode & 0o777).toBe(0o600);
    // A second enroll into the same home is refused, and a bad command is a usage error.
    expect(await main(["enroll", "--home", home, "--cloud", cloud.url, "--email", "cli@example.org"])).toBe(1);
    expect(await main(["frobnicate", "--home", home, "--cloud", cloud.url])).toBe(2);
    expect(errors.join("")).toContain("already holds an enrolled phone");
    expect(errors.join("")).toContain("unknown command 'frobnicate'");
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
    delete process.env.SEALCAM_LOGIN_PASSWORD;
    await cloud.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
