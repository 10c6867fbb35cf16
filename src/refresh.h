/*-------------------------------------------------------------------------
 *
 * refresh.h
 *	  What a run of a job knows and does, shared by refresh.c (run_job()),
 *	  apply_inserts.c (its path for inserted events) and job_api.c
 *	  (verify()).
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
#include "datatype/timestamp.h"
#include "utils/tuplestore.h"

/* What run_job() knows of a job. */
typedef struct JobInfo
{
	int64		job_id;
	Oid			source;
	char	   *user_column;
	char	   *time_column;
	Interval   *gap;
	Interval   *exact_gap;		/* the gap with days as 24 hours */
	Oid			target;
	Interval   *allowed_lateness;
	int64		lateness_usec;	/* allowed_lateness with days as 24 hours,
								 * clamped to the int64 range */
	Oid			owner;
	bool		needs_rebuild;
	bool		have_max_event_time;
	TimestampTz max_event_time;
	bool		have_watermark;
	TimestampTz watermark;
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
} JobInfo;

/* What a pass did. */
typedef struct RunResult
{
	int64		events_inserted;
	int64		events_deleted;
	int64		sessions_inserted;
	int64		sessions_deleted;
	int64		sessions_updated;
	int64		late_events;
	bool		have_max_event_time;
	TimestampTz max_event_time;
	bool		have_watermark;
	TimestampTz watermark;
	bool		full_rebuild;
} RunResult;

extern void sessionize_read_job(int64 job_id, bool lock, JobInfo *job);
extern TimestampTz sessionize_watermark_after(TimestampTz max_event_time,
											  int64 lateness_usec);
extern bool sessionize_apply_inserts(JobInfo *job, RunResult *res);
extern void sessionize_verify_job(int64 job_id, Tuplestorestate *result, TupleDesc desc);

#endif							/* SESSIONIZE_REFRESH_H */
