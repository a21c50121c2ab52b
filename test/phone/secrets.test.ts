/**
 * Issue 10 finding 7 (phone part): secrets never on the command line. Every secret flag is refused with
 * exit code 2 and the safe ways named; the setup secret is read from a label file; the hidden prompt turns
 * echo off (raw mode) for as long as it reads and prints nothing of what is typed. The terminal is the
 * hardware edge here: a stream with setRawMode stands in for it.
 */
import { PassThrough } from "node:stream";
import { main as phoneMain } from "../../host-tools/phone/cli";
import { secretFromFile } from "../../host-tools/phone/add-camera";
import { promptHidden } from "../../host-tools/cli-kit/secrets";

async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const e = process.stderr.write;
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    return { code: await phoneMain(args), stderr: err.join("") };
  } finally {
    process.stderr.write = e;
  }
}

test.each([
  ["secret", "--secret-file"],
  ["wifi-password", "--wifi-password-file"],
  ["password", "SEALCAM_LOGIN_PASSWORD"],
  ["passphrase", "SEALCAM_PASSPHRASE"],
])("--%s VALUE is refused with exit 2, naming %s, before anything runs", async (flag, safe) => {
  const r = await run(["add-camera", `--${flag}`, "hunter2-very-secret", "--home", "/nonexistent/home", "--cloud", "http://127.0.0.1:9"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`--${flag} is not accepted`);
  expect(r.stderr).toContain("ps");
  expect(r.stderr).toContain(safe);
  expect(r.stderr).not.toContain("hunter2");
});

test("the setup secret from a file: label file line, QR payload or bare text", () => {
  expect(secretFromFile("sealcam camera sealcam-ab12\nsecret: ABCD-EFGH-JKMN\nqr: SEALCAM:1:x:y\n")).toBe("ABCD-EFGH-JKMN");
  expect(secretFromFile("SEALCAM:1:sealcam-ab12:ABCDEFGH\n")).toBe("SEALCAM:1:sealcam-ab12:ABCDEFGH");
  expect(secretFromFile("  abcd efgh \n")).toBe("abcd efgh");
});

function fakeTty() {
  const input = new PassThrough() as PassThrough & { setRawMode: (raw: boolean) => void; rawModes: boolean[] };
  input.rawModes = [];
  input.setRawMode = (raw: boolean) => {
    input.rawModes.push(raw);
  };
  const output = new PassThrough();
  const written: string[] = [];
  output.on("data", (c: Buffer) => written.push(c.toString()));
  return { input, output, written };
}

test("the hidden prompt reads a line with echo off, handles backspace, and restores the terminal", async () => {
  const { input, output, written } = fakeTty();
  const answer = promptHidden("the camera's label secret: ", input as unknown as NodeJS.ReadStream, output);
  input.write("abcx");
  input.write("\u007fd-1234\r");
  await expect(answer).resolves.toBe("abcd-1234");
  expect(input.rawModes).toEqual([true, false]);
  await new Promise((r) => setImmediate(r));
  expect(written.join("")).toBe("the camera's label secret: \n");
  expect(input.listenerCount("data")).toBe(0);
});

test("Ctrl-C at the hidden prompt cancels (E_INTERRUPTED: exit 130) and restores the terminal", async () => {
  const { input, output } = fakeTty();
  const answer = promptHidden("password: ", input as unknown as NodeJS.ReadStream, output);
  input.write("abc\u0003");
  await expect(answer).rejects.toMatchObject({ code: "E_INTERRUPTED" });
  expect(input.rawModes).toEqual([true, false]);
});
