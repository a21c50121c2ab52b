/**
 * The board's firmware entry (the manifest's "main"): read the build settings, build the board Platform and
 * start the camera application, the same application the board simulator runs.
 */
import config from "mc/config";
import { startCamera } from "../camera/index";
import { cameraAppConfig, createBoardPlatform, readBoardConfig } from "./index";
import { useCrc32 } from "../queue/crc32";
import { freeHeap, romCrc32 } from "./system";

const settings: unknown = config;
const board = readBoardConfig(settings);
const platform = createBoardPlatform(board);
// The clip queue checksums every sealed part; the ROM's CRC-32 is far faster than XS bytecode. It is used
// only if it gives exactly the portable results (checked here, on this chip).
if (!useCrc32(romCrc32)) platform.log.write("warn", "queue.crc", "rom crc32 disagrees with the portable one; using the portable one");
startCamera(platform, cameraAppConfig(board), { freeMemory: freeHeap });
