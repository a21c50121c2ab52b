/*
 * channel.h: the byte pipe between the XS host and Node (plain C, no XS API).
 *
 * Frame (both directions): u32be bodyLength, then the body:
 *   u32be jsonLength, jsonLength bytes of JSON (ASCII; non-ASCII is \u-escaped by both sides),
 *   then zero or more attachments, each u32be length + bytes (binary values referenced as {"$bin": index}).
 * docs/BOARD-SIM.md describes the messages carried in the JSON.
 */
#ifndef SEALCAM_CHANNEL_H
#define SEALCAM_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#define CHANNEL_MAX_FRAME (64u * 1024u * 1024u)

/* The channel's file descriptor, or -1 when the host runs without one. */
extern int channel_fd;

/* Writes one frame: the JSON and `count` attachments. Returns 0, or -1 if the channel is closed/broken. */
int channel_write_frame(const char *json, size_t jsonLength, const void *const *attachments, const size_t *lengths,
	int count);

/* Reads what is available (call when poll() says readable). Returns 1 if data came, 0 on end of file, -1 on error
 * or a malformed frame. */
int channel_read_available(void);

/* Takes the next complete frame body out of the input buffer; the pointer stays valid until the next call to
 * channel_next_frame or channel_read_available. Returns 1 if a frame was taken, 0 if none is complete. */
int channel_next_frame(const uint8_t **body, size_t *length);

#endif
