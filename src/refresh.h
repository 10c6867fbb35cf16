/*-------------------------------------------------------------------------
 *
 * refresh.h
 *	  What a run of a job knows and does: the run core (refresh.c), called
 *	  by run_job(), run_due_jobs() and the scheduler; its path for inserted
 *	  events (apply_inserts.c); and verify() (job_api.c).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/refresh.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_REFRESH_H
#define SESSIONIZE_REFRESH_H

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "utils/tuplestore.h"

#include "job_catalog.h"
#include "session_state.h"

/* What run_job() knows of a job. */
typedef struct JobInfo
{
	int64		job_id;
	Oid			source;
	char	   *user_column;
	char	   *time_column;
	Oid			time_type;		/* TIMESTAMPTZOID, TIMESTAMPOID or INT8OID */
	const char *time_type_sql;	/* its name in SQL */
	Interval   *gap;			/* NULL for bigint times */
	int64		gap_ticks;		/* the gap in job time units (days as 24
								 * hours) */
	Interval   *exact_gap;		/* gap_ticks microseconds, for timestamps */
	Oid			target;
	int64		lateness_ticks; /* the allowed lateness in job time units
								 * (days as 24 hours), clamped to the int64
								 * range */
	Oid			owner;
	bool		needs_rebuild;
	/* times in job time units: see job_catalog.h */
	bool		have_max_event_time;
	int64		max_event_time;
	bool		have_watermark;
	int64		watermark;
	/* SQL text pieces, quoted */
	char	   *source_name;
	char	   *target_name;
	char	   *log_name;
	char	   *user_ident;		/* the source's user column */
	char	   *target_user_column;
	char	   *target_user_ident;	/* the target's user column */
	char	   *time_ident;
	char	   *user_type;
	Oid			user_type_oid;
	char	   *user_eq;		/* OPERATOR(schema.=) for the user type */
	char	   *notify_channel;	/* NULL: none */
	List	   *measures;		/* JobMeasure, in the target's order; NIL: none */
} JobInfo;

/* The kind of a job's times, as session_state.h's functions take it. */
static inline SessionTimeKind
sessionize_job_time_kind(const JobInfo *job)
{
	if (job->time_type == INT8OID)
		return SESSION_TIME_BIGINT;
	return job->time_type == TIMESTAMPOID ? SESSION_TIME_TIMESTAMP : SESSION_TIME_TIMESTAMPTZ;
}

/*
 * Run a job once, in the current transaction, for the current user, who
 * must be a member of the job's owner (checked; the job is locked until the
 * transaction ends).  Fills *res with what the run did.
 */
extern void sessionize_run(int64 job_id, RunResult *res);

extern void sessionize_read_job(int64 job_id, bool lock, JobInfo *job);
extern int64 sessionize_watermark_after(int64 max_event_time, int64 lateness,
										bool integer_times);
extern bool sessionize_apply_inserts(JobInfo *job, RunResult *res);
/* SQL text of a job's measures (refresh.c), for apply_inserts.c too. */
extern char *sessionize_measures_sql(const JobInfo *job, const char *user,
									 const char *from, const char *last);
extern char *sessionize_measure_columns(const JobInfo *job);
extern void sessionize_verify_job(int64 job_id, Tuplestorestate *result, TupleDesc desc);

#endif							/* SESSIONIZE_REFRESH_H */
