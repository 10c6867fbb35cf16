/*-------------------------------------------------------------------------
 *
 * measures_build.h
 *	  A job's full build with measures in one pass over its source, the
 *	  measures computed natively when every one is an aggregate this
 *	  module knows (measures_build.c).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/measures_build.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_MEASURES_BUILD_H
#define SESSIONIZE_MEASURES_BUILD_H

#include "access/tupdesc.h"
#include "nodes/pg_list.h"
#include "utils/snapshot.h"
#include "utils/tuplestore.h"

#include "session_state.h"

/* What a build wrote: for run_job()'s counts and its new max event time. */
typedef struct BuildTotals
{
	int64		events;			/* in the sessions written */
	int64		sessions;
	bool		have_max_time;	/* (none if there were no events) */
	int64		max_time;		/* the latest event time read */
	/* numerics summed or compared, and how many of them as scaled integers */
	int64		numeric_values;
	int64		numeric_scaled;
} BuildTotals;

/*
 * The sessions of source (qualified name source_name) and the values of
 * measures (a List of JobMeasure) for each, in a tuplestore of columns u,
 * session_start, last_event_at, session_end, event_count, m1, m2, ...
 * (*desc), or NULL when this build does not apply (a measure it does not
 * know, a source it does not read directly) or gave up (events out of time
 * order, more memory than the hash memory limit), *why then saying so in a
 * phrase: the caller builds with SQL.  *totals counts what a build wrote.  Runs as the current user, whom the caller has made the job
 * owner, restricted: the measures' arguments and filters are evaluated
 * here.
 */
extern Tuplestorestate *sessionize_build_measures(Oid source, const char *source_name,
												  const char *user_column,
												  const char *time_column,
												  SessionTimeKind kind, int64 gap,
												  List *measures, TupleDesc *desc,
												  BuildTotals *totals, char **why);

/*
 * The measures of spans of a user's events: for each span, the values that
 * measures (a List of JobMeasure) take over the source's events of one user
 * (or of the NULL user) whose time is from "from" to "to", both included,
 * as the SQL of sessionize_measures_sql() computes them.  The events are
 * read through an index of the source on (user, time), in snapshot; the
 * measures are computed as a build computes them.  Begin returns NULL,
 * with *why, where the build does not apply, or the source has no such
 * index, or a result type has no array type.  A span gives false, and no
 * values, where it would pass the hash memory limit (the caller then uses
 * SQL).  Values are made in the caller's memory context; nulls says which
 * are NULL.  Runs as the current user, made the job owner, restricted, by
 * the caller: the measures' arguments and filters are evaluated here.
 */
typedef struct SpanMeasures SpanMeasures;

extern SpanMeasures *sessionize_span_measures_begin(Oid source, const char *source_name,
													const char *user_column,
													const char *time_column,
													List *measures, Snapshot snapshot,
													char **why);
extern bool sessionize_span_measures(SpanMeasures *sm, Datum user, bool user_null,
									 int64 from, int64 to, Datum *values, bool *nulls);
extern Oid	sessionize_span_measures_type(SpanMeasures *sm, int i);
extern const char *sessionize_span_measures_index(SpanMeasures *sm);
extern void sessionize_span_measures_counts(SpanMeasures *sm, int64 *spans, int64 *rows);
extern void sessionize_span_measures_end(SpanMeasures *sm);

#endif							/* SESSIONIZE_MEASURES_BUILD_H */
