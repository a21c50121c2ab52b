/*
 * memstats.c: the XS engine's own memory accounting, for the Node side (see memstats.h). Includes xsAll.h
 * because the counters are machine fields that xs.h does not expose.
 *
 * The largest single chunk allocation is not an engine counter: the link wraps the engine's chunk allocators
 * (-Wl,--wrap=fxNewChunk,--wrap=fxNewGrowableChunk,--wrap=fxRenewChunk, mk/xs-host.mk) so every request from
 * another engine file (strings, ArrayBuffers, arrays, closures' variable blocks...) passes through here first.
 * Calls inside xsMemory.c itself do not (the wrap only redirects references between object files); those are
 * the engine's own small bookkeeping copies.
 *
 * The engine's peaks (peakChunksSize, peakHeapCount) count garbage not yet collected: in a fixed-size heap
 * they climb to the limit whenever a phase churns, whatever the live data. So the wraps (fxNewSlot too) also
 * sample the heaps right after each collection the allocation triggered: what was live then, plus the
 * allocation being made. The largest of these samples ("live" high-water marks) is what the heap had to
 * hold. A collection shows as the counter going down across the call. A slot-triggered collection does not
 * compact chunks (the engine recounts chunks only when it compacts), so it samples slots only.
 */
#include "xsAll.h"
#include "memstats.h"

#include <stdio.h>

static txSize largestChunk = 0;
static txSize chunkLive = 0; /* high-water of chunk bytes in use right after a compacting collection */
static txSize slotLive = 0;  /* the same for slots, after any collection */
static long collections = 0;
static txSize pendingChunk = 0; /* the chunk request in progress (an abort longjmps out of it) */
static int pendingSlot = 0;

static void sample_chunks(txMachine *the)
{
	if (the->currentChunksSize > chunkLive)
		chunkLive = the->currentChunksSize;
}

static void sample_slots(txMachine *the)
{
	if (the->currentHeapCount > slotLive)
		slotLive = the->currentHeapCount;
}

static void note_size(txSize size)
{
	if (size > largestChunk)
		largestChunk = size;
}

extern void *__real_fxNewChunk(txMachine *the, txSize size);
extern void *__real_fxNewGrowableChunk(txMachine *the, txSize size, txSize capacity);
extern void *__real_fxRenewChunk(txMachine *the, void *data, txSize size);
extern txSlot *__real_fxNewSlot(txMachine *the);

/* After a chunk allocation: if the count went down, a compacting collection ran inside it. */
static void after_chunk(txMachine *the, txSize before)
{
	if (the->currentChunksSize < before) {
		collections++;
		sample_chunks(the);
		sample_slots(the);
	}
}

void *__wrap_fxNewChunk(txMachine *the, txSize size)
{
	txSize before = the->currentChunksSize;
	void *result;
	note_size(size);
	pendingChunk = size;
	result = __real_fxNewChunk(the, size);
	pendingChunk = 0;
	after_chunk(the, before);
	return result;
}

void *__wrap_fxNewGrowableChunk(txMachine *the, txSize size, txSize capacity)
{
	txSize before = the->currentChunksSize;
	void *result;
	note_size(size);
	pendingChunk = size;
	result = __real_fxNewGrowableChunk(the, size, capacity);
	pendingChunk = 0;
	after_chunk(the, before);
	return result;
}

void *__wrap_fxRenewChunk(txMachine *the, void *data, txSize size)
{
	void *result;
	pendingChunk = size;
	result = __real_fxRenewChunk(the, data, size);
	pendingChunk = 0;
	if (result)
		note_size(size);
	return result;
}

txSlot *__wrap_fxNewSlot(txMachine *the)
{
	txSize before = the->currentHeapCount;
	txSlot *result;
	pendingSlot = 1;
	result = __real_fxNewSlot(the);
	pendingSlot = 0;
	if (the->currentHeapCount <= before) {
		collections++;
		sample_slots(the);
	}
	return result;
}

int memstats_json(xsMachine *machine, char *out, size_t size, const char *id, int reset)
{
	txMachine *the = (txMachine *)machine;
	int written = snprintf(out, size,
		"{\"t\":\"mem\",\"id\":%s,\"pointerBits\":%d,\"slotSize\":%d,"
		"\"chunkCurrent\":%ld,\"chunkPeak\":%ld,\"chunkReserved\":%ld,"
		"\"slotCurrent\":%ld,\"slotPeak\":%ld,\"slotReserved\":%ld,"
		"\"stackCount\":%ld,\"largestChunk\":%ld,\"keysUsed\":%ld,\"keyCount\":%ld,"
		"\"chunkIncremental\":%ld,\"slotIncremental\":%ld,\"chunkLive\":%ld,\"slotLive\":%ld,\"collections\":%ld}",
		id, (int)(sizeof(void *) * 8), (int)sizeof(txSlot),
		(long)the->currentChunksSize, (long)the->peakChunksSize, (long)the->maximumChunksSize,
		(long)the->currentHeapCount, (long)the->peakHeapCount, (long)the->maximumHeapCount,
		(long)(the->stackTop - the->stackBottom), (long)largestChunk, (long)the->keyIndex, (long)the->keyCount,
		(long)the->minimumChunksSize, (long)the->minimumHeapCount, (long)chunkLive, (long)slotLive, collections);
	if (reset) {
		the->peakChunksSize = the->currentChunksSize;
		the->peakHeapCount = the->currentHeapCount;
		largestChunk = 0;
		chunkLive = 0;
		slotLive = 0;
		collections = 0;
	}
	return (written < 0 || (size_t)written >= size) ? -1 : written;
}

void memstats_collect(xsMachine *machine)
{
	txMachine *the = (txMachine *)machine;
	fxCollect(the, XS_COMPACT_FLAG);
	collections++;
	sample_chunks(the);
	sample_slots(the);
}

void memstats_describe_abort(xsMachine *machine, char *out, size_t size)
{
	txMachine *the = (txMachine *)machine;
	if (pendingChunk)
		snprintf(out, size, "; a chunk of %ld bytes did not fit: chunk heap %ld of %ld bytes in use, slots %ld of %ld",
			(long)pendingChunk, (long)the->currentChunksSize, (long)the->maximumChunksSize, (long)the->currentHeapCount,
			(long)the->maximumHeapCount);
	else if (pendingSlot)
		snprintf(out, size, "; no free slot: slots %ld of %ld in use, chunk heap %ld of %ld bytes",
			(long)the->currentHeapCount, (long)the->maximumHeapCount, (long)the->currentChunksSize,
			(long)the->maximumChunksSize);
	else
		snprintf(out, size, "; chunk heap %ld of %ld bytes in use, slots %ld of %ld", (long)the->currentChunksSize,
			(long)the->maximumChunksSize, (long)the->currentHeapCount, (long)the->maximumHeapCount);
}
