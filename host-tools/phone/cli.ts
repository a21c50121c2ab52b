/**
 * `sealcam phone <command> --home DIR --cloud URL [...]`: the phone app simulator.
 *
 *   enroll --email E --name N          turn E2EE on; prints the 10-word passphrase ONCE
 *   recover --email E --name N         enroll this phone from the passphrase (SEALCAM_PASSPHRASE or --passphrase-file)
 *   phones                             list the account's phones
 *   roster                             the current key roster, verified against the pinned root
 *   remove-phone KEYID                 remove a phone (new roster without it)
 *   remove-camera ID                   remove a camera; its earlier clips stay readable
 *   disable --yes                      turn E2EE off (deletes every key; old clips stay unreadable)
 *   clips                              list clips
 *   open CLIP --out FILE [--frames DIR]  verify and decrypt a clip (id on the cloud, or a local file)
 *   export --out DIR                   the account's public certificates as PEM
 *
 * The account sign-in password comes from SEALCAM_LOGIN_PASSWORD or --password-file.
 */
import * as fs from "node:fs";
import { isSealcamError } from "../../firmware/core/errors";
import { Phone } from "./phone";
import { ADD_CAMERA_USAGE, addCameraCommand } from "./add-camera";

const USAGE = `usage: sealcam phone <command> --home DIR --cloud URL [options]

commands:
  enroll --email E --name N            turn end-to-end encryption on; shows the passphrase once
  recover --email E --name N           enroll this phone with the passphrase (SEALCAM_PASSPHRASE or --passphrase-file F)
  phones                               list the account's phones
  roster                               show the current key roster, verified against the account root
  remove-phone KEYID                   remove a phone from the account
  remove-camera CAMERA_ID              remove a camera (its earlier clips stay readable)
  disable --yes                        turn end-to-end encryption off (deletes all keys)
  clips                                list the account's clips
  open CLIP --out FILE [--frames DIR]  verify and decrypt a clip (clip id or local file)
  export --out DIR                     write the account's public certificates as PEM
  ${ADD_CAMERA_USAGE}

The account sign-in password is read from SEALCAM_LOGIN_PASSWORD or --password-file F.`;

function parse(argv: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      const name = arg.slice(2);
      if (name === "yes" || name === "help") flags[name] = true;
      else if (i + 1 < argv.length) flags[name] = argv[++i];
      else throw new Error(`option --${name} needs a value`);
    } else positional.push(arg);
  }
  return { positional, flags };
}

function secret(flags: Record<string, string | true>, fileFlag: string, env: string, what: string): string {
  const file = flags[fileFlag];
  if (typeof file === "string") return fs.readFileSync(file, "utf8").trim();
  const value = process.env[env];
  if (value) return value;
  throw new Error(`${what} needed: set ${env} or pass --${fileFlag} FILE`);
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { positional, flags } = parsed;
  const [command, ...args] = positional;
  if (!command || flags.help) {
    process.stdout.write(USAGE + "\n");
    return command ? 0 : 2;
  }
  const home = flags.home;
  const cloud = flags.cloud;
  if (typeof home !== "string" || typeof cloud !== "string") {
    process.stderr.write("--home DIR and --cloud URL are required\n" + USAGE + "\n");
    return 2;
  }
  const phone = new Phone({ home, cloud });
  const out = (line: string) => process.stdout.write(line + "\n");
  try {
    switch (command) {
      case "enroll": {
        const email = String(flags.email ?? "");
        const name = String(flags.name ?? "phone");
        const password = secret(flags, "password-file", "SEALCAM_LOGIN_PASSWORD", "the account sign-in password");
        const result = await phone.enroll({ email, password }, name);
        out("End-to-end encryption is on.");
        out("");
        out("Your passphrase (shown once, never stored; write it down or keep it in a password manager):");
        out("");
        out(`    ${result.passphrase}`);
        out("");
        out("You need it to enroll another phone. Without it and without an enrolled phone, your clips cannot be recovered.");
        out(`account ${result.accountId}, this phone's key id ${result.phoneKeyId}`);
        return 0;
      }
      case "recover": {
        const email = String(flags.email ?? "");
        const name = String(flags.name ?? "phone");
        const password = secret(flags, "password-file", "SEALCAM_LOGIN_PASSWORD", "the account sign-in password");
        const passphrase = secret(flags, "passphrase-file", "SEALCAM_PASSPHRASE", "the 10-word passphrase");
        const result = await phone.recover({ email, password }, passphrase, name);
        out(`This phone is enrolled (key id ${result.phoneKeyId}); roster version ${result.rosterVersion}.`);
        return 0;
      }
      case "roster": {
        const roster = await phone.roster();
        out(`roster version ${roster.version} (verified against this phone's account root):`);
        for (const e of roster.entries) out(`  ${e.role.padEnd(12)} ${e.keyId}  ${e.name ?? ""}`);
        return 0;
      }
      case "phones":
        for (const p of await phone.phones()) out(`${p.keyId}  ${p.name}${p.self ? "  (this phone)" : ""}`);
        return 0;
      case "remove-phone": {
        if (args.length !== 1) throw new Error("remove-phone needs the phone's key id");
        const result = await phone.removePhone(args[0]);
        out(`Removed. Roster version ${result.rosterVersion}: cameras stop sealing to that phone when they fetch it.`);
        return 0;
      }
      case "add-camera":
        return await addCameraCommand(phone, flags, out);
      case "remove-camera": {
        if (args.length !== 1) throw new Error("remove-camera needs the camera id");
        await phone.removeCamera(args[0]);
        out(`Camera ${args[0]} removed: it can no longer upload; clips it recorded still open.`);
        return 0;
      }
      case "disable":
        out("Turning end-to-end encryption off deletes every key of this account, here and in the cloud.");
        out("Clips recorded while it was on stay encrypted and can never be opened again, by anyone.");
        if (flags.yes !== true) {
          out("Nothing was changed. Run again with --yes to proceed.");
          return 1;
        }
        await phone.disable();
        out("End-to-end encryption is off; all keys are deleted.");
        return 0;
      case "clips":
        for (const c of await phone.clips()) {
          out(`${c.clipId}  ${c.cameraId}  ${new Date(c.startTime).toISOString()}  ${c.complete ? `${c.size} bytes` : "uploading"}`);
        }
        return 0;
      case "open": {
        if (args.length !== 1 || typeof flags.out !== "string") throw new Error("open needs CLIP and --out FILE");
        const frames = typeof flags.frames === "string" ? flags.frames : undefined;
        const result = await phone.open(args[0], flags.out, frames);
        out(`Verified clip from camera ${result.cameraId}: ${result.bytes} bytes${frames ? `, ${result.frames} frames in ${frames}` : ""}.`);
        return 0;
      }
      case "export": {
        if (typeof flags.out !== "string") throw new Error("export needs --out DIR");
        for (const file of await phone.exportCertificates(flags.out)) out(file);
        return 0;
      }
      default:
        process.stderr.write(`unknown command '${command}'\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    const code = isSealcamError(error) ? `${error.code}: ` : "";
    process.stderr.write(`sealcam phone: ${code}${(error as Error).message}\n`);
    return 1;
  }
}
