/**
 * Recording clips one at a time on simulated cameras (test/board-sim/harness.ts World): each call has the
 * camera record one clip and answers once the cloud lists it complete; the newest of that camera's clips.
 */
import type { SimulatedBoard } from "../../host-tools/board-sim/simulator";
import type { VerifiedClip } from "../../host-tools/phone/phone";
import type { World } from "../board-sim/harness";

export function clipRecorder(world: World): (board: SimulatedBoard, cameraId: string) => Promise<VerifiedClip> {
  const seen = new Map<string, number>();
  return async (board, cameraId) => {
    await world.record(board);
    const n = (seen.get(cameraId) ?? 0) + 1;
    seen.set(cameraId, n);
    const clips = await world.clips(cameraId, n);
    return clips[clips.length - 1] as VerifiedClip;
  };
}
