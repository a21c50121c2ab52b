/**
 * "sealcam/native-system": small ESP-IDF calls the board layer needs and Moddable does not expose
 * (firmware/board/sealcam_system.c + sealcam_system.js, paired by one manifest entry). Board only: the
 * simulator never imports it.
 */
declare module "sealcam/native-system" {
  /** `length` bytes from the hardware RNG (esp_fill_random); true random while Wi-Fi is on. 1..65536. */
  export function random(length: number): ArrayBuffer;
  /** The 6-byte station MAC from eFuse (esp_read_mac, ESP_MAC_WIFI_STA). */
  export function macAddress(): ArrayBuffer;
  /** CRC-32 (IEEE, zlib-compatible) of data continuing from `previous`, by the ROM's esp_rom_crc32_le. */
  export function crc32(data: Uint8Array, previous: number): number;
  /** Reboots the chip (esp_restart); does not return. */
  export function restart(): void;
  /** Free heap bytes, internal RAM and PSRAM together (esp_get_free_heap_size). */
  export function freeHeap(): number;
  /** Writes bytes to the USB Serial/JTAG console (installs the IDF driver on first use). Returns bytes written. */
  export function consoleWrite(data: Uint8Array): number;
  /** Bytes received on the USB Serial/JTAG console since the last call (never blocks), or undefined if none. */
  export function consoleRead(): ArrayBuffer | undefined;
}
