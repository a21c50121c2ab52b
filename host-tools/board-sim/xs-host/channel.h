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

/* Takes the next frame to dispatch: first the frames set aside by channel_await_reply (in arrival order), then the
 * next complete frame of the input buffer. The pointer stays valid until the next call to channel_next_frame
 * (a set-aside frame) or channel_read_available (an input frame). Returns 1 if a frame was taken, 0 if none is
 * complete, -1 on a malformed (oversized) frame. */
int channel_next_frame(const uint8_t **body, size_t *length);

/* Is a frame ready for channel_next_frame without reading the descriptor (set aside, or complete in the buffer)?
 * The loop must not sleep in poll() while one is. */
int channel_has_frame(void);

/* A synchronous call's wait (host_natives.c's call): blocks until the frame whose JSON starts with `prefix` arrives
 * (Node's {"t":"res","id":N,...}), setting every other frame aside, in order, for the loop to dispatch later. The
 * pointer stays valid until the next channel_read_available or channel_await_reply. Returns 1 when it came, 0 if
 * the channel closed first, -1 on an error or a malformed frame. */
int channel_await_reply(const char *prefix, size_t prefixLength, const uint8_t **body, size_t *length);

#endif
