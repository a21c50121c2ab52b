/**
 * `sealcam viewer <command> --home DIR [...]`: a shared user (docs/PROTOCOL.md §14.8–14.10, docs/CLI.md).
 * init makes the viewer's key pair and prints the invite to give the owner; accept fetches and verifies shares
 * from the cloud mailbox; clips lists the clips shared with it (verified heads); open decrypts one; live watches
 * a camera live with a share whose scope includes `live`.
 * The viewer folder comes from --home, else SEALCAM_VIEWER_HOME. No secret is ever an argument.
 */
import { EXIT, runTool, UsageError, type Args, type Command } from "../cli-kit";
import { readSecret } from "../cli-kit/secrets";
import { LIVE_OPTIONS, liveOptions, printable } from "../phone/cli-parts";
import { Viewer } from "./viewer";

function openViewer(args: Args): Viewer {
  const home = args.string("home") ?? process.env.SEALCAM_VIEWER_HOME;
  if (!home) throw new UsageError("choose the viewer folder with --home DIR (or SEALCAM_VIEWER_HOME)");
  return new Viewer(home, args.string("cloud"));
}

const COMMANDS: Command[] = [
  {
    name: "init", options: {}, synopsis: "--home DIR --cloud URL",
    summary: "make this viewer's key pair; prints the invite to give the owner and its fingerprint",
    run: async (args, { out }) => {
      const cloud = args.required("cloud", "init needs --cloud URL (the cloud the owner uses)");
      const { invite, fingerprint } = openViewer(args).init(cloud);
      out("Give the owner this invite (it holds only your public key):");
      out("");
      out(`    ${invite}`);
      out("");
      out(`Fingerprint: ${fingerprint}`);
      out("Read it to the owner out of band (in person, a call): 'sealcam phone share' shows it before sharing.");
      return EXIT.OK;
    },
  },
  {
    name: "invite", options: {}, summary: "print this viewer's invite and fingerprint again",
    run: async (args, { out }) => {
      const { invite, fingerprint } = openViewer(args).invite();
      out(invite);
      out(`Fingerprint: ${fingerprint}`);
      return EXIT.OK;
    },
  },
  {
    name: "accept",
    options: {
      token: { type: "boolean", help: "accept a clip share token (sealcam-share:1:...) instead: from --token-file, SEALCAM_SHARE_TOKEN or typed (hidden)" },
      "token-file": { type: "string", arg: "F", help: "a file whose first line is the clip share token (implies --token)" },
    },
    summary: "fetch shares from the cloud mailbox (or take a clip share token), verify them and keep their keys",
    run: async (args, { out }) => {
      if (args.flag("token") || args.string("token-file") !== undefined) {
        // The token is a bearer secret: never an argument (ps shows those), never printed back.
        const token = await readSecret({ what: "the clip share token", file: args.string("token-file"), fileOption: "--token-file", env: "SEALCAM_SHARE_TOKEN" });
        const viewer = openViewer(args);
        const r = await viewer.acceptToken(token);
        out(`accepted clip share ${r.share.shareId} from account ${printable(r.share.accountId)}: clip ${r.share.clipId} until ${new Date(r.share.notAfter).toISOString()}`);
        if (r.pinnedNow) {
          const { fingerprint } = await import("../phone/share-envelope");
          const { fromBase64Url } = await import("../../firmware/core/bytes");
          out(`account root fingerprint: ${fingerprint(viewer.crypto, fromBase64Url(viewer.state().account!.rootCertificate))}  (pinned now: trust on first use; compare it with the owner's 'sealcam phone shares' output)`);
        }
        out(`Open it with 'sealcam viewer open ${r.share.clipId} --out F'.`);
        return EXIT.OK;
      }
      const result = await openViewer(args).accept();
      for (const s of result.accepted) {
        const until = s.scope.notAfter === null ? "no end" : new Date(s.scope.notAfter).toISOString();
        out(`accepted share ${s.shareId} from account ${printable(s.accountId)}: ${s.scope.cameras.length ? s.scope.cameras.join(", ") : "every camera"}, ${s.scope.streams.join(", ")}, from ${new Date(s.scope.notBefore).toISOString()} until ${until}`);
      }
      for (const c of result.acceptedClips) out(`accepted clip share ${c.shareId} from account ${printable(c.accountId)}: clip ${c.clipId} until ${new Date(c.notAfter).toISOString()}`);
      for (const r of result.refused) out(`REFUSED message ${r.id}: ${printable(r.message)} [${r.code}]`);
      if (result.rootFingerprint) {
        out(`account root fingerprint: ${result.rootFingerprint}${result.pinnedNow ? "  (pinned now: trust on first use; compare it with the owner's 'sealcam phone shares' output)" : ""}`);
      }
      if (result.accepted.length === 0 && result.acceptedClips.length === 0 && result.refused.length === 0) out("No shares waiting.");
      return result.refused.length > 0 ? EXIT.FAILED : EXIT.OK;
    },
  },
  {
    name: "clips", options: { json: { type: "boolean", help: "JSON only on stdout (one array)" } },
    summary: "list the clips shared with this viewer (each head verified against the pinned account root)",
    run: async (args, { out }) => {
      const { clips, refused, snapshots } = await openViewer(args).clips();
      if (args.flag("json")) {
        out(JSON.stringify([
          ...clips.map((c) => ({ verified: true, ...c, snapshot: c.snapshot ?? null })), ...snapshots.map((c) => ({ verified: true, ...c })),
          ...refused.map((r) => ({ verified: false, ...r })),
        ]));
      } else {
        for (const c of clips) {
          out(`${c.clipId}  ${c.cameraId}  seq ${c.sequence}  ${new Date(c.startTime).toISOString()}  share ${c.shareId}`);
          if (c.snapshot) out(`  snapshot ${c.snapshot.snapshotId} (verified link)`);
        }
        // Snapshots shared without their clip (a snapshot-only share): listed on their own, with the clip they name.
        for (const c of snapshots) if (!clips.some((x) => x.snapshot?.snapshotId === c.clipId)) out(`${c.clipId}  ${c.cameraId}  ${new Date(c.startTime).toISOString()}  snapshot of ${c.snapshotOf}  share ${c.shareId}`);
        for (const r of refused) out(`${r.clipId}  UNVERIFIED (${printable(r.reason)})`);
        if (clips.length + snapshots.length + refused.length === 0) {
          out("No shared clips yet. A camera wraps clips to a share from its next roster refresh; run 'sealcam viewer accept' for new shares.");
        }
      }
      return EXIT.OK;
    },
  },
  {
    name: "open", args: "CLIP", positionals: { min: 1, max: 1 },
    options: {
      out: { type: "string", arg: "F", help: "write the verified plaintext to F" },
      frames: { type: "string", arg: "DIR", help: "write the frames (JPEG) to DIR" },
    },
    summary: "verify and decrypt a shared clip (its id, or a sealed file) with this viewer's stream keys",
    run: async (args, { out }) => {
      if (!args.string("out") && !args.string("frames")) throw new UsageError("open needs --out F or --frames DIR");
      const r = await openViewer(args).open(args.positionals[0], args.string("out"), args.string("frames"));
      out(`opened clip ${r.clipId} from ${r.cameraId} (share ${r.shareId}): ${r.bytes} bytes, ${r.frames} frames`);
      return EXIT.OK;
    },
  },
  {
    name: "live", args: "CAMERA", positionals: { min: 1, max: 1 }, options: LIVE_OPTIONS,
    summary: "watch a camera live with a share that includes live view (end-to-end encrypted; the cloud only relays)",
    run: async (args, { out }) => {
      const options = liveOptions(args);
      const { liveReportLines } = await import("../phone/live");
      const r = await openViewer(args).live(args.positionals[0], options);
      for (const line of liveReportLines(r, "this viewer", options.framesDir)) out(line);
      out(`Watched with share ${r.shareId}.`);
      return EXIT.OK;
    },
  },
];

export async function main(argv: string[]): Promise<number> {
  return runTool({
    name: "viewer",
    summary: "a shared user: its own key, shares from the owner, the clips shared with it",
    common: {
      home: { type: "string", arg: "DIR", help: "this viewer's folder (else SEALCAM_VIEWER_HOME)" },
      cloud: { type: "string", arg: "URL", help: "the cloud's URL (init stores it; later commands use the stored one)" },
    },
    details: "Trust on first use: the first accepted share pins its account; accept prints the account root's fingerprint to compare.",
    commands: COMMANDS,
  }, argv);
}
