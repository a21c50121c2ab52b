/**
 * `node build/hw-validate.cjs [root]`: runs every manifest/board/partition rule (validate.ts) and prints the
 * problems; exit code 1 if there are any. `make firmware` runs it before calling mcconfig.
 */
import * as path from "node:path";
import { formatProblems, validateAll } from "./validate";

export async function main(argv: string[]): Promise<number> {
  const root = path.resolve(argv[0] ?? ".");
  const problems = validateAll({ root });
  if (problems.length > 0) {
    process.stderr.write(formatProblems(problems, root) + "\n");
    process.stderr.write(`hw: ${problems.length} problem(s) in manifests/ or hw/\n`);
    return 1;
  }
  process.stdout.write("hw: manifests, boards and partition tables are consistent\n");
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
