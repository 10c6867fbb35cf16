/*-------------------------------------------------------------------------
 *
 * sessionize.c
 *	  Library entry point: module magic, settings, the background worker.
 *
 * The SQL functions work in any backend, whether or not the library is in
 * shared_preload_libraries; _PG_init must therefore never fail when it is
 * loaded late.  The settings are defined in every backend (run_due_jobs()
 * reads the retry and history ones); the background worker (launcher.c),
 * its shared memory (worker_shmem.c) and the hook that frees a database of
 * its scheduler for DROP DATABASE and friends exist only when the library
 * is preloaded.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/sessionize.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "compat.h"
#include "job_runner.h"
#include "worker_shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static void
define_settings(void)
{
	DefineCustomIntVariable("sessionize.history_retention",
							"How long sessionize.job_run_details keeps a run (-1: for ever).",
							NULL,
							&sessionize_history_retention, 7 * 24 * 3600, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("sessionize.max_retry_backoff",
							"Longest wait before a failed job is tried again.",
							"A failed job waits schedule_interval * 2^consecutive_failures, at most this.",
							&sessionize_max_retry_backoff, 300, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("sessionize.max_schedulers",
								"How many databases' schedulers may run at once (and so job runs).",
								"Each is a background worker: max_worker_processes must leave room "
								"for them and the launcher.",
								&sessionize_max_schedulers, 8, 1, 1024, PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
}

void
_PG_init(void)
{
	define_settings();

#if PG_VERSION_NUM >= 150000
	/* settings named sessionize.* belong to us, even before we define them */
	MarkGUCPrefixReserved("sessionize");
#else
	EmitWarningsOnPlaceholders("sessionize");
#endif

	if (!process_shared_preload_libraries_in_progress)
		return;

	sessionize_shmem_request();
	sessionize_shmem_startup();
}
