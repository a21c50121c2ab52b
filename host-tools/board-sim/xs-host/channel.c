/* channel.c: length-prefixed frames over one file descriptor (see channel.h). */
#include "channel.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int channel_fd = -1;

static uint8_t *input = NULL;
static size_t inputLength = 0, inputCapacity = 0, consumed = 0;

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int write_all(const void *data, size_t length)
{
	const uint8_t *p = (const uint8_t *)data;
	while (length > 0) {
		ssize_t n = write(channel_fd, p, length);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { channel_fd, POLLOUT, 0 };
				poll(&pfd, 1, 1000);
				continue;
			}
			return -1;
		}
		p += n;
		length -= (size_t)n;
	}
	return 0;
}

int channel_write_frame(const char *json, size_t jsonLength, const void *const *attachments, const size_t *lengths,
	int count)
{
	uint8_t header[8];
	size_t total = 4 + jsonLength;
	int i;
	if (channel_fd < 0)
		return -1;
	for (i = 0; i < count; i++)
		total += 4 + lengths[i];
	if (total > CHANNEL_MAX_FRAME)
		return -1;
	put_u32(header, (uint32_t)total);
	put_u32(header + 4, (uint32_t)jsonLength);
	if (write_all(header, 8) || write_all(json, jsonLength))
		return -1;
	for (i = 0; i < count; i++) {
		uint8_t prefix[4];
		put_u32(prefix, (uint32_t)lengths[i]);
		if (write_all(prefix, 4) || (lengths[i] && write_all(attachments[i], lengths[i])))
			return -1;
	}
	return 0;
}

int channel_read_available(void)
{
	ssize_t n;
	if (consumed > 0) {
		memmove(input, input + consumed, inputLength - consumed);
		inputLength -= consumed;
		consumed = 0;
	}
	if (inputCapacity - inputLength < 65536) {
		size_t capacity = inputCapacity ? inputCapacity * 2 : 262144;
		uint8_t *grown = (uint8_t *)realloc(input, capacity);
		if (!grown)
			return -1;
		input = grown;
		inputCapacity = capacity;
	}
	do
		n = read(channel_fd, input + inputLength, inputCapacity - inputLength);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
	if (n == 0)
		return 0;
	inputLength += (size_t)n;
	return 1;
}

static int next_input_frame(const uint8_t **body, size_t *length)
{
	uint32_t size;
	if (inputLength - consumed < 4)
		return 0;
	size = get_u32(input + consumed);
	if (size > CHANNEL_MAX_FRAME)
		return -1;
	if (inputLength - consumed - 4 < size)
		return 0;
	*body = input + consumed + 4;
	*length = size;
	consumed += 4 + size;
	return 1;
}

/* Frames that arrived while a synchronous call waited for its reply, oldest first. */
typedef struct deferred_frame {
	struct deferred_frame *next;
	size_t length;
	uint8_t body[];
} deferred_frame;

static deferred_frame *deferredHead = NULL, *deferredTail = NULL, *deferredTaken = NULL;

static int defer_frame(const uint8_t *body, size_t length)
{
	deferred_frame *frame = (deferred_frame *)malloc(sizeof(deferred_frame) + length);
	if (!frame)
		return -1;
	frame->next = NULL;
	frame->length = length;
	memcpy(frame->body, body, length);
	if (deferredTail)
		deferredTail->next = frame;
	else
		deferredHead = frame;
	deferredTail = frame;
	return 0;
}

int channel_next_frame(const uint8_t **body, size_t *length)
{
	free(deferredTaken);
	deferredTaken = NULL;
	if (deferredHead) {
		deferredTaken = deferredHead;
		deferredHead = deferredHead->next;
		if (!deferredHead)
			deferredTail = NULL;
		*body = deferredTaken->body;
		*length = deferredTaken->length;
		return 1;
	}
	return next_input_frame(body, length);
}

int channel_has_frame(void)
{
	if (deferredHead)
		return 1;
	if (inputLength - consumed < 4)
		return 0;
	return inputLength - consumed - 4 >= get_u32(input + consumed) || get_u32(input + consumed) > CHANNEL_MAX_FRAME;
}

int channel_await_reply(const char *prefix, size_t prefixLength, const uint8_t **body, size_t *length)
{
	for (;;) {
		const uint8_t *frame;
		size_t size;
		int got;
		while ((got = next_input_frame(&frame, &size)) == 1) {
			uint32_t jsonLength = size >= 4 ? get_u32(frame) : 0;
			if (size >= 4 && jsonLength <= size - 4 && jsonLength >= prefixLength && !memcmp(frame + 4, prefix, prefixLength)) {
				*body = frame;
				*length = size;
				return 1;
			}
			if (defer_frame(frame, size) != 0)
				return -1;
		}
		if (got < 0)
			return -1;
		{
			struct pollfd pfd = { channel_fd, POLLIN, 0 };
			int ready = poll(&pfd, 1, -1);
			if (ready < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
		}
		got = channel_read_available();
		if (got <= 0)
			return got;
	}
}
