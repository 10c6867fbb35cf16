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

#endif							/* SESSIONIZE_MEASURES_BUILD_H */
