/* Declaration-only stand-in for the part of FreeRTOS.h sealcam_system.c uses (TickType_t, portTICK_PERIOD_MS). */
#pragma once
#include <stdint.h>
typedef uint32_t TickType_t;
#define portTICK_PERIOD_MS ((TickType_t)1)
