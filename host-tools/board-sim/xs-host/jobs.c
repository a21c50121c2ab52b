/* jobs.c: see jobs.h. Uses the engine's internal header because these are not part of xs.h. */
#include "xsAll.h"
#include "jobs.h"

static void archive_code(txByte *p, txSize size);
static txScript *keptScript;

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
	txScript *script;
	/* What the global eval does, with the source read from C memory instead of an XS string. */
	script = fxParseScript(the, &stream, fxStringCGetter, mxProgramFlag | mxEvalFlag);
	if (script) {
		archive_code(script->codeBuffer, script->codeSize);
		keptScript = script;
	}
	fxRunScript(the, script, mxRealmGlobal(realm), C_NULL, mxRealmClosures(realm)->value.reference, C_NULL, module);
	mxPop();
}

/*
 * The program's byte code stays where it was compiled, as the board's stays in flash. On the board the modules are
 * linked by xsl, which turns each function's code and each string literal into an "archive" reference (XS_CODE_
 * CODE_ARCHIVE_n, XS_CODE_STRING_ARCHIVE_n): creating a function or pushing a literal points into flash. Compiled at
 * run time they are XS_CODE_CODE_n / XS_CODE_STRING_n, which copy the function's code (the bundle's IIFE: one chunk
 * of ~128 KB) or the string into the chunk heap every time: memory the chip never spends there. So the host does
 * what xsl does to the program's code, and keeps the code buffer for the life of the machine (fxRunScript would
 * free it: the wrap below takes it back first). Code compiled later (eval, new Function) is left as it is.
 */
static txScript *keptScript = NULL;

static void archive_code(txByte *p, txSize size)
{
	txByte *q = p + size;
	while (p < q) {
		txU1 code = *((txU1 *)p);
		txS1 offset = (txS1)c_read8(gxCodeSizes + code);
		if (code >= XS_CODE_CODE_1 && code <= XS_CODE_CODE_4)
			*p = (txByte)(code - XS_CODE_CODE_1 + XS_CODE_CODE_ARCHIVE_1);
		else if (code >= XS_CODE_STRING_1 && code <= XS_CODE_STRING_4)
			*p = (txByte)(code - XS_CODE_STRING_1 + XS_CODE_STRING_ARCHIVE_1);
		if (0 < offset)
			p += offset;
		else if (0 == offset)
			p += 1 + sizeof(txID);
		else if (-1 == offset) {
			txU1 length = *((txU1 *)(p + 1));
			p += 2 + length;
		}
		else if (-2 == offset) {
			txU2 length;
			p++;
			mxDecode2(p, length);
			p += length;
		}
		else {
			txS4 length;
			p++;
			mxDecode4(p, length);
			p += length;
		}
	}
}

void __real_fxDeleteScript(txScript *script);
void __wrap_fxDeleteScript(txScript *script)
{
	if (script && script == keptScript) {
		script->codeBuffer = NULL; /* never freed: the functions made from it point into it */
		keptScript = NULL;
	}
	__real_fxDeleteScript(script);
}
