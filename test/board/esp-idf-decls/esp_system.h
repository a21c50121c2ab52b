/* Declaration-only stand-in for ESP-IDF's esp_system.h (same prototypes as IDF v6.0). */
#pragma once
#include <stdint.h>
#include "esp_err.h"
void esp_restart(void) __attribute__((noreturn));
uint32_t esp_get_free_heap_size(void);
