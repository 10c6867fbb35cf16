/*-------------------------------------------------------------------------
 *
 * job_runner.h
 *	  Running jobs unattended: the rules that the background worker's
 *	  schedulers and sessionize.run_due_jobs() share.
 *
 * A due job (active, next_start passed) with something to do runs as its
 * owner, in a subtransaction of its own: an error is caught, recorded in
 * job_state (last_error, failure counters, next_start after an exponential
 * backoff) and in the run history, and the caller goes on with the next
 * job.  A job that a run in progress holds is skipped, not waited for.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_runner.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_JOB_RUNNER_H
#define SESSIONIZE_JOB_RUNNER_H

#include "job_catalog.h"

/* Settings (sessionize.max_retry_backoff, sessionize.history_retention), in seconds. */
extern int	sessionize_max_retry_backoff;
extern int	sessionize_history_retention;

/* What an unattended run did. */
typedef struct JobRunReport
{
	int64		job_id;
	bool		failed;
	RunResult	res;			/* for a run that succeeded */
	char	   *message;		/* for one that failed: 'SQLSTATE: message' */
	TimestampTz next_start;		/* when the job is due again */
} JobRunReport;

extern List *sessionize_due_jobs(Oid caller);
extern bool sessionize_job_has_work(int64 job_id);
extern bool sessionize_run_unattended(const ScheduledJob *job, const char *runner,
									  int64 run_id, TimestampTz started,
									  bool catch_cancel, JobRunReport *report);
extern void sessionize_prune_history(void);

#endif							/* SESSIONIZE_JOB_RUNNER_H */
