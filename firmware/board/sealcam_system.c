/*
 * sealcam_system.c: the few ESP-IDF calls the board layer needs (see firmware/types/sealcam-system.d.ts).
 *
 *   xs_sealcam_system_random(length)   -> ArrayBuffer   esp_fill_random: the hardware RNG
 *   xs_sealcam_system_mac()            -> ArrayBuffer   esp_read_mac(ESP_MAC_WIFI_STA)
 *   xs_sealcam_system_crc32(u8, prev) -> number        esp_rom_crc32_le (zlib-compatible CRC-32)
 *   xs_sealcam_system_restart()                         esp_restart
 *   xs_sealcam_system_free_heap()      -> number        esp_get_free_heap_size
 *   xs_sealcam_system_console_write(u8) -> number       USB Serial/JTAG driver
 *   xs_sealcam_system_console_read()   -> ArrayBuffer | undefined
 *
 * Compiled by mcconfig for the board; test/board/native-compile.test.ts also compiles it on the host with
 * -Wall -Wextra -Werror against the XS headers and declaration-only stand-ins for the IDF headers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xsmc.h"

#include "esp_random.h"
#include "esp_mac.h"
#include "esp_system.h"
#include "esp_rom_crc.h"
#include "freertos/FreeRTOS.h"
#if defined(__has_include) && __has_include("driver/usb_serial_jtag.h")
#include "driver/usb_serial_jtag.h"
#else
/* The driver's header is not on Moddable's include list and the build did not add it (make firmware passes
 * it in a response file): declare the few calls we make exactly as ESP-IDF v6.0 does. */
typedef struct {
	uint32_t tx_buffer_size;
	uint32_t rx_buffer_size;
} usb_serial_jtag_driver_config_t;
#define USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT() (usb_serial_jtag_driver_config_t) { .tx_buffer_size = 256, .rx_buffer_size = 256 }
esp_err_t usb_serial_jtag_driver_install(usb_serial_jtag_driver_config_t *usb_serial_jtag_config);
int usb_serial_jtag_read_bytes(void *buf, uint32_t length, TickType_t ticks_to_wait);
int usb_serial_jtag_write_bytes(const void *src, size_t size, TickType_t ticks_to_wait);
bool usb_serial_jtag_is_driver_installed(void);
#endif

#define SEALCAM_RANDOM_MAX 65536
#define SEALCAM_CONSOLE_CHUNK 256

static int sealcam_console_ready = 0;

static void sealcam_console_begin(void)
{
	if (sealcam_console_ready)
		return;
	if (!usb_serial_jtag_is_driver_installed()) {
		usb_serial_jtag_driver_config_t config = USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT();
		if (ESP_OK != usb_serial_jtag_driver_install(&config))
			return;
	}
	sealcam_console_ready = 1;
}

void xs_sealcam_system_random(xsMachine *the)
{
	xsIntegerValue length = xsmcToInteger(xsArg(0));
	void *out;
	if ((length < 1) || (length > SEALCAM_RANDOM_MAX))
		xsRangeError("random length must be 1..65536");
	xsmcSetArrayBuffer(xsResult, NULL, (xsIntegerValue)length);
	out = xsmcToArrayBuffer(xsResult);
	esp_fill_random(out, (size_t)length);
}

void xs_sealcam_system_mac(xsMachine *the)
{
	uint8_t mac[6];
	if (ESP_OK != esp_read_mac(mac, ESP_MAC_WIFI_STA))
		xsUnknownError("esp_read_mac failed");
	xsmcSetArrayBuffer(xsResult, mac, sizeof(mac));
}

void xs_sealcam_system_crc32(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	uint32_t previous = (uint32_t)xsmcToNumber(xsArg(1));
	xsmcGetBufferReadable(xsArg(0), &data, &length);
	/* no JS runs between getting the pointer and the ROM routine returning */
	xsmcSetNumber(xsResult, (xsNumberValue)esp_rom_crc32_le(previous, (const uint8_t *)data, (uint32_t)length));
}

void xs_sealcam_system_restart(xsMachine *the)
{
	(void)the;
	esp_restart();
}

void xs_sealcam_system_free_heap(xsMachine *the)
{
	xsmcSetInteger(xsResult, (xsIntegerValue)esp_get_free_heap_size());
}

void xs_sealcam_system_console_write(xsMachine *the)
{
	void *data;
	xsUnsignedValue length;
	int written = 0;
	xsmcGetBufferReadable(xsArg(0), &data, &length);
	sealcam_console_begin();
	if (sealcam_console_ready && length) {
		/* the buffer may move during a GC, but nothing runs JS between here and the copy into the driver */
		written = usb_serial_jtag_write_bytes(data, (size_t)length, 20 / portTICK_PERIOD_MS);
		if (written < 0)
			written = 0;
	}
	xsmcSetInteger(xsResult, written);
}

void xs_sealcam_system_console_read(xsMachine *the)
{
	uint8_t chunk[SEALCAM_CONSOLE_CHUNK];
	int count;
	sealcam_console_begin();
	if (!sealcam_console_ready)
		return;
	count = usb_serial_jtag_read_bytes(chunk, sizeof(chunk), 0);
	if (count > 0)
		xsmcSetArrayBuffer(xsResult, chunk, (xsIntegerValue)count);
}
