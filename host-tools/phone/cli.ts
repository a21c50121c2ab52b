/**
 * `sealcam phone <command> --home DIR --cloud URL [...]`: the phone app simulator.
 *
 *   enroll --email E --name N          turn E2EE on; prints the 10-word passphrase ONCE
 *   recover --email E --name N         enroll this phone from the passphrase (SEALCAM_PASSPHRASE or --passphrase-file)
 *   phones                             list the account's phones
 *   roster                             the current key roster, verified against the pinned root
 *   remove-phone KEYID                 remove a phone (new roster without it)
 *   remove-camera ID                   remove a camera; its earlier clips stay readable
 *   delete CLIP [--yes]                delete a clip from the cloud (asks first on a terminal)
 *   retention [DAYS|off]               show or set how long the cloud keeps clips
 *   disable --yes                      turn E2EE off (deletes every key; old clips stay unreadable)
 *   clips [--json]                     list clips, described only by their verified signed heads
 *   cameras [--json]                   list cameras (certificate verified) and their last reported status
 *   open CLIP --out FILE [--frames DIR] [--video FILE.avi|FILE.mp4] [--max-bytes N]
 *                                      verify and decrypt a clip (id, or its first 8+ hex characters, or a local
 *                                      file); --video writes a playable video (MJPEG AVI, or H.264 MP4 via ffmpeg)
 *   export --out DIR                   the account's public certificates as PEM
 *   view [--port N]                    the web viewer on 127.0.0.1: cameras, clips, play, sealing facts (view/server.ts)
 *
 * The account sign-in password comes from SEALCAM_LOGIN_PASSWORD or --password-file. No secret is ever taken
 * as a command-line argument (argv is visible to every user in `ps`): --secret, --wifi-password, --password
 * and --passphrase are refused with exit code 2.
 */
import * as fs from "node:fs";
import { isSealcamError } from "../../firmware/core/errors";
import { Phone, type ListedClip, type CameraListing } from "./phone";
import { ADD_CAMERA_USAGE, addCameraCommand } from "./add-camera";

const USAGE = `usage: sealcam phone <command> --home DIR --cloud URL [options]

commands:
  enroll --email E --name N            turn end-to-end encryption on; shows the passphrase once
  recover --email E --name N           enroll this phone with the passphrase (SEALCAM_PASSPHRASE or --passphrase-file F)
  phones                               list the account's phones
  roster                               show the current key roster, verified against the account root
  remove-phone KEYID                   remove a phone from the account
  remove-camera CAMERA_ID              remove a camera (its earlier clips stay readable)
  delete CLIP [--yes]                  delete a clip from the cloud for good (full id or a unique prefix);
                                       asks first on a terminal, needs --yes otherwise
  retention [DAYS|off]                 show, or set, how many days the cloud keeps clips (off: until deleted);
                                       clips older than that are deleted at once
  disable --yes                        turn end-to-end encryption off (deletes all keys)
  clips [--json]                       list the account's clips (only what each clip's verified signed head says)
  cameras [--json]                     list the account's cameras and the status each last reported
  open CLIP [--out FILE] [--frames DIR] [--video FILE.avi|FILE.mp4] [--max-bytes N]
                                       verify and decrypt a clip (clip id, its first 8+ hex characters as
                                       logs print it, or a local file); --video writes a playable video:
                                       .avi (MJPEG, no transcoding) or .mp4 (H.264, needs ffmpeg); a download
                                       larger than N bytes (default 2 GiB) is refused
  export --out DIR                     write the account's public certificates as PEM
  view [--port N]                      watch in the browser: serves a page on 127.0.0.1 only (random port unless N)
                                       at a URL with a one-run token; this program verifies and decrypts, the
                                       page only shows; Ctrl-C stops it and deletes what it decrypted
  ${ADD_CAMERA_USAGE}

The account sign-in password is read from SEALCAM_LOGIN_PASSWORD or --password-file F.
Secrets are never command-line arguments (anyone on the machine can read those with ps).`;

/** Secrets someone might pass as arguments, and the safe ways to give each. */
const REFUSED_SECRET_FLAGS: Record<string, string> = {
  secret: "--label-file FILE (e.g. the board simulator's label.txt) or --secret-file FILE, SEALCAM_SETUP_LABEL or SEALCAM_SETUP_SECRET, or type it when asked on a terminal",
  label: "--label-file FILE (e.g. the board simulator's label.txt), SEALCAM_SETUP_LABEL, or type it when asked on a terminal",
  "wifi-password": "--wifi-password-file FILE, SEALCAM_WIFI_PASSWORD, or type it when asked on a terminal",
  password: "--password-file FILE or SEALCAM_LOGIN_PASSWORD",
  passphrase: "--passphrase-file FILE or SEALCAM_PASSPHRASE",
};

function parse(argv: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      const name = arg.slice(2);
      if (name === "yes" || name === "help" || name === "json" || name === "join" || name === "allow-loopback-cloud") flags[name] = true;
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

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes. */
async function confirm(question: string): Promise<boolean> {
  const readline = await import("node:readline/promises");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Cloud-relayed text goes to a terminal: no control characters (escape sequences). */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}

/** One clip for `clips --json`: verified facts, or only the listed id and why it was refused. */
function clipJson(c: ListedClip): Record<string, unknown> {
  if (!c.verified) return { verified: false, clipId: c.clipId, reason: c.reason };
  return {
    verified: true, clipId: c.clipId, cameraId: c.cameraId, sequence: c.sequence, startTime: c.startTime,
    contentType: c.contentType, segmentSize: c.segmentSize, rosterVersion: c.rosterVersion, uploadComplete: c.complete,
  };
}

function clipLine(c: ListedClip): string {
  if (!c.verified) return `${c.clipId}  UNVERIFIED (${printable(c.reason)})`;
  return `${c.clipId}  ${c.cameraId}  seq ${c.sequence}  ${new Date(c.startTime).toISOString()}  ${c.contentType}  roster v${c.rosterVersion}${c.complete ? "" : "  (still uploading)"}`;
}

function cameraLines(c: CameraListing): string[] {
  const cert = c.certificateVerified ? "certificate verified" : `CERTIFICATE NOT VERIFIED (${printable(c.certificateProblem ?? "")})`;
  const lines = [`${printable(c.cameraId)}  ${cert}  registered ${new Date(c.registeredAt).toISOString()}`];
  const s = c.status;
  if (!s) lines.push("  status: not reported yet");
  else {
    lines.push(`  status: seals to roster v${s.rosterVersion}, ${s.queued} parts queued, reported ${new Date(s.reportedAt).toISOString()}`);
    if (s.rosterProblem) {
      lines.push(`  !! camera refuses roster ${s.rosterProblem.version === null ? "(unknown version)" : `v${s.rosterProblem.version}`}: ${printable(s.rosterProblem.code)} ${printable(s.rosterProblem.message)}; it keeps sealing to v${s.rosterVersion}`);
    }
  }
  return lines;
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
  for (const [name, safe] of Object.entries(REFUSED_SECRET_FLAGS)) {
    if (name in flags) {
      process.stderr.write(`sealcam phone: --${name} is not accepted: a secret on the command line is visible to every user of this machine (ps). Give it with ${safe}.\n`);
      return 2;
    }
  }
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
      case "delete": {
        if (args.length !== 1) throw new Error("delete needs the clip id (or a unique prefix; see 'sealcam phone clips')");
        const clipId = await phone.fullClipId(args[0]);
        if (flags.yes !== true) {
          if (!process.stdin.isTTY || !process.stdout.isTTY) {
            out(`Nothing was deleted. Deleting clip ${clipId} cannot be undone: run again with --yes.`);
            return 1;
          }
          if (!(await confirm(`Delete clip ${clipId} from the cloud? It cannot be undone. [y/N] `))) {
            out("Nothing was deleted.");
            return 1;
          }
        }
        await phone.deleteClip(clipId);
        out(`Deleted clip ${clipId} from the cloud.`);
        return 0;
      }
      case "retention": {
        if (args.length > 1) throw new Error("retention takes at most one argument: a number of days, or off");
        if (args.length === 0) {
          const days = await phone.retention();
          out(days === null ? "Retention: off (the cloud keeps clips until you delete them)." : `Retention: ${days} days (the cloud deletes clips ${days} days after their upload began).`);
          return 0;
        }
        let days: number | null;
        if (args[0] === "off") days = null;
        else if (/^\d{1,4}$/.test(args[0]) && Number(args[0]) >= 1) days = Number(args[0]);
        else throw new Error("retention must be a whole number of days (1..3650) or off");
        const result = await phone.setRetention(days);
        out(days === null ? "Retention is off: clips are kept until you delete them." : `Retention set to ${days} days; ${result.deleted} older clip(s) deleted.`);
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
      case "clips": {
        const clips = await phone.clips();
        if (flags.json === true) out(JSON.stringify(clips.map(clipJson)));
        else for (const c of clips) out(clipLine(c));
        return 0;
      }
      case "cameras": {
        const cameras = await phone.cameras();
        if (flags.json === true) out(JSON.stringify(cameras));
        else {
          for (const c of cameras) for (const line of cameraLines(c)) out(line);
          out("(status is reported by each camera through the cloud; certificates are checked against this phone's account root)");
        }
        return 0;
      }
      case "open": {
        const video = typeof flags.video === "string" ? flags.video : undefined;
        if (args.length !== 1 || (typeof flags.out !== "string" && video === undefined && typeof flags.frames !== "string")) {
          throw new Error("open needs CLIP and --out FILE, --frames DIR or --video FILE.avi|FILE.mp4");
        }
        const frames = typeof flags.frames === "string" ? flags.frames : undefined;
        if (flags["max-bytes"] !== undefined) {
          const max = Number(flags["max-bytes"]);
          if (!Number.isSafeInteger(max) || max < 1) throw new Error("--max-bytes must be a positive whole number of bytes");
          phone.options.maxClipBytes = max;
        }
        const result = await phone.open(args[0], typeof flags.out === "string" ? flags.out : undefined, frames, {}, { video });
        out(`Verified clip ${result.clipId} from camera ${result.cameraId}: ${result.bytes} bytes${frames ? `, ${result.frames} frames in ${frames}` : ""}.`);
        const v = result.video;
        if (v) out(`Video: ${v.file} (${v.kind === "avi" ? "MJPEG AVI" : "H.264 MP4"}, ${v.frames} frames, ${v.width}x${v.height}, ${(v.durationMs / 1000).toFixed(2)} s, ${v.framesPerSecond.toFixed(2)} frames/s).`);
        return 0;
      }
      case "view": {
        let port = 0;
        if (flags.port !== undefined) {
          port = Number(flags.port);
          if (!Number.isSafeInteger(port) || port < 1 || port > 65535) throw new Error("--port must be a port number (1..65535)");
        }
        const { startViewer } = await import("./view/server");
        const viewer = await startViewer({ phone, port });
        out(`Viewer on ${viewer.origin} (this computer only). Open this URL in your browser; it holds this run's key, do not share it:`);
        out("");
        out(`    ${viewer.url}`);
        out("");
        out("Clips are verified and decrypted here, into a folder that is deleted when you stop the viewer (Ctrl-C).");
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        await viewer.close();
        out("Viewer stopped; decrypted files deleted.");
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
