/**
 * `sealcam phone <command> [--home DIR] [--cloud URL] [...]`: the phone app simulator, on cli-kit (docs/CLI.md).
 *
 * The phone is chosen once with `sealcam phone use --home DIR --cloud URL` (saved in the config home,
 * $XDG_CONFIG_HOME/sealcam/config.json); --home/--cloud, then SEALCAM_PHONE_HOME/SEALCAM_CLOUD, override it.
 * Listings (phones, roster, clips, cameras) take --json: JSON only on stdout.
 *
 * No secret is ever taken as a command-line argument (argv is visible to every user in `ps`): --secret, --label,
 * --wifi-password, --password and --passphrase are refused with exit code 2. The account sign-in password and
 * the recovery passphrase come from --password-file / --passphrase-file, SEALCAM_LOGIN_PASSWORD /
 * SEALCAM_PASSPHRASE, or a hidden prompt on a terminal.
 */
import * as path from "node:path";
import { EXIT, runTool, UsageError, type Args, type Command, type Options } from "../cli-kit";
import { choosePhone, readConfig, writeConfig } from "../cli-kit/config";
import { readSecret } from "../cli-kit/secrets";
import { Phone, type ListedClip, type CameraListing } from "./phone";
import type { StreamName } from "../../firmware/core/stream-scope";
import { ADD_CAMERA_USAGE, addCameraCommand } from "./add-camera";
import { LIVE_OPTIONS, askFirst, isoTimeArg, liveOptions, printable, readInvite } from "./cli-parts";

/** Secrets someone might pass as arguments, and the safe ways to give each. */
const REFUSED_SECRET_FLAGS: Record<string, string> = {
  secret: "--label-file FILE (e.g. the board simulator's label.txt) or --secret-file FILE, SEALCAM_SETUP_LABEL or SEALCAM_SETUP_SECRET, or type it when asked on a terminal",
  label: "--label-file FILE (e.g. the board simulator's label.txt), SEALCAM_SETUP_LABEL, or type it when asked on a terminal",
  "wifi-password": "--wifi-password-file FILE, SEALCAM_WIFI_PASSWORD, or type it when asked on a terminal",
  password: "--password-file FILE, SEALCAM_LOGIN_PASSWORD, or type it when asked on a terminal",
  passphrase: "--passphrase-file FILE, SEALCAM_PASSPHRASE, or type it when asked on a terminal",
};

const REFUSED = Object.fromEntries(Object.entries(REFUSED_SECRET_FLAGS).map(([name, safe]) => [name,
  `--${name} is not accepted: a secret on the command line is visible to every user of this machine (ps). Give it with ${safe}.`]));

/** One clip for `clips --json`: verified facts, or only the listed id and why it was refused. */
function clipJson(c: ListedClip): Record<string, unknown> {
  if (!c.verified) return { verified: false, clipId: c.clipId, reason: c.reason };
  return {
    verified: true, clipId: c.clipId, cameraId: c.cameraId, sequence: c.sequence, startTime: c.startTime,
    contentType: c.contentType, segmentSize: c.segmentSize, rosterVersion: c.rosterVersion, uploadComplete: c.complete,
    snapshot: c.snapshot ? { snapshotId: c.snapshot.snapshotId, startTime: c.snapshot.startTime, uploadComplete: c.snapshot.complete, verifiedLink: true } : null,
  };
}

function clipLine(c: ListedClip): string {
  if (!c.verified) return `${c.clipId}  UNVERIFIED (${printable(c.reason)})`;
  const line = `${c.clipId}  ${c.cameraId}  seq ${c.sequence}  ${new Date(c.startTime).toISOString()}  ${c.contentType}  roster v${c.rosterVersion}${c.complete ? "" : "  (still uploading)"}`;
  // The snapshot's link to this clip is in its camera-signed header (verified), not the cloud's listing.
  return c.snapshot ? `${line}\n  snapshot ${c.snapshot.snapshotId} (verified link)${c.snapshot.complete ? "" : " (still uploading)"}` : line;
}

/** One timeline event or alert: time, camera, clip, and the snapshot or why the cloud shows none. */
function eventLine(e: { time: number; cameraId: string; clipId: string; snapshotId: string | null; image: { base64: string } | null; reason: string | null; detail: string | null }): string {
  const what = e.image ? `snapshot ${e.snapshotId} (${Buffer.from(e.image.base64, "base64").length}-byte JPEG, decrypted by the cloud)` : `no image: ${printable(e.reason ?? "")}${e.detail ? ` (${printable(e.detail)})` : ""}`;
  return `${new Date(e.time).toISOString()}  ${printable(e.cameraId)}  clip ${printable(e.clipId)}  ${what}`;
}

async function writeImage(dir: string, snapshotId: string, base64: string): Promise<void> {
  const fs = await import("node:fs");
  if (!/^[0-9a-f]{32}$/.test(snapshotId)) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${snapshotId}.jpg`), Buffer.from(base64, "base64"), { mode: 0o600 });
}

/** `share --to cloud`: the cloud's invite, its fingerprint, confirmation, a snapshot-only grant (cloud-features.ts). */
async function shareToCloud(args: Args, out: (line: string) => void): Promise<number> {
  if (args.string("pool") !== undefined) throw new UsageError("--to cloud takes no --pool");
  const { checkCloudStreams, cloudInvite, shareWithCloud } = await import("./cloud-features");
  const streams = checkCloudStreams(args.list("stream"));
  const phone = openPhone(args);
  const invite = await cloudInvite(phone);
  out(`Cloud key fingerprint: ${invite.fingerprint}  (the key this cloud holds; it will open snapshots only, never video)`);
  const stop = await askFirst(args, out, {
    question: "Grant the cloud a snapshot key? [y/N] ", unattended: "Nothing was shared. Check the fingerprint, then run again with --yes.", declined: "Nothing was shared.",
  });
  if (stop !== undefined) return stop;
  const r = await shareWithCloud(phone, { cameras: args.list("camera"), streams, notBefore: isoTimeArg(args, "from"), notAfter: isoTimeArg(args, "until") ?? null, invite });
  out(`Shared with the cloud: share ${r.shareId} (snapshot only; stream key ${r.keyId.slice(0, 16)}), roster version ${r.rosterVersion}.`);
  out("From the cameras' next roster refresh the cloud can open their snapshots for the timeline and preview alerts; never video.");
  out("Stop it with 'sealcam phone revoke cloud' (snapshots it already opened stay known to it).");
  return EXIT.OK;
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

const JSON_OPTION: Options = { json: { type: "boolean", help: "JSON only on stdout (one array)" } };
const PASSWORD_OPTION: Options = { "password-file": { type: "string", arg: "F", help: "the account sign-in password: first line of F\n(else SEALCAM_LOGIN_PASSWORD, else asked on a terminal, not shown)" } };
const ACCOUNT_OPTIONS: Options = {
  email: { type: "string", arg: "E", help: "the account's email address" },
  name: { type: "string", arg: "N", default: "phone", help: "this phone's name in the roster" },
  ...PASSWORD_OPTION,
};
const ONE = { min: 1, max: 1 };

function password(args: Args, confirmTyped = false): Promise<string> {
  return readSecret({ what: "the account sign-in password", file: args.string("password-file"), fileOption: "--password-file", env: "SEALCAM_LOGIN_PASSWORD" }, { confirm: confirmTyped });
}

/** The phone this command works on: --home/--cloud, then the environment, then the config home. */
function openPhone(args: Args): Phone {
  const chosen = choosePhone({ home: args.string("home"), cloud: args.string("cloud") });
  return new Phone({ home: chosen.home, cloud: chosen.cloud });
}

export async function main(argv: string[]): Promise<number> {
  return runTool({
    name: "phone",
    summary: "the phone app simulator: enroll, recover, add cameras, list and open clips",
    refused: REFUSED,
    common: {
      home: { type: "string", arg: "DIR", help: "this phone's folder (else SEALCAM_PHONE_HOME, else the one chosen with 'phone use')" },
      cloud: { type: "string", arg: "URL", help: "the cloud's URL (else SEALCAM_CLOUD, else the one chosen with 'phone use')" },
    },
    details: "Choose the phone once: sealcam phone use --home DIR --cloud URL (saved in $XDG_CONFIG_HOME/sealcam/config.json).\n" +
      "Secrets are never command-line arguments (anyone on the machine can read those with ps).",
    commands: COMMANDS,
  }, argv);
}

const COMMANDS: Command[] = [
  {
    name: "use", options: {},
    summary: "choose the phone (--home DIR) and cloud (--cloud URL) the other commands use, saved in the config home;\nwithout options, show the current choice and where it comes from",
    run: async (args, { out }) => {
      const home = args.string("home");
      const cloud = args.string("cloud");
      if (home === undefined && cloud === undefined) {
        const chosen = choosePhone({});
        out(`home  ${chosen.home}  (from ${chosen.from.home})`);
        out(`cloud ${chosen.cloud}  (from ${chosen.from.cloud})`);
        return EXIT.OK;
      }
      if (cloud !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(cloud)) throw new UsageError(`--cloud must be an http(s) URL such as http://127.0.0.1:8080, not '${cloud}'`);
      const config = readConfig();
      const phone = { ...(config.phone ?? {}), ...(home !== undefined ? { home: path.resolve(home) } : {}), ...(cloud !== undefined ? { cloud } : {}) };
      const file = writeConfig({ ...config, phone });
      out(`phone: home ${phone.home ?? "(not set)"}, cloud ${phone.cloud ?? "(not set)"}; saved in ${file}`);
      return EXIT.OK;
    },
  },
  {
    name: "enroll", synopsis: "--email E", options: ACCOUNT_OPTIONS,
    summary: "turn end-to-end encryption on; shows the passphrase once",
    run: async (args, { out }) => {
      const email = args.required("email", "enroll needs --email E (the account's email address)");
      const phone = openPhone(args);
      const result = await phone.enroll({ email, password: await password(args, true) }, args.string("name")!);
      out("End-to-end encryption is on.");
      out("");
      out("Your passphrase (shown once, never stored; write it down or keep it in a password manager):");
      out("");
      out(`    ${result.passphrase}`);
      out("");
      out("You need it to enroll another phone. Without it and without an enrolled phone, your clips cannot be recovered.");
      out(`account ${result.accountId}, this phone's key id ${result.phoneKeyId}`);
      return EXIT.OK;
    },
  },
  {
    name: "recover", synopsis: "--email E",
    options: { ...ACCOUNT_OPTIONS, "passphrase-file": { type: "string", arg: "F", help: "the 10-word passphrase: first line of F\n(else SEALCAM_PASSPHRASE, else asked on a terminal, not shown)" } },
    summary: "enroll this phone with the account's 10-word passphrase",
    run: async (args, { out }) => {
      const email = args.required("email", "recover needs --email E (the account's email address)");
      const phone = openPhone(args);
      const pw = await password(args);
      const passphrase = await readSecret({ what: "the 10-word passphrase", file: args.string("passphrase-file"), fileOption: "--passphrase-file", env: "SEALCAM_PASSPHRASE" });
      const result = await phone.recover({ email, password: pw }, passphrase, args.string("name")!);
      out(`This phone is enrolled (key id ${result.phoneKeyId}); roster version ${result.rosterVersion}.`);
      return EXIT.OK;
    },
  },
  {
    name: "phones", options: JSON_OPTION, summary: "list the account's phones",
    run: async (args, { out }) => {
      const phones = await openPhone(args).phones();
      if (args.flag("json")) out(JSON.stringify(phones));
      else for (const p of phones) out(`${p.keyId}  ${printable(p.name)}${p.self ? "  (this phone)" : ""}`);
      return EXIT.OK;
    },
  },
  {
    name: "roster", options: JSON_OPTION, summary: "show the current key roster, verified against the account root",
    run: async (args, { out }) => {
      const roster = await openPhone(args).roster();
      if (args.flag("json")) out(JSON.stringify(roster));
      else {
        out(`roster version ${roster.version} (verified against this phone's account root):`);
        for (const e of roster.entries) out(`  ${e.role.padEnd(12)} ${e.keyId}  ${printable(e.name ?? "")}`);
      }
      return EXIT.OK;
    },
  },
  {
    name: "share", synopsis: "--to INVITE_FILE|INVITE",
    options: {
      to: { type: "string", arg: "INVITE", help: "the viewer's invite (SEALCAM-INVITE:1:..., no secret) or a file holding it;\n'cloud': grant the cloud a snapshot-only key (timeline, preview alerts)" },
      camera: { type: "string", multiple: true, arg: "C", help: "a camera to share (repeat; default every camera)" },
      stream: { type: "string", multiple: true, arg: "S", help: "what to share: video, snapshot, live (repeat; default video; --to cloud: snapshot only)" },
      from: { type: "string", arg: "T", help: "share clips captured from T (ISO 8601; default now)" },
      until: { type: "string", arg: "T", help: "until T (ISO 8601): a temporary share; without it no end" },
      pool: { type: "string", arg: "NAME", help: "add the viewer to shared pool NAME: its key is rotated, the new one goes to every member" },
      yes: { type: "boolean", short: "y", help: "do not ask (needed when not on a terminal)" },
    },
    summary: "share clips with a viewer: a new stream key, in the roster, delivered to the viewer's key via the mailbox",
    run: async (args, { out }) => {
      const { createShare, inviteFingerprint } = await import("./share");
      const to = args.required("to", "share needs --to INVITE (the viewer's invite, or a file holding it)");
      if (to === "cloud") return shareToCloud(args, out);
      const invite = readInvite(to);
      const time = (name: string): number | undefined => isoTimeArg(args, name);
      const streams = args.list("stream");
      for (const s of streams) if (s !== "video" && s !== "snapshot" && s !== "live") throw new UsageError(`--stream ${s}: video, snapshot or live`);
      const phone = openPhone(args);
      const fingerprint = inviteFingerprint(phone, invite);
      out(`Viewer key fingerprint: ${fingerprint}  (compare it with the one the viewer's 'sealcam viewer init' printed)`);
      const stop = await askFirst(args, out, {
        question: "Does it match what the viewer reads to you? Share? [y/N] ", unattended: "Nothing was shared. Compare the fingerprint, then run again with --yes.", declined: "Nothing was shared.",
      });
      if (stop !== undefined) return stop;
      const pool = args.string("pool");
      if (pool !== undefined) {
        if (args.string("from") !== undefined || args.string("until") !== undefined) throw new UsageError("a pool's key has no window: --pool takes no --from/--until");
        const { addPoolMember } = await import("./share");
        const p = await addPoolMember(phone, pool, invite, { cameras: args.list("camera"), streams: ["video"] });
        out(`Pool ${p.pool.name}: ${p.pool.members.length} member(s); its key was rotated (share ${p.pool.shareId}, roster version ${p.rosterVersion}) and the new key is in every member's mailbox.`);
        out("Cameras wrap new clips to the new key from their next roster refresh; the old key gets none from then on.");
        return EXIT.OK;
      }
      const chosen: StreamName[] = streams.length === 0 ? ["video"] : (["video", "snapshot", "live"] as const).filter((s) => streams.includes(s));
      const r = await createShare(phone, { invite, cameras: args.list("camera"), streams: chosen, notBefore: time("from"), notAfter: time("until") ?? null });
      out(`Shared: share ${r.shareId} (stream key ${r.keyId.slice(0, 16)}), roster version ${r.rosterVersion}; the key is in the viewer's mailbox.`);
      out("Cameras wrap new clips to it from their next roster refresh; clips recorded before are not shared.");
      if (chosen.includes("live")) out("Live view: the viewer watches with 'sealcam viewer live CAMERA' once the cameras have refreshed their roster.");
      return EXIT.OK;
    },
  },
  {
    name: "shares", options: JSON_OPTION, summary: "list the active shares (the verified roster's stream keys) and clip shares",
    run: async (args, { out }) => {
      const { listShares, listClipShares } = await import("./share");
      const phone = openPhone(args);
      const shares = await listShares(phone);
      const clipShares = await listClipShares(phone);
      if (args.flag("json")) out(JSON.stringify([...shares, ...clipShares.map((c) => ({ kind: "clip-share", ...c }))]));
      else {
        for (const s of shares) {
          const sc = s.scope;
          out(`${s.shareId}  ${s.holder}  ${sc.cameras.length ? sc.cameras.join(",") : "every camera"}  ${sc.streams.join(",")}  from ${new Date(sc.notBefore).toISOString()} until ${sc.notAfter === null ? "no end" : new Date(sc.notAfter).toISOString()}  key ${s.fingerprint}`);
        }
        for (const c of clipShares) {
          out(`clip share ${c.shareId}  clip ${c.clipId}  until ${new Date(c.notAfter).toISOString()}${c.ended ? " (ended)" : ""}  address ${c.address}`);
        }
        if (shares.length === 0 && clipShares.length === 0) out("No active shares.");
        const { fingerprint } = await import("./share-envelope");
        const { fromBase64Url } = await import("../../firmware/core/bytes");
        out(`account root fingerprint: ${fingerprint(phone.crypto, fromBase64Url(phone.state().rootCertificate))}`);
      }
      return EXIT.OK;
    },
  },
  {
    name: "share-clip", args: "CLIP", positionals: ONE,
    options: {
      to: { type: "string", arg: "INVITE", help: "deliver the clip's key to this viewer (an invite or a file holding it) instead of printing a token" },
      until: { type: "string", arg: "T", help: "the share ends at T (ISO 8601; default 24 hours from now)" },
      yes: { type: "boolean", short: "y", help: "do not ask (needed with --to when not on a terminal)" },
    },
    summary: "share ONE clip: its key wrapped to a fresh temporary key, stored beside the clip; prints a token (a bearer secret)",
    run: async (args, { out }) => {
      const { shareClip, inviteFingerprint } = await import("./share");
      const phone = openPhone(args);
      const notAfter = isoTimeArg(args, "until", false);
      const to = args.string("to");
      let invite: string | undefined;
      if (to !== undefined) {
        invite = readInvite(to);
        out(`Viewer key fingerprint: ${inviteFingerprint(phone, invite)}  (compare it with the one the viewer's 'sealcam viewer init' printed)`);
        const stop = await askFirst(args, out, {
          question: "Does it match what the viewer reads to you? Share this clip? [y/N] ", unattended: "Nothing was shared. Compare the fingerprint, then run again with --yes.", declined: "Nothing was shared.",
        });
        if (stop !== undefined) return stop;
      }
      const r = await shareClip(phone, { clip: args.positionals[0], notAfter, invite });
      out(`Shared clip ${r.clipId} from ${r.cameraId} until ${new Date(r.notAfter).toISOString()} (clip share ${r.shareId}, address ${r.address}).`);
      if (r.token) {
        out("This token opens this one clip until then, for ANYONE who holds it (a bearer secret). It is shown only now;");
        out("send it privately; the viewer gives it to 'sealcam viewer accept --token-file F' (or SEALCAM_SHARE_TOKEN, or types it):");
        out("");
        out(r.token);
        out("");
      } else {
        out(`Its key is in the viewer's mailbox (fingerprint ${r.viewerFingerprint}); 'sealcam viewer accept' takes it.`);
      }
      out(`Withdraw it with 'sealcam phone revoke --clip-share ${r.address}'.`);
      return EXIT.OK;
    },
  },
  {
    name: "revoke", args: "SHARE", synopsis: "SHARE | --pool NAME --member FINGERPRINT | --clip-share ADDRESS", positionals: { min: 0, max: 1 },
    options: {
      pool: { type: "string", arg: "NAME", help: "remove a member from shared pool NAME (the pool's key is rotated without it)" },
      member: { type: "string", arg: "FINGERPRINT", help: "the member's key fingerprint (as 'phone share --pool' printed it)" },
      "clip-share": { type: "string", arg: "ADDRESS", help: "withdraw a clip share (its address, as 'phone share-clip' printed it)" },
    },
    summary: "stop a share: publish a roster without its key (or rotate a pool without a member, or withdraw a clip share)",
    run: async (args, { out }) => {
      const { revokeShare, removePoolMember, withdrawClipShare } = await import("./share");
      const pool = args.string("pool");
      const clipShare = args.string("clip-share");
      if (pool !== undefined) {
        const member = args.required("member", "--pool needs --member FINGERPRINT (the member to remove)");
        if (args.positionals.length > 0) throw new UsageError("give either SHARE or --pool NAME --member FINGERPRINT");
        const r = await removePoolMember(openPhone(args), pool, member);
        out(`Removed ${r.removed} from pool ${pool}: roster version ${r.rosterVersion}; ${r.pool ? `the pool's new key went to its ${r.pool.members.length} remaining member(s)` : "no member is left, the pool's key is revoked"}.`);
        out("The removed member keeps every clip sealed to the old key before cameras refresh their roster (a key once given cannot be taken back); it gets nothing sealed after.");
        return EXIT.OK;
      }
      if (clipShare !== undefined) {
        await withdrawClipShare(openPhone(args), clipShare);
        out(`Withdrew clip share ${clipShare}: the cloud no longer serves it.`);
        out("Whoever already opened the clip keeps what they saw; a copy of the envelope and the clip they kept still opens until its end time.");
        return EXIT.OK;
      }
      if (args.positionals.length !== 1) throw new UsageError("revoke needs SHARE (see 'sealcam phone shares'), or --pool NAME --member FINGERPRINT, or --clip-share ADDRESS");
      const r = await revokeShare(openPhone(args), args.positionals[0]);
      out(`Revoked ${r.holder}: roster version ${r.rosterVersion}.`);
      out("Cameras stop wrapping new clips to it from their next roster refresh.");
      out("Clips already shared with it stay readable by its holder: a key once given cannot be taken back (by design).");
      return EXIT.OK;
    },
  },
  {
    name: "remove-phone", args: "KEYID", positionals: ONE, options: {}, summary: "remove a phone from the account",
    run: async (args, { out }) => {
      const result = await openPhone(args).removePhone(args.positionals[0]);
      out(`Removed. Roster version ${result.rosterVersion}: cameras stop sealing to that phone when they fetch it.`);
      return EXIT.OK;
    },
  },
  {
    name: "add-camera", synopsis: "--wifi-ssid S",
    options: {
      "wifi-ssid": { type: "string", arg: "S", help: "your home network, which the camera joins" },
      "label-file": { type: "string", arg: "F", help: "a file holding the camera's label string SEALCAM:1:<ssid>:<secret> (the board simulator's\nlabel.txt, a console log); else SEALCAM_SETUP_LABEL, else typed (hidden) on a terminal" },
      "secret-file": { type: "string", arg: "F", help: "a bare label secret instead (else SEALCAM_SETUP_SECRET)" },
      join: { type: "boolean", help: "join the camera's access point (simulated air, else nmcli)" },
      "setup-url": { type: "string", arg: "URL", help: "the camera's setup address (default: the access point's, http://192.168.4.1)" },
      "wifi-password-file": { type: "string", arg: "F", help: "the home Wi-Fi password: first line of F (else SEALCAM_WIFI_PASSWORD, empty: open\nnetwork, else typed on a terminal)" },
      "allow-loopback-cloud": { type: "boolean", help: "hand a camera on another machine a loopback cloud address anyway" },
    },
    summary: "enroll a camera in setup mode from its label; prints its access point and WPA2 password",
    details: ADD_CAMERA_USAGE.split("\n").map((l) => l.trim()).filter((l, i) => i > 0 && l).join("\n"),
    run: async (args, { out }) => {
      const flags: Record<string, string | true> = {};
      for (const [name, value] of Object.entries(args.values)) {
        if (name === "home" || name === "cloud" || value === undefined || value === false) continue;
        flags[name] = value === true ? true : Array.isArray(value) ? value.at(-1)! : value;
      }
      return addCameraCommand(openPhone(args), flags, out);
    },
  },
  {
    name: "remove-camera", args: "CAMERA_ID", positionals: ONE, options: {}, summary: "remove a camera (its earlier clips stay readable)",
    run: async (args, { out }) => {
      await openPhone(args).removeCamera(args.positionals[0]);
      out(`Camera ${args.positionals[0]} removed: it can no longer upload; clips it recorded still open.`);
      return EXIT.OK;
    },
  },
  {
    name: "delete", args: "CLIP", positionals: ONE,
    options: { yes: { type: "boolean", short: "y", help: "do not ask (needed when not on a terminal)" } },
    summary: "delete a clip from the cloud for good (full id or a unique prefix); asks first on a terminal",
    run: async (args, { out }) => {
      const phone = openPhone(args);
      const clipId = await phone.fullClipId(args.positionals[0]);
      const stop = await askFirst(args, out, {
        question: `Delete clip ${clipId} from the cloud? It cannot be undone. [y/N] `, unattended: `Nothing was deleted. Deleting clip ${clipId} cannot be undone: run again with --yes.`, declined: "Nothing was deleted.",
      });
      if (stop !== undefined) return stop;
      await phone.deleteClip(clipId);
      out(`Deleted clip ${clipId} from the cloud.`);
      return EXIT.OK;
    },
  },
  {
    name: "retention", args: "[DAYS|off]", positionals: { min: 0, max: 1 }, options: {},
    summary: "show, or set, how many days the cloud keeps clips (off: until deleted); older clips are deleted at once",
    run: async (args, { out }) => {
      const phone = openPhone(args);
      const [value] = args.positionals;
      if (value === undefined) {
        const days = await phone.retention();
        out(days === null ? "Retention: off (the cloud keeps clips until you delete them)." : `Retention: ${days} days (the cloud deletes clips ${days} days after their upload began).`);
        return EXIT.OK;
      }
      let days: number | null;
      if (value === "off") days = null;
      else if (/^\d{1,4}$/.test(value) && Number(value) >= 1) days = Number(value);
      else throw new UsageError("retention must be a whole number of days (1..3650) or off");
      const result = await phone.setRetention(days);
      out(days === null ? "Retention is off: clips are kept until you delete them." : `Retention set to ${days} days; ${result.deleted} older clip(s) deleted.`);
      return EXIT.OK;
    },
  },
  {
    name: "disable", options: { yes: { type: "boolean", short: "y", help: "really do it" } },
    summary: "turn end-to-end encryption off (deletes all keys; needs --yes)",
    run: async (args, { out }) => {
      const phone = openPhone(args);
      out("Turning end-to-end encryption off deletes every key of this account, here and in the cloud.");
      out("Clips recorded while it was on stay encrypted and can never be opened again, by anyone.");
      if (!args.flag("yes")) {
        out("Nothing was changed. Run again with --yes to proceed.");
        return EXIT.FAILED;
      }
      await phone.disable();
      out("End-to-end encryption is off; all keys are deleted.");
      return EXIT.OK;
    },
  },
  {
    name: "timeline", options: {
      ...JSON_OPTION,
      limit: { type: "string", arg: "N", help: "at most N events, newest first (1..200, default 50)" },
      images: { type: "string", arg: "DIR", help: "write each event's snapshot JPEG (as the cloud decrypted it) into DIR" },
    },
    summary: "the cloud's event timeline: snapshots it can open (after 'share --to cloud --stream snapshot'), else why not",
    run: async (args, { out }) => {
      const limit = args.int("limit", 1, 200);
      const { timeline } = await import("./cloud-features");
      const t = await timeline(openPhone(args), limit);
      const dir = args.string("images");
      for (const e of t.events) if (dir && e.image && e.snapshotId) await writeImage(dir, e.snapshotId, e.image.base64);
      if (args.flag("json")) out(JSON.stringify(t.events));
      else {
        for (const e of t.events) out(eventLine(e));
        if (t.events.length === 0) out("No events.");
        out(t.grants.some((g) => g.active) ? "The cloud holds an active snapshot key: it can open snapshots (and nothing else) from its grant on." : "The cloud holds no active snapshot key: it cannot open new snapshots.");
      }
      return EXIT.OK;
    },
  },
  {
    name: "alerts", options: {
      ...JSON_OPTION,
      count: { type: "string", arg: "N", help: "stop after N alerts" },
      seconds: { type: "string", arg: "S", help: "stop after S seconds (default: until interrupted)" },
      images: { type: "string", arg: "DIR", help: "write each alert's snapshot JPEG into DIR" },
    },
    summary: "follow preview alerts: one line per snapshot the cameras upload, with the picture when the cloud may open it",
    run: async (args, { out }) => {
      const count = args.int("count", 1, 1_000_000);
      const seconds = args.int("seconds", 1, 7 * 24 * 3600);
      const dir = args.string("images");
      const { followAlerts } = await import("./cloud-features");
      const writes: Promise<void>[] = [];
      const sub = followAlerts(openPhone(args), (e) => {
        if (dir && e.image && e.snapshotId) writes.push(writeImage(dir, e.snapshotId, e.image.base64));
        out(args.flag("json") ? JSON.stringify(e) : eventLine(e));
      }, { count });
      const stop = () => sub.close();
      process.once("SIGINT", stop);
      const timer = seconds ? setTimeout(stop, seconds * 1000) : undefined;
      try {
        await sub.ready;
        if (!args.flag("json")) out("Subscribed to preview alerts.");
        await sub.done;
      } finally {
        if (timer) clearTimeout(timer);
        process.removeListener("SIGINT", stop);
      }
      await Promise.all(writes);
      return EXIT.OK;
    },
  },
  {
    name: "clips", options: JSON_OPTION, summary: "list the account's clips (only what each clip's verified signed head says)",
    run: async (args, { out }) => {
      const clips = await openPhone(args).clips();
      if (args.flag("json")) out(JSON.stringify(clips.map(clipJson)));
      else for (const c of clips) out(clipLine(c));
      return EXIT.OK;
    },
  },
  {
    name: "cameras", options: JSON_OPTION, summary: "list the account's cameras and the status each last reported",
    run: async (args, { out }) => {
      const cameras = await openPhone(args).cameras();
      if (args.flag("json")) out(JSON.stringify(cameras));
      else {
        for (const c of cameras) for (const line of cameraLines(c)) out(line);
        out("(status is reported by each camera through the cloud; certificates are checked against this phone's account root)");
      }
      return EXIT.OK;
    },
  },
  {
    name: "open", args: "CLIP", positionals: ONE,
    options: {
      out: { type: "string", arg: "FILE", help: "write the decrypted clip (its frames' bytes) to FILE" },
      frames: { type: "string", arg: "DIR", help: "write each frame as a file into DIR" },
      video: { type: "string", arg: "FILE", help: "write a playable video: .avi (MJPEG, no transcoding) or .mp4 (H.264, needs ffmpeg)" },
      "max-bytes": { type: "string", arg: "N", help: "refuse a download larger than N bytes (default 2 GiB)" },
    },
    summary: "verify and decrypt a clip (clip id, its first 8+ hex characters as logs print it, or a local file)",
    run: async (args, { out }) => {
      const file = args.string("out");
      const frames = args.string("frames");
      const video = args.string("video");
      if (file === undefined && frames === undefined && video === undefined) throw new UsageError("open needs --out FILE, --frames DIR or --video FILE.avi|FILE.mp4");
      const max = args.int("max-bytes", 1, Number.MAX_SAFE_INTEGER);
      const phone = openPhone(args);
      if (max !== undefined) phone.options.maxClipBytes = max;
      const result = await phone.open(args.positionals[0], file, frames, {}, { video });
      if (result.snapshotOf) out(`Verified snapshot ${result.clipId} of clip ${result.snapshotOf} from camera ${result.cameraId}: a ${result.bytes}-byte JPEG.`);
      else out(`Verified clip ${result.clipId} from camera ${result.cameraId}: ${result.bytes} bytes${frames ? `, ${result.frames} frames in ${frames}` : ""}.`);
      const v = result.video;
      if (v) out(`Video: ${v.file} (${v.kind === "avi" ? "MJPEG AVI" : "H.264 MP4"}, ${v.frames} frames, ${v.width}x${v.height}, ${(v.durationMs / 1000).toFixed(2)} s, ${v.framesPerSecond.toFixed(2)} frames/s).`);
      return EXIT.OK;
    },
  },
  {
    name: "live", args: "CAMERA", positionals: ONE, options: LIVE_OPTIONS,
    summary: "watch a camera live, end-to-end encrypted (the cloud only relays); prints frames/s and latency",
    run: async (args, { out }) => {
      const options = liveOptions(args);
      const { watchLive, liveReportLines } = await import("./live");
      const r = await watchLive(openPhone(args), args.positionals[0], options);
      for (const line of liveReportLines(r, "this phone", options.framesDir)) out(line);
      return EXIT.OK;
    },
  },
  {
    name: "export", synopsis: "--out DIR", options: { out: { type: "string", arg: "DIR", help: "where the PEM files go" } },
    summary: "write the account's public certificates as PEM",
    run: async (args, { out }) => {
      const dir = args.required("out", "export needs --out DIR");
      for (const file of await openPhone(args).exportCertificates(dir)) out(file);
      return EXIT.OK;
    },
  },
  {
    name: "view", options: { port: { type: "string", arg: "N", help: "the port on 127.0.0.1 (default: a random free one)" } },
    summary: "watch in the browser: a page on 127.0.0.1 only, at a URL with a one-run token; this program verifies\nand decrypts, the page only shows; Ctrl-C stops it and deletes what it decrypted",
    run: async (args, { out }) => {
      const port = args.int("port", 1, 65535) ?? 0;
      const phone = openPhone(args);
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
      return EXIT.OK;
    },
  },
];
