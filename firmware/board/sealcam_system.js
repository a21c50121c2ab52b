/*
 * "sealcam/native-system" on the board: host calls into sealcam_system.c (paired with it by one manifest
 * entry without extension). Native()/native() form, as Moddable's own modules use from plain JavaScript.
 * Types: firmware/types/sealcam-system.d.ts.
 */
export function random(length) { return native("xs_sealcam_system_random").call(undefined, length); }
export function macAddress() { return native("xs_sealcam_system_mac").call(undefined); }
export function crc32(data, previous) { return native("xs_sealcam_system_crc32").call(undefined, data, previous); }
export function restart() { native("xs_sealcam_system_restart").call(undefined); }
export function freeHeap() { return native("xs_sealcam_system_free_heap").call(undefined); }
export function consoleWrite(data) { return native("xs_sealcam_system_console_write").call(undefined, data); }
export function consoleRead() { return native("xs_sealcam_system_console_read").call(undefined); }
