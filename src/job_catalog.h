/*-------------------------------------------------------------------------
 *
 * job_catalog.h
 *	  Every read and write of the job catalog: sessionize.jobs, job_state,
 *	  job_run_details, and the names of the per-job objects they imply.
 *
 * A job's change log is sessionize.job_<id>_log, a name made from the job
 * id alone, so that nothing a caller supplies can point capture or a run
 * at another relation.
 *
 * The functions here run their statements as the extension owner (who owns
 * the catalog and the logs) with a pinned search_path, and execute no code
 * of any job owner; the caller holds an SPI connection.  Deciding whether
 * the calling role may act on a job is the caller's business, except for
 * sessionize_catalog_lock_job(), which checks it.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_catalog.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_JOB_CATALOG_H
#define SESSIONIZE_JOB_CATALOG_H

#include "datatype/timestamp.h"
#include "catalog/pg_type.h"
#include "nodes/pg_list.h"

/*
 * The types a job's times may have.  Every one is an int64 datum: "job
 * time units" are microseconds since 2000-01-01 for the timestamps (their
 * infinities the int64 extremes) and the values themselves for bigint.
 */
static inline bool
sessionize_is_job_time_type(Oid type)
{
	return type == TIMESTAMPTZOID || type == TIMESTAMPOID || type == INT8OID;
}

/* A job as sessionize.jobs and sessionize.job_state describe it. */
typedef struct JobRecord
{
	int64		job_id;
	Oid			source;
	char	   *user_column;
	char	   *time_column;
	Oid			time_type;		/* TIMESTAMPTZOID, TIMESTAMPOID or INT8OID */
	Oid			user_type;
	char	   *target_user_column;
	Interval   *gap;			/* NULL for bigint times */
	Oid			target;
	Interval   *allowed_lateness;	/* NULL for bigint times */
	int64		integer_gap;	/* bigint times only */
	int64		integer_allowed_lateness;	/* bigint times only */
	Oid			owner;
	char	   *notify_channel;	/* NULL: none */
	bool		needs_rebuild;
	/* times in job time units (see job_state): int64 for every time type */
	bool		have_max_event_time;
	int64		max_event_time;
	bool		have_watermark;
	int64		watermark;
} JobRecord;

/* A per-session measure of a job, as sessionize.job_measures holds it. */
typedef struct JobMeasure
{
	char	   *name;			/* the target's column */
	char	   *definition;		/* deparsed aggregate; columns as e.<column> */
	char	   *type;			/* the result type, as format_type() writes it */
	char	   *merge;			/* how a run merges it (sum, count, min, max,
								 * and, or, first, last); NULL: recomputed */
} JobMeasure;

/* What a run did: returned by run_job(), recorded in job_state and history. */
typedef struct RunResult
{
	int64		events_inserted;
	int64		events_deleted;
	int64		sessions_inserted;
	int64		sessions_deleted;
	int64		sessions_updated;
	int64		late_events;
	/* times in job time units (see job_state), of type time_type */
	Oid			time_type;
	bool		have_max_event_time;
	int64		max_event_time;
	bool		have_watermark;
	int64		watermark;
	bool		full_rebuild;
	/* the sessions that the new watermark closed, and their time range */
	int64		sessions_closed;
	int64		closed_first_start;
	int64		closed_last_end;
} RunResult;

/* An active job, as the schedulers and run_due_jobs() see it. */
typedef struct ScheduledJob
{
	int64		job_id;
	Oid			owner;
	int64		schedule_usec;	/* schedule_interval in microseconds */
	bool		have_next_start;	/* false: due at once */
	TimestampTz next_start;
} ScheduledJob;

/* Who ran a job, in sessionize.job_run_details.runner. */
#define RUNNER_SCHEDULER		"scheduler"
#define RUNNER_RUN_DUE_JOBS		"run_due_jobs"

/* The unqualified name of a job's change log (in schema sessionize). */
extern Datum sessionize_job_time_text(Oid timetype, int64 ticks);
extern char *sessionize_job_log_name(int64 job_id);
/* The same, qualified and quoted for SQL text. */
extern char *sessionize_job_log_qualified(int64 job_id);

/*
 * The catalog of sessionize 0.1.0 (sessionize.jobs without user_type), as
 * it is between installing this library and ALTER EXTENSION sessionize
 * UPDATE: capture still logs into it (capture.c), nothing else reads it.
 */
extern bool sessionize_catalog_is_0_1_0(void);
extern void sessionize_catalog_check_version(void);

extern Oid	sessionize_catalog_lock_job(int64 job_id, Oid caller);
extern Oid	sessionize_catalog_check_caller(int64 job_id, Oid caller);
extern bool sessionize_catalog_try_lock_job(int64 job_id);
extern List *sessionize_catalog_read_measures(int64 job_id);
extern bool sessionize_catalog_job_columns(int64 job_id, Oid *source,
										   char **user_column, char **time_column,
										   Oid *time_type);
extern void sessionize_catalog_read_job(int64 job_id, JobRecord *job);
extern void sessionize_catalog_record_run(int64 job_id, const RunResult *res,
										  TimestampTz started);
extern TimestampTz sessionize_catalog_record_failure(int64 job_id, TimestampTz started,
													 const char *error, int max_backoff_s);
extern List *sessionize_catalog_active_jobs(Oid caller, bool due_only);
extern bool sessionize_catalog_has_work(int64 job_id);

extern int64 sessionize_catalog_history_start(int64 job_id, const char *runner,
											  TimestampTz started);
extern void sessionize_catalog_history_finish(int64 run_id, int64 job_id,
											  const char *runner, TimestampTz started,
											  const char *status, const RunResult *res,
											  const char *message);
extern void sessionize_catalog_history_forget(int64 run_id);
extern int	sessionize_catalog_history_mark_crashed(int max_backoff_s);
extern void sessionize_catalog_history_prune(int retention_s);

#endif							/* SESSIONIZE_JOB_CATALOG_H */
