/** Runs a `sealcam` tool's main (phone, viewer, ...) in this process, its stdout and stderr captured. */
export async function runCli(main: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, "write").mockImplementation((t: string | Uint8Array) => (out.push(String(t)), true));
  const e = jest.spyOn(process.stderr, "write").mockImplementation((t: string | Uint8Array) => (err.push(String(t)), true));
  try {
    const code = await main(argv);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
