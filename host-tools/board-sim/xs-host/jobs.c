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

void jobs_run_program(xsMachine *machine, char *source, size_t length)
{
	txMachine *the = (txMachine *)machine;
	txStringCStream stream;
	txSlot *module = mxProgram.value.reference;
	txSlot *realm = mxModuleInstanceInternal(module)->value.module.realm;
	stream.buffer = source;
	stream.offset = 0;
	stream.size = (txSize)length;
	/* What the global eval does, with the source read from C memory instead of an XS string. */
	fxRunScript(the, fxParseScript(the, &stream, fxStringCGetter, mxProgramFlag | mxEvalFlag), mxRealmGlobal(realm), C_NULL,
		mxRealmClosures(realm)->value.reference, C_NULL, module);
	mxPop();
}
