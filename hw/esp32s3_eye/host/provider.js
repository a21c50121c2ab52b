/*
 * sealcam: the ECMA-419 host provider ("embedded:provider/builtin") for the ESP32-S3-EYE.
 * Moddable's camera module opens its SCCB control bus through device.I2C.default, so the default I2C bus
 * here is the camera's (SIOD GPIO 4, SIOC GPIO 5). UART0 (TX 43, RX 44) is on the header; the USB port is
 * the chip's USB Serial/JTAG. Pin numbers from Espressif's ESP32-S3-EYE schematic; untested on hardware.
 */
import Digital from "embedded:io/digital";
import I2C from "embedded:io/i2c";
import Serial from "embedded:io/serial";

const device = {
	I2C: {
		default: { io: I2C, port: 1, data: 4, clock: 5 }
	},
	Serial: {
		default: { io: Serial, port: 0, transmit: 43, receive: 44 }
	},
	io: { Digital, I2C, Serial },
	pin: {
		button: 0
	}
};

export default device;
