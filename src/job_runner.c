/*-------------------------------------------------------------------------
 *
 * job_runner.c
 *	  Running jobs unattended, for the schedulers and run_due_jobs().
 *
 * Who runs what.  The caller picks the jobs: a scheduler all active jobs
 * of its database, run_due_jobs() those whose owner its caller is a member
 * of.  Each run then happens as the job's owner: the current user becomes
 * the owner (in-process; the owner needs no LOGIN), so that the run core's
 * own check (the caller must be a member of the owner) holds, and the core
 * does its source and target work as that owner, restricted, as for
 * run_job().  Catalog and history writes happen as the extension owner
 * (job_catalog.c).
 *
 * Errors.  The run is a subtransaction: when it fails, whatever it did is
 * rolled back, the error is recorded (last_error 'SQLSTATE: message', the
 * failure counters, next_start after schedule_interval *
 * 2^consecutive_failures, capped by sessionize.max_retry_backoff, and a
 * 'failed' history row), and the caller goes on with the next job.  A
 * cancel (pg_cancel_backend()) of run_due_jobs() ends the whole call; in a
 * scheduler, where it also comes from sessionize.run_timeout, it fails the
 * one run.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_runner.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "job_runner.h"
#include "refresh.h"
#include "security.h"

int			sessionize_max_retry_backoff = 300;
int			sessionize_history_retention = 7 * 24 * 3600;

/*
 * The active jobs due now that "caller" may run, oldest due first, in the
 * current memory context.  Caller is in a transaction.
 */
List *
sessionize_due_jobs(Oid caller)
{
	List	   *jobs;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	jobs = sessionize_catalog_active_jobs(caller, true);
	SPI_finish();
	return jobs;
}

/* Has the job changes to apply, or a rebuild pending? */
bool
sessionize_job_has_work(int64 job_id)
{
	bool		result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	result = sessionize_catalog_has_work(job_id);
	SPI_finish();
	return result;
}

/*
 * Run one job as its owner, catching and recording its errors; see the
 * file header.  run_id is the history row the caller wrote for the run
 * (the scheduler does, in a transaction of its own, before the run), or 0
 * to write it now.  Returns false, having done nothing, when a run in
 * progress holds the job.  Caller is in a transaction, not in SPI.
 */
bool
sessionize_run_unattended(const ScheduledJob *job, const char *runner, int64 run_id,
						  TimestampTz started, bool catch_cancel, JobRunReport *report)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;
	bool		locked;

	memset(report, 0, sizeof(*report));
	report->job_id = job->job_id;

	/* a run in progress (a run_job() call, say) keeps the job: skip it */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	locked = sessionize_catalog_try_lock_job(job->job_id);
	SPI_finish();
	if (!locked)
		return false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		SessionizeIdentity saved;

		/* as the owner, who may run its job; the core restricts itself */
		sessionize_become(job->owner, false, &saved);
		sessionize_run(job->job_id, &report->res);
		sessionize_restore(&saved);

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		/* the subtransaction's abort restores the user and the settings */
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();

	if (edata != NULL && edata->sqlerrcode == ERRCODE_QUERY_CANCELED && !catch_cancel)
		ReThrowError(edata);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (edata != NULL)
	{
		report->failed = true;
		report->message = psprintf("%s: %s", unpack_sql_state(edata->sqlerrcode),
								   edata->message ? edata->message : "(no message)");
		report->next_start = sessionize_catalog_record_failure(job->job_id, started,
															   report->message,
															   sessionize_max_retry_backoff);
		sessionize_catalog_history_finish(run_id, job->job_id, runner, started, "failed",
										  NULL, report->message);
	}
	else
	{
		report->next_start = started + job->schedule_usec;
		sessionize_catalog_history_finish(run_id, job->job_id, runner, started, "succeeded",
										  &report->res, NULL);
	}
	SPI_finish();
	return true;
}

/* Forget runs older than sessionize.history_retention (-1: keep them). */
void
sessionize_prune_history(void)
{
	if (sessionize_history_retention < 0)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sessionize_catalog_history_prune(sessionize_history_retention);
	SPI_finish();
}
