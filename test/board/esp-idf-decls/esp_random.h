/* Declaration-only stand-in for ESP-IDF's esp_random.h (same prototypes as IDF v6.0). */
#pragma once
#include <stddef.h>
#include <stdint.h>
uint32_t esp_random(void);
void esp_fill_random(void *buf, size_t len);
