/* Declaration-only stand-in for ESP-IDF's esp_rom_crc.h (same prototype as IDF v6.0). */
#pragma once
#include <stdint.h>
uint32_t esp_rom_crc32_le(uint32_t crc, uint8_t const *buf, uint32_t len);
