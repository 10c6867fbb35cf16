/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  The scheduler of one database: runs its due jobs, one at a time.
 *
 * Started by the launcher (launcher.c) with a slot in shared memory and a
 * database.  It connects as the bootstrap superuser and:
 *	1. exits quietly (DEBUG1) when the extension is not there, or is being
 *	   created or dropped: the launcher looks again when asked to;
 *	2. marks the runs its predecessor left 'running' as 'crashed';
 *	3. keeps the active jobs in memory (job id, owner, schedule, when to
 *	   look at it next), reading them again only when a backend says that
 *	   jobs changed (worker_shmem.c), not at every look;
 *	4. looks at each job whose time has come, oldest due first, so that
 *	   none starves: a job with nothing in its log and no rebuild pending
 *	   costs one query and is looked at again schedule_interval later;
 *	   one with work runs (job_runner.c: as its owner, in a subtransaction,
 *	   errors recorded with backoff), after a 'running' row of the history
 *	   was committed, within sessionize.run_timeout;
 *	5. sleeps on its latch until the next job is due, at most
 *	   sessionize.naptime.
 * It waits with WL_EXIT_ON_PM_DEATH, reloads the settings on SIGHUP, and
 * exits on SIGTERM (the launcher starts it again).  pg_stat_activity shows
 * it with backend_type "sessionize scheduler" and the job it runs.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/scheduler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "commands/dbcommands.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "job_runner.h"
#include "launcher.h"
#include "worker_shmem.h"

/* how often the run history is trimmed to sessionize.history_retention */
#define PRUNE_INTERVAL_MS	(60 * 1000)

/* A job as the scheduler keeps it between looks. */
typedef struct CachedJob
{
	ScheduledJob job;
	TimestampTz next_look;		/* look at it again from then on */
} CachedJob;

static int	my_slot = -1;
static char *my_database = NULL;
static MemoryContext scheduler_context = NULL;	/* lives as long as we do */
static MemoryContext loop_context = NULL;	/* reset at every look */
static List *cached_jobs = NIL; /* of CachedJob *, in scheduler_context */
static TimestampTz last_prune = 0;

static void report_run(const CachedJob *cj, const JobRunReport *report);

/*
 * Is the extension there, not being created or updated, and with the
 * catalog this library reads?  In a transaction.  A catalog of 0.1.0 (new
 * binaries installed, ALTER EXTENSION UPDATE not run yet) counts as no
 * extension: the scheduler leaves, saying why, and the launcher looks
 * again later.
 */
static bool
extension_ready(void)
{
	if (creating_extension || !OidIsValid(get_extension_oid("sessionize", true)))
		return false;
	if (sessionize_catalog_is_0_1_0())
	{
		ereport(LOG,
				(errmsg("sessionize scheduler: the sessionize job catalog of database \"%s\" is that of version 0.1.0; its jobs do not run",
						my_database),
				 errhint("Run ALTER EXTENSION sessionize UPDATE in that database.")));
		return false;
	}
	return true;
}

/* The extension is gone: say so quietly, and leave. */
static void
exit_no_extension(void)
{
	elog(DEBUG1, "sessionize scheduler: extension sessionize is not installed in database \"%s\"; exiting",
		 my_database);
	sessionize_slot_set_no_extension(my_slot);
	proc_exit(0);
}

/*
 * An error escaped a step (not a job's run, whose errors are recorded):
 * when the extension is gone meanwhile (dropped while we read it), exit
 * quietly; otherwise let it end the scheduler with the error logged (the
 * launcher starts a new one after sessionize.naptime).
 */
static void
handle_step_error(void)
{
	ErrorData  *edata;
	bool		present;

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(scheduler_context);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	RESUME_INTERRUPTS();

	StartTransactionCommand();
	present = extension_ready();
	CommitTransactionCommand();
	if (!present)
		exit_no_extension();
	ReThrowError(edata);
}

/* Read the active jobs again: each is looked at by its next_start. */
static void
reload_jobs(void)
{
	List	   *jobs;
	ListCell   *lc;
	MemoryContext old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	old = MemoryContextSwitchTo(scheduler_context);
	list_free_deep(cached_jobs);
	cached_jobs = NIL;
	MemoryContextSwitchTo(old);
	jobs = sessionize_catalog_active_jobs(InvalidOid, false);
	SPI_finish();

	old = MemoryContextSwitchTo(scheduler_context);
	foreach(lc, jobs)
	{
		ScheduledJob *job = (ScheduledJob *) lfirst(lc);
		CachedJob  *cj = palloc(sizeof(CachedJob));

		cj->job = *job;
		cj->next_look = job->have_next_start ? job->next_start : 0;
		cached_jobs = lappend(cached_jobs, cj);
	}
	MemoryContextSwitchTo(old);
	elog(DEBUG2, "sessionize scheduler: %d active jobs", list_length(cached_jobs));
}

static int
by_next_look(const ListCell *a, const ListCell *b)
{
	const CachedJob *x = lfirst(a);
	const CachedJob *y = lfirst(b);

	if (x->next_look != y->next_look)
		return x->next_look < y->next_look ? -1 : 1;
	return x->job.job_id < y->job.job_id ? -1 : x->job.job_id > y->job.job_id;
}

/*
 * One look, in one transaction: is the extension there, did jobs change,
 * which due jobs have work.  Returns those, oldest due first (a List of
 * CachedJob * from the cache); jobs without work get their next look.
 */
static List *
look(bool first)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		changed = sessionize_slot_take_jobs_changed(my_slot);
	List	   *due = NIL;
	List	   *work = NIL;
	ListCell   *lc;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!extension_ready())
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		exit_no_extension();
	}
	pgstat_report_activity(STATE_RUNNING, "looking for due jobs");
	if (first)
	{
		int			crashed;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		crashed = sessionize_catalog_history_mark_crashed(sessionize_max_retry_backoff);
		SPI_finish();
		if (crashed > 0)
			ereport(LOG,
					(errmsg("sessionize scheduler: %d interrupted runs marked as crashed", crashed)));
	}
	if (first || changed)
		reload_jobs();

	foreach(lc, cached_jobs)
	{
		CachedJob  *cj = lfirst(lc);

		if (cj->next_look <= now)
			due = lappend(due, cj);
	}
	list_sort(due, by_next_look);
	foreach(lc, due)
	{
		CachedJob  *cj = lfirst(lc);

		if (sessionize_job_has_work(cj->job.job_id))
		{
			/* (the transaction's memory goes at commit) */
			MemoryContext old = MemoryContextSwitchTo(loop_context);

			work = lappend(work, cj);
			MemoryContextSwitchTo(old);
		}
		else
			cj->next_look = now + cj->job.schedule_usec;
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(loop_context);
	pgstat_report_activity(STATE_IDLE, NULL);
	return work;
}

/* Trim the history, at most every PRUNE_INTERVAL_MS. */
static void
prune_history(void)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!TimestampDifferenceExceeds(last_prune, now, PRUNE_INTERVAL_MS))
		return;
	last_prune = now;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	sessionize_prune_history();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(loop_context);
}

/* Run one job that has work; updates its next look. */
static void
run_one(CachedJob *cj)
{
	TimestampTz started = GetCurrentTimestamp();
	JobRunReport report;
	int64		run_id;
	bool		ran;
	char		activity[64];

	/* the history row, committed first: a crash leaves it 'running' */
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run_id = sessionize_catalog_history_start(cj->job.job_id, RUNNER_SCHEDULER, started);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(loop_context);
	if (run_id == 0)
	{
		/* dropped meanwhile; the next look reads the jobs again */
		cj->next_look = DT_NOEND;
		return;
	}

	snprintf(activity, sizeof(activity), "run job " INT64_FORMAT, cj->job.job_id);
	pgstat_report_activity(STATE_RUNNING, activity);
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (sessionize_run_timeout > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, sessionize_run_timeout);
	ran = sessionize_run_unattended(&cj->job, RUNNER_SCHEDULER, run_id, started, true, &report);
	if (sessionize_run_timeout > 0)
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		/* a timeout that fired after the run is no longer of interest */
		QueryCancelPending = false;
	}
	if (!ran)
	{
		/* a run in progress (run_job(), say) has it: no run of ours */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		sessionize_catalog_history_forget(run_id);
		SPI_finish();
		cj->next_look = started + cj->job.schedule_usec;
	}
	else
	{
		cj->next_look = report.next_start;
		report_run(cj, &report);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(loop_context);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* The server log's line for a run (in its transaction: it uses its memory). */
static void
report_run(const CachedJob *cj, const JobRunReport *report)
{
	if (report->failed)
		ereport(LOG,
				(errmsg("sessionize job " INT64_FORMAT " failed: %s",
						cj->job.job_id, report->message),
				 errdetail("It is tried again at %s.", timestamptz_to_str(report->next_start))));
	else
		ereport(sessionize_log_level,
				(errmsg("sessionize job " INT64_FORMAT ": " INT64_FORMAT " events inserted, " INT64_FORMAT " deleted; "
						"sessions: " INT64_FORMAT " inserted, " INT64_FORMAT " updated, " INT64_FORMAT " deleted, "
						INT64_FORMAT " closed%s",
						cj->job.job_id, report->res.events_inserted, report->res.events_deleted,
						report->res.sessions_inserted, report->res.sessions_updated,
						report->res.sessions_deleted, report->res.sessions_closed,
						report->res.full_rebuild ? " (full rebuild)" : "")));
}

/* How long to sleep: until the next job is due, at most naptime (ms). */
static long
sleep_time(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz wake = TimestampTzPlusMilliseconds(now, sessionize_naptime);
	ListCell   *lc;

	foreach(lc, cached_jobs)
	{
		CachedJob  *cj = lfirst(lc);

		if (cj->next_look < wake)
			wake = cj->next_look;
	}
	if (wake <= now)
		return 0;
	return Max(1, (long) ((wake - now + 999) / 1000));
}

/* Reload the settings if asked to; leave when the worker was turned off. */
static void
check_settings(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
	if (!sessionize_enabled)
	{
		elog(DEBUG1, "sessionize scheduler: sessionize.enabled is off; exiting");
		proc_exit(0);
	}
}

void
sessionize_scheduler_main(Datum main_arg)
{
	Oid			dboid;
	volatile bool first = true;

	my_slot = DatumGetInt32(main_arg);
	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	sessionize_slot_attach(my_slot, dboid);
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SetConfigOption("application_name", "sessionize scheduler", PGC_USERSET, PGC_S_SESSION);
	scheduler_context = AllocSetContextCreate(TopMemoryContext, "sessionize scheduler",
											  ALLOCSET_DEFAULT_SIZES);
	loop_context = AllocSetContextCreate(scheduler_context, "sessionize scheduler look",
										 ALLOCSET_DEFAULT_SIZES);
	StartTransactionCommand();
	my_database = MemoryContextStrdup(scheduler_context, get_database_name(MyDatabaseId));
	CommitTransactionCommand();

	for (;;)
	{
		List	   *volatile work = NIL;
		ListCell   *lc;
		long		timeout;

		MemoryContextSwitchTo(loop_context);
		MemoryContextReset(loop_context);
		check_settings();

		PG_TRY();
		{
			work = look(first);
			first = false;
			foreach(lc, work)
			{
				check_settings();
				run_one((CachedJob *) lfirst(lc));
			}
			prune_history();
		}
		PG_CATCH();
		{
			handle_step_error();
		}
		PG_END_TRY();

		timeout = sleep_time();
		if (timeout > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}
