/*
 * host_natives.c: what the board would provide, for the XS host (xsmc API only). Registered by main.c on
 * globalThis.__sealcamHost; the prelude (js/prelude.ts) and the channel module (js/host-channel.ts) use them.
 *   print(text)                 one line on stdout (the board's serial console / trace)
 *   send(json, ...buffers)      one channel frame to Node; throws if the channel is closed
 *   now()                       monotonic milliseconds (timers)
 *   exit(code)                  ends the host after the current turn with this exit code
 *   call(id, json, ...buffers)  a synchronous request: sends the frame (a {"t":"req","id":id,...} message), then
 *                               blocks until Node's {"t":"res","id":id,...} frame arrives and returns
 *                               [json, [ArrayBuffer...]] of it; frames arriving meanwhile are set aside, in order,
 *                               for the loop (channel.h). For what the board does synchronously outside the JS
 *                               heap (reading the queue's flash partition); only the bytes of the reply enter XS.
 */
#include "xsmc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "channel.h"

int host_exit_requested = 0;
int host_exit_code = 0;

void xs_host_print(xsMachine *the)
{
	const char *text;
	if (xsmcArgc < 1)
		xsTypeError("print: expected a string");
	text = xsmcToString(xsArg(0));
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

#define HOST_MAX_ATTACHMENTS 64

static void send_frame(xsMachine *the, int first)
{
	const void *attachments[HOST_MAX_ATTACHMENTS];
	size_t lengths[HOST_MAX_ATTACHMENTS];
	const char *json;
	int count, i;
	if (xsmcArgc < first + 1)
		xsTypeError("send: expected a JSON string");
	count = xsmcArgc - first - 1;
	if (count > HOST_MAX_ATTACHMENTS)
		xsRangeError("send: at most %d binary attachments", HOST_MAX_ATTACHMENTS);
	if (channel_fd < 0)
		xsUnknownError("send: the host channel is not open");
	xsmcToString(xsArg(first)); /* may allocate: convert first, take pointers after */
	for (i = 0; i < count; i++) {
		void *data;
		xsUnsignedValue length;
		xsmcGetBufferReadable(xsArg(first + i + 1), &data, &length);
	}
	/* Nothing below allocates in XS, so these pointers stay put. */
	json = xsmcToString(xsArg(first));
	for (i = 0; i < count; i++) {
		void *data;
		xsUnsignedValue length;
		xsmcGetBufferReadable(xsArg(first + i + 1), &data, &length);
		attachments[i] = data;
		lengths[i] = length;
	}
	if (channel_write_frame(json, strlen(json), attachments, lengths, count) != 0)
		xsUnknownError("send: the host channel is closed");
}

void xs_host_send(xsMachine *the)
{
	send_frame(the, 0);
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void xs_host_call(xsMachine *the)
{
	char prefix[48];
	const uint8_t *body;
	size_t length, offset;
	uint32_t jsonLength;
	int id, prefixLength, got, index = 0;
	if (xsmcArgc < 2)
		xsTypeError("call: expected an id and a JSON string");
	id = xsmcToInteger(xsArg(0));
	send_frame(the, 1);
	/* BoardSim's #post writes {"t":"res","id":N,...}: t first, then id. */
	prefixLength = snprintf(prefix, sizeof(prefix), "{\"t\":\"res\",\"id\":%d,", id);
	got = channel_await_reply(prefix, (size_t)prefixLength, &body, &length);
	if (got <= 0)
		xsUnknownError("call: the host channel closed before the answer came");
	/* body points into the channel's C buffer, which nothing below touches: XS allocations are safe. */
	jsonLength = get_u32(body);
	xsmcVars(3);
	xsmcSetStringBuffer(xsVar(0), (char *)body + 4, (xsIntegerValue)jsonLength);
	xsmcSetNewArray(xsVar(1), 0);
	for (offset = 4 + jsonLength; offset + 4 <= length;) {
		uint32_t size = get_u32(body + offset);
		if (size > length - offset - 4)
			xsUnknownError("call: malformed reply attachment");
		xsmcSetArrayBuffer(xsVar(2), (void *)(body + offset + 4), (xsUnsignedValue)size);
		xsmcSetIndex(xsVar(1), index, xsVar(2));
		index++;
		offset += 4 + size;
	}
	xsmcSetNewArray(xsResult, 2);
	xsmcSetIndex(xsResult, 0, xsVar(0));
	xsmcSetIndex(xsResult, 1, xsVar(1));
}

void xs_host_now(xsMachine *the)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	xsmcSetNumber(xsResult, (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6);
}

void xs_host_exit(xsMachine *the)
{
	host_exit_code = xsmcArgc > 0 ? xsmcToInteger(xsArg(0)) : 0;
	host_exit_requested = 1;
}
