/*
 * main.c: the sealcam XS host (xs.h API only). Runs one firmware bundle (an IIFE script made by
 * host-tools/board-sim/bundle.ts) in the XS engine with the native crypto module and a channel to Node.
 *
 *   xs-host [--channel-fd N] [--memory-limit-mb M] bundle.js
 *
 * Globals it installs before evaluating the bundle (the bundle's prelude builds on them):
 *   __sealcamNative   the native crypto functions (firmware/native/sealcam_crypto.c), by their C names
 *   __sealcamHost     print, send, call (synchronous request), now, exit (host_natives.c); newNative(kind) makes the host objects that
 *                     Moddable's Native("destructor") classes make on the board; gc(); channel (boolean)
 * Callbacks it calls (defined by the prelude / channel module):
 *   __sealcamHostTick()                 runs at most one due timer; returns ms to the next timer or -1
 *   __sealcamChannelReceive(json, bins) one frame from Node
 *
 * Exit: 0 when the channel closes (Node stopped us), when __sealcamHost.exit(code) is called (that code), or
 * when there is no channel and nothing is left to run. An uncaught JS exception prints the message and stack
 * on stderr, sends a {"t":"fatal"} frame, and exits 1. An engine abort (stack overflow, memory) exits 2+status.
 * The GC-stress build (-DmxStress=1) collects on every allocation; set XS_STRESS=0 to switch that off.
 * The board build (-DSEALCAM_BOARD32, compiled with -m32) takes its xsCreation from creation.h, generated from
 * manifests/manifest.json's "creation" (creation-header.cjs): the board's fixed heaps, stack and keys.
 * A frame {"t":"mem",...} from Node is answered here, between turns, with the engine's memory counters
 * (memstats.h); no JS runs for it.
 */
#include "xs.h"
#include "xsnap.h" /* xsInitializeSharedCluster */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "jobs.h"
#include "memstats.h"
#if SEALCAM_BOARD32
#include "creation.h"
#endif

#if mxStress
extern int gxStress;
#endif

extern int host_exit_requested;
extern int host_exit_code;
extern void xs_host_print(xsMachine *);
extern void xs_host_send(xsMachine *);
extern void xs_host_now(xsMachine *);
extern void xs_host_exit(xsMachine *);
extern void xs_host_call(xsMachine *);

#define SEALCAM_CRYPTO_NATIVES(X) \
	X(xs_sealcam_random, 1) X(xs_sealcam_sha256, 1) X(xs_sealcam_sha256_begin, 0) X(xs_sealcam_sha256_update, 1) \
	X(xs_sealcam_sha256_finish, 0) X(xs_sealcam_hkdf_extract, 2) X(xs_sealcam_hkdf_expand, 3) \
	X(xs_sealcam_gcm_seal, 4) X(xs_sealcam_gcm_open, 4) X(xs_sealcam_p256_generate, 0) \
	X(xs_sealcam_p256_import, 1) X(xs_sealcam_p256_export, 0) X(xs_sealcam_p256_public, 0) \
	X(xs_sealcam_p256_ecdh, 1) X(xs_sealcam_p256_sign, 1) X(xs_sealcam_p256_destroy, 0) \
	X(xs_sealcam_p256_verify, 3) X(xs_sealcam_rsa_oaep_encrypt, 3) X(xs_sealcam_rsa_pss_verify, 3)

#define DECLARE(name, length) extern void name(xsMachine *);
SEALCAM_CRYPTO_NATIVES(DECLARE)
#undef DECLARE
extern void xs_sealcam_p256_destructor(void *);
extern void xs_sealcam_sha256_destructor(void *);

static char *read_file(const char *path, size_t *length)
{
	FILE *file = fopen(path, "rb");
	char *data;
	long size;
	if (!file)
		return NULL;
	fseek(file, 0, SEEK_END);
	size = ftell(file);
	fseek(file, 0, SEEK_SET);
	data = (char *)malloc((size_t)size + 1);
	if (data && fread(data, 1, (size_t)size, file) != (size_t)size) {
		free(data);
		data = NULL;
	}
	fclose(file);
	if (data) {
		data[size] = 0;
		*length = (size_t)size;
	}
	return data;
}

/* A growing string for the fatal frame's JSON. */
typedef struct {
	char *data;
	size_t length, capacity;
} text_buffer;

static void text_raw(text_buffer *b, const char *piece, size_t n)
{
	if (b->length + n + 1 > b->capacity) {
		b->capacity = (b->length + n + 1) * 2;
		b->data = (char *)realloc(b->data, b->capacity);
	}
	memcpy(b->data + b->length, piece, n);
	b->length += n;
	b->data[b->length] = 0;
}

/* Appends text as JSON string content; bytes >= 0x80 pass through (the Node side decodes UTF-8). */
static void text_json(text_buffer *b, const char *text)
{
	for (; *text; text++) {
		unsigned char c = (unsigned char)*text;
		char escaped[8];
		if (c == '"' || c == '\\') {
			escaped[0] = '\\';
			escaped[1] = (char)c;
			text_raw(b, escaped, 2);
		}
		else if (c < 0x20) {
			snprintf(escaped, sizeof(escaped), "\\u%04x", c);
			text_raw(b, escaped, 6);
		}
		else
			text_raw(b, (const char *)&c, 1);
	}
}

static void report_fatal(const char *message, const char *stack)
{
	text_buffer json = { NULL, 0, 0 };
	fprintf(stderr, "xs-host: uncaught exception: %s\n%s\n", message, stack ? stack : "");
	fflush(stderr);
	if (channel_fd < 0)
		return;
	text_raw(&json, "{\"t\":\"fatal\",\"message\":\"", 24);
	text_json(&json, message);
	text_raw(&json, "\",\"stack\":\"", 11);
	text_json(&json, stack ? stack : "");
	text_raw(&json, "\"}", 2);
	channel_write_frame(json.data, json.length, NULL, NULL, 0);
	free(json.data);
}

/* Every host frame that may report reserves HOST_VARS variables; report_exception uses the last two. */
#define HOST_VARS 5
#define REPORT_VALUE 3
#define REPORT_STACK 4

/* Called inside xsCatch: reports xsException and clears it. */
static void report_exception(xsMachine *the)
{
	char *message;
	char *volatile stack = NULL;
	xsVar(REPORT_VALUE) = xsException;
	xsException = xsUndefined;
	message = strdup(xsToString(xsVar(REPORT_VALUE)));
	xsTry {
		if (xsTypeOf(xsVar(REPORT_VALUE)) == xsReferenceType) {
			xsVar(REPORT_STACK) = xsGet(xsVar(REPORT_VALUE), xsID("stack"));
			if (xsTypeOf(xsVar(REPORT_STACK)) == xsStringType)
				stack = strdup(xsToString(xsVar(REPORT_STACK)));
		}
	}
	xsCatch {
		xsException = xsUndefined;
	}
	report_fatal(message, stack);
	free(message);
	free(stack);
}

static void host_gc(xsMachine *the)
{
	xsCollectGarbage();
}

static void host_new_native(xsMachine *the)
{
	const char *kind = xsToString(xsArg(0));
	if (!strcmp(kind, "p256"))
		xsResult = xsNewHostObject(xs_sealcam_p256_destructor);
	else if (!strcmp(kind, "sha256"))
		xsResult = xsNewHostObject(xs_sealcam_sha256_destructor);
	else
		xsRangeError("newNative: unknown kind %s", kind);
}

static void install_globals(xsMachine *the)
{
	xsVars(2);
	xsVar(0) = xsNewObject();
#define REGISTER(name, length) \
	xsVar(1) = xsNewHostFunction(name, length); \
	xsDefine(xsVar(0), xsID(#name), xsVar(1), xsDontEnum);
	SEALCAM_CRYPTO_NATIVES(REGISTER)
	xsDefine(xsGlobal, xsID("__sealcamNative"), xsVar(0), xsDontEnum);
	xsVar(0) = xsNewObject();
	xsVar(1) = xsNewHostFunction(xs_host_print, 1);
	xsDefine(xsVar(0), xsID("print"), xsVar(1), xsDontEnum);
	xsVar(1) = xsNewHostFunction(xs_host_send, 1);
	xsDefine(xsVar(0), xsID("send"), xsVar(1), xsDontEnum);
	xsVar(1) = xsNewHostFunction(xs_host_call, 2);
	xsDefine(xsVar(0), xsID("call"), xsVar(1), xsDontEnum);
	xsVar(1) = xsNewHostFunction(xs_host_now, 0);
	xsDefine(xsVar(0), xsID("now"), xsVar(1), xsDontEnum);
	xsVar(1) = xsNewHostFunction(xs_host_exit, 1);
	xsDefine(xsVar(0), xsID("exit"), xsVar(1), xsDontEnum);
	xsVar(1) = xsNewHostFunction(host_gc, 0);
	xsDefine(xsVar(0), xsID("gc"), xsVar(1), xsDontEnum);
	xsVar(1) = xsNewHostFunction(host_new_native, 1);
	xsDefine(xsVar(0), xsID("newNative"), xsVar(1), xsDontEnum);
	xsVar(1) = xsBoolean(channel_fd >= 0);
	xsDefine(xsVar(0), xsID("channel"), xsVar(1), xsDontEnum);
#if mxStress
	xsVar(1) = xsBoolean(gxStress != 0);
#else
	xsVar(1) = xsFalse;
#endif
	xsDefine(xsVar(0), xsID("stress"), xsVar(1), xsDontEnum);
	xsDefine(xsGlobal, xsID("__sealcamHost"), xsVar(0), xsDontEnum);
}

enum { TURN_OK = 0, TURN_FATAL = 1, TURN_ABORT = 2 };

/*
 * An engine abort (stack overflow, memory full...) calls fxExitToHost, which longjmps to the OUTERMOST jump
 * of the machine. If that were xsBeginHost's own jump, its "else" branch would call fxAbort again with the
 * same jump installed and loop forever. So every entry into the machine sits inside this guard: the abort
 * lands here, the machine state is restored, and the caller gets TURN_ABORT (the host then exits).
 */
#define GUARD_BEGIN(M) \
	do { \
		xsJump guard_; \
		guard_.nextJump = (M)->firstJump; \
		guard_.stack = (M)->stack; \
		guard_.scope = (M)->scope; \
		guard_.frame = (M)->frame; \
		guard_.environment = NULL; \
		guard_.code = (M)->code; \
		guard_.flag = 0; \
		(M)->firstJump = &guard_; \
		if (setjmp(guard_.buffer) == 0) {
#define GUARD_END(M, RESULT) \
		} \
		else \
			RESULT = TURN_ABORT; \
		(M)->stack = guard_.stack; \
		(M)->scope = guard_.scope; \
		(M)->frame = guard_.frame; \
		(M)->code = guard_.code; \
		(M)->firstJump = guard_.nextJump; \
	} while (0)

static int run_promises(xsMachine *machine)
{
	volatile int result = TURN_OK;
	GUARD_BEGIN(machine);
	jobs_run_promises(machine);
	GUARD_END(machine, result);
	return result;
}

static int evaluate(xsMachine *machine, const char *source, size_t length)
{
	volatile int result = TURN_OK;
	GUARD_BEGIN(machine);
	xsBeginHost(machine);
	{
		xsVars(HOST_VARS);
		xsTry {
			jobs_run_program(the, (char *)source, length);
		}
		xsCatch {
			report_exception(the);
			result = TURN_FATAL;
		}
	}
	xsEndHost(machine);
	GUARD_END(machine, result);
	return result;
}

/* Runs at most one due timer; *delay gets ms until the next one, or -1 when there is none. */
static int tick(xsMachine *machine, double *delay)
{
	volatile int result = TURN_OK;
	*delay = -1;
	GUARD_BEGIN(machine);
	xsBeginHost(machine);
	{
		xsVars(HOST_VARS);
		xsTry {
			if (xsHas(xsGlobal, xsID("__sealcamHostTick"))) {
				xsVar(0) = xsCall0(xsGlobal, xsID("__sealcamHostTick"));
				*delay = xsToNumber(xsVar(0));
			}
		}
		xsCatch {
			report_exception(the);
			result = TURN_FATAL;
		}
	}
	xsEndHost(machine);
	GUARD_END(machine, result);
	return result;
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* {"t":"mem","id":N,"reset":B,"collect":B} (BoardSim.memory writes exactly this key order). */
static const char MEM_PREFIX[] = "{\"t\":\"mem\",\"id\":";

static int is_memory_frame(const char *json, size_t length)
{
	return length > sizeof(MEM_PREFIX) - 1 && !memcmp(json, MEM_PREFIX, sizeof(MEM_PREFIX) - 1);
}

/* Is "key":true in the frame's JSON? */
static int json_flag(const char *json, size_t length, const char *key)
{
	char pattern[32];
	size_t n, i;
	n = (size_t)snprintf(pattern, sizeof(pattern), "\"%s\":true", key);
	for (i = 0; i + n <= length; i++)
		if (!memcmp(json + i, pattern, n))
			return 1;
	return 0;
}

static int answer_memory(xsMachine *machine, const char *json, size_t length)
{
	char id[24], reply[768];
	size_t start = sizeof(MEM_PREFIX) - 1, n = 0;
	int written;
	volatile int result = TURN_OK;
	while (start + n < length && n < sizeof(id) - 1 && json[start + n] >= '0' && json[start + n] <= '9')
		n++;
	if (n == 0) {
		fprintf(stderr, "xs-host: malformed mem frame from the channel\n");
		return TURN_FATAL;
	}
	memcpy(id, json + start, n);
	id[n] = 0;
	if (json_flag(json, length, "collect")) {
		GUARD_BEGIN(machine);
		memstats_collect(machine);
		GUARD_END(machine, result);
		if (result != TURN_OK)
			return result;
	}
	written = memstats_json(machine, reply, sizeof(reply), id, json_flag(json, length, "reset"));
	if (written < 0 || channel_write_frame(reply, (size_t)written, NULL, NULL, 0) != 0)
		return TURN_FATAL;
	return TURN_OK;
}

static int dispatch(xsMachine *machine, const uint8_t *body, size_t length)
{
	volatile int result = TURN_OK;
	uint32_t jsonLength;
	if (length < 4 || (jsonLength = get_u32(body)) > length - 4) {
		fprintf(stderr, "xs-host: malformed frame from the channel\n");
		return TURN_FATAL;
	}
	if (is_memory_frame((const char *)body + 4, jsonLength))
		return answer_memory(machine, (const char *)body + 4, jsonLength);
	GUARD_BEGIN(machine);
	xsBeginHost(machine);
	{
		xsVars(HOST_VARS);
		xsTry {
			size_t offset = 4 + jsonLength;
			int index = 0;
			xsVar(0) = xsStringBuffer((char *)body + 4, (xsIntegerValue)jsonLength);
			xsVar(1) = xsNewArray(0);
			while (offset + 4 <= length) {
				uint32_t size = get_u32(body + offset);
				if (size > length - offset - 4)
					xsUnknownError("malformed frame attachment");
				xsVar(2) = xsArrayBuffer((void *)(body + offset + 4), (xsIntegerValue)size);
				xsSetAt(xsVar(1), xsInteger(index), xsVar(2));
				index++;
				offset += 4 + size;
			}
			if (xsHas(xsGlobal, xsID("__sealcamChannelReceive")))
				xsCall2(xsGlobal, xsID("__sealcamChannelReceive"), xsVar(0), xsVar(1));
			else
				fprintf(stderr, "xs-host: a frame arrived before the channel module was loaded; dropped\n");
		}
		xsCatch {
			report_exception(the);
			result = TURN_FATAL;
		}
	}
	xsEndHost(machine);
	GUARD_END(machine, result);
	return result;
}

static int aborted(xsMachine *machine)
{
	int status = jobs_abort_status(machine);
	if (status) {
		char message[320], detail[256] = "";
		if (status == xsNotEnoughMemoryExit)
			memstats_describe_abort(machine, detail, sizeof(detail));
		snprintf(message, sizeof(message), "xs engine aborted: %s (status %d)%s",
			status == xsStackOverflowExit ? "stack overflow"
				: status == xsNotEnoughMemoryExit ? "memory full"
				: status == xsNoMoreKeysExit ? "no more keys"
				: "abort",
			status, detail);
		report_fatal(message, "");
		return 2 + status;
	}
	return 0;
}

/* End of a turn: promises still rejected without a handler are reported (the prelude makes that fatal). */
static int report_rejections(xsMachine *machine)
{
	volatile int result = TURN_OK;
	GUARD_BEGIN(machine);
	jobs_check_unhandled_rejections(machine);
	jobs_run_promises(machine);
	GUARD_END(machine, result);
	return result;
}

static int run_loop(xsMachine *machine)
{
	int status;
	for (;;) {
		double delay;
		run_promises(machine);
		report_rejections(machine);
		if ((status = aborted(machine)))
			return status;
		if (host_exit_requested)
			return host_exit_code;
		if ((status = tick(machine, &delay)) != TURN_OK)
			return status == TURN_ABORT ? aborted(machine) : 1;
		if ((status = aborted(machine)))
			return status;
		if (host_exit_requested)
			return host_exit_code;
		if (delay == 0)
			continue;
		run_promises(machine);
		if ((status = aborted(machine)))
			return status;
		if (channel_fd < 0) {
			if (delay < 0)
				return 0;
			usleep((useconds_t)(delay * 1000.0));
			continue;
		}
		{
			/* Frames a synchronous call set aside (or read past its reply) are dispatched before any sleep. */
			int buffered = channel_has_frame();
			struct pollfd pfd = { channel_fd, POLLIN, 0 };
			int timeout = delay < 0 ? -1 : (int)ceil(delay);
			int ready = buffered ? 1 : poll(&pfd, 1, timeout);
			if (ready < 0 && errno != EINTR)
				return 1;
			if (ready > 0) {
				const uint8_t *body;
				size_t length;
				int frame;
				if (!buffered) {
					int got = channel_read_available();
					if (got <= 0)
						return got == 0 ? host_exit_code : 1; /* Node closed the channel: stop */
				}
				while ((frame = channel_next_frame(&body, &length)) == 1) {
					if ((status = dispatch(machine, body, length)) != TURN_OK)
						return status == TURN_ABORT ? aborted(machine) : 1;
					if ((status = aborted(machine)))
						return status;
					run_promises(machine);
					if ((status = aborted(machine)))
						return status;
				}
				if (frame < 0) {
					fprintf(stderr, "xs-host: oversized frame from the channel\n");
					return 1;
				}
			}
		}
	}
}

/* At a clean end: unhandled rejections are reported (console.error in the prelude), then their jobs run. */
static int finish(xsMachine *machine)
{
	volatile int result = TURN_OK;
	GUARD_BEGIN(machine);
	jobs_check_unhandled_rejections(machine);
	jobs_run_promises(machine);
	GUARD_END(machine, result);
	if (result != TURN_OK)
		return aborted(machine);
	return host_exit_requested ? host_exit_code : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: xs-host [--channel-fd N] [--memory-limit-mb M] bundle.js\n");
}

int main(int argc, char **argv)
{
	xsCreation creation;
	memset(&creation, 0, sizeof(creation));
	creation.initialChunkSize = 16 * 1024 * 1024;
	creation.incrementalChunkSize = 4 * 1024 * 1024;
	creation.initialHeapCount = 256 * 1024;
	creation.incrementalHeapCount = 128 * 1024;
	creation.stackCount = 8192;
	creation.initialKeyCount = 32000;
	creation.incrementalKeyCount = 8000;
	creation.nameModulo = 1993;
	creation.symbolModulo = 127;
	creation.parserBufferSize = 64 * 1024;
	creation.parserTableModulo = 1993;
#if SEALCAM_BOARD32
	/* The board's terms: the manifest's creation, no growth where it says incremental 0. */
	creation.initialChunkSize = SEALCAM_CREATION_initialChunkSize;
	creation.incrementalChunkSize = SEALCAM_CREATION_incrementalChunkSize;
	creation.initialHeapCount = SEALCAM_CREATION_initialHeapCount;
	creation.incrementalHeapCount = SEALCAM_CREATION_incrementalHeapCount;
	creation.stackCount = SEALCAM_CREATION_stackCount;
	creation.initialKeyCount = SEALCAM_CREATION_initialKeyCount;
	creation.incrementalKeyCount = SEALCAM_CREATION_incrementalKeyCount;
	creation.nameModulo = SEALCAM_CREATION_nameModulo;
	creation.symbolModulo = SEALCAM_CREATION_symbolModulo;
	creation.parserBufferSize = SEALCAM_CREATION_parserBufferSize;
	creation.parserTableModulo = SEALCAM_CREATION_parserTableModulo;
	creation.staticSize = SEALCAM_CREATION_staticSize;
#elif mxStress
	/* Every allocation collects: a small heap keeps each collection (sweep is proportional to it) cheap. */
	creation.initialChunkSize = 512 * 1024;
	creation.incrementalChunkSize = 512 * 1024;
	creation.initialHeapCount = 8 * 1024;
	creation.incrementalHeapCount = 8 * 1024;
#endif
	const char *path = NULL;
	char *source;
	size_t length = 0;
	xsMachine *machine;
	int i, status;
	long memoryLimitMb = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--channel-fd") && i + 1 < argc) {
			channel_fd = atoi(argv[++i]);
			if (fcntl(channel_fd, F_GETFD) < 0) {
				fprintf(stderr, "xs-host: channel fd %d is not open\n", channel_fd);
				return 2;
			}
		}
		else if (!strcmp(argv[i], "--memory-limit-mb") && i + 1 < argc) {
			memoryLimitMb = atol(argv[++i]);
			if (memoryLimitMb <= 0) {
				usage();
				return 2;
			}
		}
		else if (argv[i][0] == '-') {
			usage();
			return 2;
		}
		else
			path = argv[i];
	}
	if (!path) {
		usage();
		return 2;
	}
	source = read_file(path, &length);
	if (!source) {
		fprintf(stderr, "xs-host: cannot read %s: %s\n", path, strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	xsInitializeSharedCluster();
	machine = xsCreateMachine(&creation, "sealcam", NULL);
	if (memoryLimitMb > 0)
		jobs_set_memory_limit(machine, (size_t)memoryLimitMb * 1024 * 1024);
#if mxStress
	{
		const char *stress = getenv("XS_STRESS");
		gxStress = (stress && !strcmp(stress, "0")) ? 0 : 1;
	}
#endif
	xsBeginHost(machine);
	install_globals(the);
	xsEndHost(machine);

	status = evaluate(machine, source, length);
	free(source);
	if (status == TURN_ABORT)
		status = aborted(machine);
	if (status == TURN_OK)
		status = run_loop(machine);
	if (status == 0 && !jobs_abort_status(machine))
		status = finish(machine);
	fflush(stdout);
	/* The machine is not deleted: exiting releases everything, and a broken machine may not survive it. */
	return status;
}
