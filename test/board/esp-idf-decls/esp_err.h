/* Declaration-only stand-in for ESP-IDF esp_err.h, for the host compile check of firmware/board C files. */
#pragma once
typedef int esp_err_t;
#define ESP_OK 0
#define ESP_FAIL -1
