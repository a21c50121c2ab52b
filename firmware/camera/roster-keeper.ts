/**
 * The verified key roster the camera seals to. Rules (issue 5): a roster is accepted only when the account
 * root the camera received at setup signed it and certified every key in it, when it is for the enrolled
 * account, and when its version is not older than the newest accepted one (a same-version roster must be
 * byte-identical). The accepted roster is stored (A/B slot, store.ts) and refreshed periodically and before a
 * clip when stale. A refused roster changes nothing: the camera keeps sealing to the roster it holds, logs
 * the refusal and keeps it as `problem`, which the app reports to the owner through the cloud
 * (`PUT /v1/camera/status`) until a roster is accepted again.
 *
 * A roster update passes through the same named storage steps as enrollment (`wrote-roster-chunks`,
 * `wrote-roster-pointer`; store.ts), so the board simulator can cut the power there.
 */
import type { Clock } from "../platform/clock";
import type { Crypto } from "../platform/crypto";
import { constantTimeEqual } from "../core/bytes";
import { children, parseDer, readSmallInteger } from "../core/der";
import { fail } from "../core/errors";
import { verifyRoster, type Roster } from "../core/roster";
import { CLOCK_TRUSTED_AFTER } from "./enroll";
import { describeError, type Events } from "./events";
import type { CameraStore } from "./store";

/** Why the newest roster the camera met was refused (what the owner is told). */
export interface RosterProblem {
  /** The version the refused roster claims (unverified), or null when it does not parse that far. */
  version: number | null;
  code: string;
  /** At most 200 characters, no control characters. */
  message: string;
}

/** The version a roster claims, read without verifying anything; null if it does not parse that far. */
export function claimedRosterVersion(bytes: Uint8Array): number | null {
  try {
    const tbs = children(children(parseDer(bytes))[0]);
    return readSmallInteger(tbs[2], "roster version");
  } catch {
    return null;
  }
}

function problemMessage(message: string): string {
  let out = "";
  for (let i = 0; i < message.length && out.length < 200; i++) {
    const c = message.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? " " : message[i];
  }
  return out;
}

export class RosterKeeper {
  /** Set when the last roster the camera met was refused; cleared when one is accepted. */
  problem: RosterProblem | undefined;
  private roster: Roster;
  private bytes: Uint8Array;
  private checkedAt: number;

  constructor(
    private readonly crypto: Crypto,
    private readonly clock: Clock,
    private readonly store: CameraStore,
    private readonly events: Events,
    private readonly root: Uint8Array,
    private readonly accountId: string,
    private readonly maxAgeMs: number,
    private readonly cut?: (step: string) => void,
  ) {
    const stored = store.loadRoster();
    if (!stored) fail("E_STORAGE", "no stored roster");
    this.roster = verifyRoster(crypto, stored.bytes, root, { minVersion: stored.version, accountId, now: this.trustedNow() });
    this.bytes = stored.bytes;
    this.checkedAt = 0; // refresh at the first chance after boot
  }

  private trustedNow(): number | undefined {
    const now = this.clock.now();
    return now > CLOCK_TRUSTED_AFTER ? now : undefined;
  }

  get current(): Roster {
    return this.roster;
  }

  get version(): number {
    return this.roster.version;
  }

  isStale(): boolean {
    return this.clock.now() - this.checkedAt >= this.maxAgeMs;
  }

  /** Verifies and, if newer, adopts and stores a roster. Throws (and changes nothing) when it is refused. */
  accept(bytes: Uint8Array): "updated" | "unchanged" {
    const roster = verifyRoster(this.crypto, bytes, this.root, {
      minVersion: this.roster.version, accountId: this.accountId, now: this.trustedNow(),
    });
    if (roster.version === this.roster.version) {
      if (!constantTimeEqual(bytes, this.bytes)) fail("E_ROSTER", `roster version ${roster.version} differs from the one already accepted`);
      this.checkedAt = this.clock.now();
      return "unchanged";
    }
    this.store.writeRoster({ bytes, version: roster.version }, this.cut);
    const previous = this.roster;
    this.roster = roster;
    this.bytes = bytes;
    this.checkedAt = this.clock.now();
    this.events.info("roster.update", "key roster updated", {
      from: previous.version, to: roster.version, recipients: roster.recipients.length,
      phones: roster.entries.filter((e) => e.role === "phone").length,
    });
    return "updated";
  }

  /** Fetches and accepts the cloud's roster; failures are logged and leave the current roster in force. */
  async refresh(fetch: () => Promise<Uint8Array>): Promise<boolean> {
    let bytes: Uint8Array;
    try {
      bytes = await fetch();
    } catch (error) {
      const { code, message } = describeError(error);
      this.events.warn("roster.fetch-fail", "could not fetch the roster; keeping the current one", { code, reason: message, version: this.roster.version });
      return false;
    }
    try {
      this.accept(bytes);
      this.problem = undefined;
      return true;
    } catch (error) {
      const { code, message } = describeError(error);
      const claimed = claimedRosterVersion(bytes);
      this.problem = { version: claimed, code, message: problemMessage(message) };
      this.events.error("roster.reject", "refused a roster from the cloud; still sealing to the current one", {
        code, reason: message, version: this.roster.version, refused: claimed ?? -1,
      });
      return false;
    }
  }
}
