/* jobs.c: see jobs.h. Uses the engine's internal header because these are not part of xs.h. */
#include "xsAll.h"
#include "jobs.h"

void jobs_run_promises(xsMachine *machine)
{
	txMachine *the = (txMachine *)machine;
	for (;;) {
		while (the->promiseJobs && !the->abortStatus) {
			the->promiseJobs = 0;
			fxRunPromiseJobs(the);
		}
		if (the->abortStatus)
			return;
		fxEndJob(the);
		if (!the->promiseJobs)
			return;
	}
}

int jobs_abort_status(xsMachine *machine)
{
	return ((txMachine *)machine)->abortStatus;
}

void jobs_check_unhandled_rejections(xsMachine *machine)
{
	fxCheckUnhandledRejections((txMachine *)machine, 1);
}

void jobs_set_memory_limit(xsMachine *machine, size_t bytes)
{
	((txMachine *)machine)->allocationLimit = bytes;
}
