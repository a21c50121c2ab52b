/*
 * memstats.h: the engine's memory counters, answered by the host itself (no JS runs, nothing is allocated in
 * XS) when Node sends {"t":"mem","id":N,"reset":bool,"collect":bool} on the channel (main.c; BoardSim.memory()).
 *
 * Reply {"t":"mem","id":N, ...} with, in bytes unless named otherwise:
 *   chunkCurrent, chunkPeak, chunkReserved   chunk heap in use (live + garbage not yet collected), its high-water
 *                                            mark since the last reset, and its size (the creation's chunk size
 *                                            plus growth; fixed when chunkIncremental is 0)
 *   slotCurrent, slotPeak, slotReserved      the same for the slot heap, in slots (slotSize bytes each)
 *   chunkLive, slotLive                      the "live" high-water marks: the most the heaps held right after a
 *                                            collection (live data + the allocation that triggered it), since
 *                                            the last reset; `collections` counts the collections sampled
 *   largestChunk                             the largest single chunk request since the last reset
 *   stackCount, keysUsed, keyCount           slots of JS stack, keys in use / allocated
 *   pointerBits, slotSize                    32 and 16 on the board's terms, 64 and 32 on the 64-bit host
 * "reset" starts new high-water marks (peak = current, largest = 0) AFTER the reply is built; "collect" runs a
 * full collection first (sampled into the live marks), so chunkCurrent/slotCurrent are the live data.
 */
#ifndef SEALCAM_MEMSTATS_H
#define SEALCAM_MEMSTATS_H

#include <stddef.h>

#include "xs.h"

/* Writes the reply JSON into out; returns its length, or -1 if it does not fit. */
int memstats_json(xsMachine *machine, char *out, size_t size, const char *id, int reset);
/* A full, compacting garbage collection (outside any JS turn). */
void memstats_collect(xsMachine *machine);

/* After a "memory full" abort: what was being allocated and how full the heaps were ("; ..." appended text). */
void memstats_describe_abort(xsMachine *machine, char *out, size_t size);

#endif
