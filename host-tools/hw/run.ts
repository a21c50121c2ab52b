/** Entry for build/hw-tools.cjs (mk/board.mk): `node build/hw-tools.cjs <command> ...`, see cli.ts. */
import { main } from "./cli";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`hw: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
