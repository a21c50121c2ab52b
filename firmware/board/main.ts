/**
 * The board's firmware entry (the manifest's "main"): read the build settings, build the board Platform and
 * start the camera application, the same application the board simulator runs.
 */
import config from "mc/config";
import { startCamera } from "../camera/index";
import { cameraAppConfig, createBoardPlatform, readBoardConfig } from "./index";
import { freeHeap } from "./system";

const settings: unknown = config;
const board = readBoardConfig(settings);
startCamera(createBoardPlatform(board), cameraAppConfig(board), { freeMemory: freeHeap });
