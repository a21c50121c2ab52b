/*
 * host_natives.c: what the board would provide, for the XS host (xsmc API only). Registered by main.c on
 * globalThis.__sealcamHost; the prelude (js/prelude.ts) and the channel module (js/host-channel.ts) use them.
 *   print(text)                 one line on stdout (the board's serial console / trace)
 *   send(json, ...buffers)      one channel frame to Node; throws if the channel is closed
 *   now()                       monotonic milliseconds (timers)
 *   exit(code)                  ends the host after the current turn with this exit code
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

void xs_host_send(xsMachine *the)
{
	const void *attachments[HOST_MAX_ATTACHMENTS];
	size_t lengths[HOST_MAX_ATTACHMENTS];
	const char *json;
	int count, i;
	if (xsmcArgc < 1)
		xsTypeError("send: expected a JSON string");
	count = xsmcArgc - 1;
	if (count > HOST_MAX_ATTACHMENTS)
		xsRangeError("send: at most %d binary attachments", HOST_MAX_ATTACHMENTS);
	if (channel_fd < 0)
		xsUnknownError("send: the host channel is not open");
	xsmcToString(xsArg(0)); /* may allocate: convert first, take pointers after */
	for (i = 0; i < count; i++) {
		void *data;
		xsUnsignedValue length;
		xsmcGetBufferReadable(xsArg(i + 1), &data, &length);
	}
	/* Nothing below allocates in XS, so these pointers stay put. */
	json = xsmcToString(xsArg(0));
	for (i = 0; i < count; i++) {
		void *data;
		xsUnsignedValue length;
		xsmcGetBufferReadable(xsArg(i + 1), &data, &length);
		attachments[i] = data;
		lengths[i] = length;
	}
	if (channel_write_frame(json, strlen(json), attachments, lengths, count) != 0)
		xsUnknownError("send: the host channel is closed");
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
