/* jobs.h: the engine internals the host loop needs (jobs.c is the only file that includes xsAll.h). */
#ifndef SEALCAM_JOBS_H
#define SEALCAM_JOBS_H

#include <stddef.h>

#include "xs.h"

/* Runs queued promise jobs until none are left (what fxRunLoop does before it looks at timers). */
void jobs_run_promises(xsMachine *machine);
/* Non-zero once the engine aborted (stack overflow, memory full...): the machine must not be used again. */
int jobs_abort_status(xsMachine *machine);
/* At exit: reports still-unhandled promise rejections through the platform (console.error in our prelude). */
void jobs_check_unhandled_rejections(xsMachine *machine);

/* Caps the engine's memory (chunks + slots) at `bytes`; past it the engine aborts with "memory full". */
void jobs_set_memory_limit(xsMachine *machine, size_t bytes);

/*
 * Runs a script (the firmware bundle) as the global eval would, but parsed straight from C memory: the source
 * never becomes an XS string, so it takes no room in the chunk heap (on the board the code is in flash).
 * Throws into the caller's xsTry like eval.
 */
void jobs_run_program(xsMachine *machine, char *source, size_t length);

#endif
