/*-------------------------------------------------------------------------
 *
 * session_agg.c
 *	  sessions(ts, gap): a grouping aggregate that returns the sessions of a
 *	  group's events as an array of sessionize.session, and its parallel
 *	  support (combine, serialize, deserialize); merge_sessions(), which
 *	  does the same from session summaries; sessions_partial() and
 *	  sessions_merge().
 *
 * The transition state is a SessionRun (session_state.h), so it grows with
 * the number of sessions, not of events, and accepts events in any order.
 * The gap must be the same on every row of a group.
 *
 * One C function serves each role for every time type: timestamptz and
 * timestamp times with an interval gap (microseconds, infinities allowed:
 * rule.infinite_times) and bigint epochs with a bigint gap in the same unit
 * (no limits, no infinities).  The transition functions tell the two apart
 * by the type of their gap argument; the state keeps the answer in
 * rule.infinite_times, which the serialized state carries as its flags, and
 * the final function builds rows of whatever composite type its SQL
 * declaration returns (sessionize.session, session_timestamp or
 * session_bigint).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_agg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "session_state.h"

PG_FUNCTION_INFO_V1(sessions_trans);
PG_FUNCTION_INFO_V1(sessions_combine);
PG_FUNCTION_INFO_V1(sessions_serialize);
PG_FUNCTION_INFO_V1(sessions_deserialize);
PG_FUNCTION_INFO_V1(sessions_final);
PG_FUNCTION_INFO_V1(sessions_merge_trans);
PG_FUNCTION_INFO_V1(merge_sessions_trans);

/* Version byte of the serialized state; bump when the format changes. */
#define SESSIONS_STATE_VERSION	1
#define SESSIONS_STATE_HEADER	(1 + 1 + 8 + 4)

/*
 * Transition state of sessions().  It is 64 bytes, an allocation size
 * without slack: hash aggregation keeps one per group within work_mem.
 */
typedef struct SessionsAggState
{
	SessionRule rule;
	SessionAcc	acc;
	bool		varying_gap;	/* the gap argument may vary from row to row */
} SessionsAggState;

StaticAssertDecl(sizeof(SessionsAggState) <= 64,
				 "SessionsAggState should fit a 64-byte allocation");

static SessionsAggState *
sessions_state_create(MemoryContext aggcxt, int64 gap, bool infinite_times,
					  int32 capacity)
{
	SessionsAggState *st;

	st = (SessionsAggState *) MemoryContextAllocZero(aggcxt, sizeof(SessionsAggState));
	st->rule.gap = gap;
	st->rule.infinite_times = infinite_times;
	if (capacity > 0)
		session_run_init(&st->acc.run, capacity, aggcxt);
	return st;
}

/*
 * The kind of the times of a state: bigint epochs have no infinities.
 * Timestamp and timestamptz times have the same range and infinities, so
 * SESSION_TIME_TIMESTAMPTZ stands for both.
 */
static inline SessionTimeKind
sessions_kind(const SessionRule *rule)
{
	return rule->infinite_times ? SESSION_TIME_TIMESTAMPTZ : SESSION_TIME_BIGINT;
}

/*
 * The gap argument gapargno as a positive int64 in time units: an interval
 * for timestamps, a bigint for bigint epochs.
 */
static inline int64
sessions_gap_arg(FunctionCallInfo fcinfo, int gapargno, bool bigint_times)
{
	if (PG_ARGISNULL(gapargno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gap must not be null")));
	if (bigint_times)
		return session_check_positive_bigint(PG_GETARG_INT64(gapargno), "gap");
	return session_interval_to_usec(PG_GETARG_INTERVAL_P(gapargno), "gap");
}

static MemoryContext
sessions_aggcontext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/*
 * The state of a grouping aggregate whose gap is argument gapargno: created
 * on the group's first row, and checked on every row to have the same gap,
 * unless the gap is a constant or a parameter (then it cannot vary).  The
 * gap's type, interval or bigint, fixes the kind of times of the state.
 */
static inline SessionsAggState *
sessions_state_for_row(FunctionCallInfo fcinfo, MemoryContext aggcxt, int gapargno)
{
	SessionsAggState *st;
	int64		gap;

	if (likely(!PG_ARGISNULL(0)))
	{
		st = (SessionsAggState *) PG_GETARG_POINTER(0);
		if (likely(!st->varying_gap))
			return st;
	}
	else
		st = NULL;

	if (st == NULL)
	{
		Oid			gaptype = get_fn_expr_argtype(fcinfo->flinfo, gapargno);
		bool		bigint_times;

		if (gaptype == INT8OID)
			bigint_times = true;
		else if (gaptype == INTERVALOID)
			bigint_times = false;
		else
			elog(ERROR, "unexpected gap type %u", gaptype);
		gap = sessions_gap_arg(fcinfo, gapargno, bigint_times);
		st = sessions_state_create(aggcxt, gap, !bigint_times, 0);
		st->varying_gap = !get_fn_expr_arg_stable(fcinfo->flinfo, gapargno);
		return st;
	}
	gap = sessions_gap_arg(fcinfo, gapargno, !st->rule.infinite_times);
	/* (equal as durations: '1 day' and '24 hours' are the same gap here) */
	if (unlikely(gap != st->rule.gap))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gap must be the same for every row of a group"),
				 errhint("A per-event gap is available in the window forms, sessionize.session_id() and sessionize.session_start().")));
	return st;
}

/*
 * sessions_trans(state internal, ts timestamptz, gap interval),
 * sessions_trans(state internal, ts timestamp, gap interval),
 * sessions_trans(state internal, ts bigint, gap bigint)
 *
 * All three times are int64 Datums; a timestamp or timestamptz from SQL is
 * within the range or infinite, and any bigint is a bigint time.
 */
Datum
sessions_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = sessions_aggcontext(fcinfo, "sessions_trans");
	SessionsAggState *st = sessions_state_for_row(fcinfo, aggcxt, 2);

	if (!PG_ARGISNULL(1))
		session_acc_add(&st->acc, &st->rule, DatumGetInt64(PG_GETARG_DATUM(1)), aggcxt);

	PG_RETURN_POINTER(st);
}

/*
 * sessions_combine(state1 internal, state2 internal): the sessions of both
 * partial states' events.  Used by parallel and partial aggregation.
 */
Datum
sessions_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = sessions_aggcontext(fcinfo, "sessions_combine");
	SessionsAggState *st1;
	SessionsAggState *st2;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	st2 = (SessionsAggState *) PG_GETARG_POINTER(1);

	if (PG_ARGISNULL(0))
	{
		/* copy: the second state may live in a shorter-lived context */
		SessionRun *run2 = session_acc_flush(&st2->acc, aggcxt);

		st1 = sessions_state_create(aggcxt, st2->rule.gap,
									st2->rule.infinite_times,
									run2->nsessions);
		session_run_merge(&st1->acc.run, run2, &st1->rule, aggcxt);
		PG_RETURN_POINTER(st1);
	}
	st1 = (SessionsAggState *) PG_GETARG_POINTER(0);

	if (st1->rule.gap != st2->rule.gap ||
		st1->rule.infinite_times != st2->rule.infinite_times)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gap must be the same for every row of a group")));

	session_run_merge(session_acc_flush(&st1->acc, aggcxt),
					  session_acc_flush(&st2->acc, aggcxt), &st1->rule, aggcxt);
	PG_RETURN_POINTER(st1);
}

/*
 * sessions_serialize(state internal) returns bytea
 *
 * Layout, integers in network byte order: version (1 byte), flags (1 byte:
 * bit 0 = infinite times), gap (int64), number of sessions (int32), then per
 * session start, last and count (int64 each).  With bit 0 set, times are
 * timestamptz or timestamp values (microseconds since 2000-01-01 00:00;
 * INT64_MIN and INT64_MAX are -infinity and +infinity) and the gap is in
 * microseconds: the states of the forms with an interval gap.  With bit 0
 * clear, times and gap are bigints in the caller's unit: the states of the
 * forms with a bigint gap.  The README describes the format for tools that
 * write states (sessions_partial()); sessions_state_from_bytes() lists what
 * a state must satisfy.
 */
Datum
sessions_serialize(PG_FUNCTION_ARGS)
{
	SessionsAggState *st;
	SessionRun *run;
	MemoryContext aggcxt;
	StringInfoData buf;
	int32		k;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "sessions_serialize called in non-aggregate context");
	st = (SessionsAggState *) PG_GETARG_POINTER(0);
	run = session_acc_flush(&st->acc, aggcxt);

	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, SESSIONS_STATE_HEADER +
					  run->nsessions * 3 * sizeof(int64));
	pq_sendbyte(&buf, SESSIONS_STATE_VERSION);
	pq_sendbyte(&buf, st->rule.infinite_times ? 1 : 0);
	pq_sendint64(&buf, st->rule.gap);
	pq_sendint32(&buf, run->nsessions);
	for (k = 0; k < run->nsessions; k++)
	{
		pq_sendint64(&buf, run->items[k].start);
		pq_sendint64(&buf, run->items[k].last);
		pq_sendint64(&buf, run->items[k].count);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
reject_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid sessionize.sessions() aggregate state"),
			 errdetail_internal("%s", detail)));
}

/*
 * Rebuild a state from its serialized bytes, in memory context cxt.  The
 * bytes may come from anywhere (sessions_partial() output stored in a table,
 * a distributed engine's partial aggregate), so every field is checked: a
 * malformed state is an ERROR (SQLSTATE 22P03), never a crash or a wrong
 * answer.  A state must have a known version and flags, a positive gap, a
 * length that matches its number of sessions, and sessions that keep the
 * invariants of a SessionRun (session_run_check()): times valid for
 * "kind" (for timestamps, within the range, infinities only with bit 0 of
 * the flags; any value for bigint times), start <= last, a count
 * of at least one (two when start < last), an infinity alone in its
 * session, in time order and more than a gap apart.  Whatever merging such
 * states adds up is checked as it is added (session_count_add()).
 */
static SessionsAggState *
sessions_state_from_bytes(bytea *bytes, MemoryContext cxt, bool timestamps_only)
{
	StringInfoData buf;
	SessionsAggState *st;
	int			version;
	int			flags;
	int64		gap;
	int32		n;
	int32		k;
	const char *why;

	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (buf.len < SESSIONS_STATE_HEADER)
		reject_state("The state is too short.");
	version = pq_getmsgbyte(&buf);
	if (version != SESSIONS_STATE_VERSION)
		reject_state("Unknown state version.");
	flags = pq_getmsgbyte(&buf);
	if ((flags & ~1) != 0)
		reject_state("Unknown flags.");
	gap = pq_getmsgint64(&buf);
	if (gap <= 0)
		reject_state("The gap is not positive.");
	n = (int32) pq_getmsgint(&buf, 4);
	if (n < 0 || (int64) n * 3 * sizeof(int64) != (int64) (buf.len - buf.cursor))
		reject_state("The number of sessions does not match the state's length.");

	st = sessions_state_create(cxt, gap, (flags & 1) != 0, n);
	for (k = 0; k < n; k++)
	{
		SessionSummary *s = &st->acc.run.items[k];

		s->start = pq_getmsgint64(&buf);
		s->last = pq_getmsgint64(&buf);
		s->count = pq_getmsgint64(&buf);
	}
	st->acc.run.nsessions = n;
	pq_getmsgend(&buf);

	why = session_run_check(&st->acc.run, &st->rule,
							timestamps_only ? SESSION_TIME_TIMESTAMPTZ :
							sessions_kind(&st->rule));
	if (why != NULL)
		reject_state(why);
	return st;
}

/*
 * sessions_deserialize(bytes bytea, internal) returns internal
 *
 * The deserialization function of every aggregate here: its states come
 * from its own serialization function, of whichever time type the flags
 * say.  (sessions_merge_trans() reads states from outside.)
 */
Datum
sessions_deserialize(PG_FUNCTION_ARGS)
{
	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "sessions_deserialize called in non-aggregate context");

	PG_RETURN_POINTER(sessions_state_from_bytes(PG_GETARG_BYTEA_PP(0),
												CurrentMemoryContext, false));
}

/*
 * sessions_merge_trans(state internal, partial bytea): transition function
 * of sessions_merge(), which merges states saved by sessions_partial().
 * All partial states of a group must have the same gap.  Its result is
 * sessionize.session[], so every time must be a timestamptz, also in a
 * state whose flags say it has no infinities.
 */
Datum
sessions_merge_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = sessions_aggcontext(fcinfo, "sessions_merge_trans");
	SessionsAggState *st;
	SessionsAggState *part;

	st = PG_ARGISNULL(0) ? NULL : (SessionsAggState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}

	part = sessions_state_from_bytes(PG_GETARG_BYTEA_PP(1), CurrentMemoryContext,
									 true);
	if (st == NULL)
	{
		st = sessions_state_create(aggcxt, part->rule.gap,
								   part->rule.infinite_times,
								   part->acc.run.nsessions);
	}
	else if (st->rule.gap != part->rule.gap)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partial session states with different gaps cannot be merged")));
	else if (st->rule.infinite_times != part->rule.infinite_times)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partial session states of different time types cannot be merged"),
				 errdetail("One state's times may be infinite (timestamps), the other's may not (bigint).")));
	session_run_merge(session_acc_flush(&st->acc, aggcxt), &part->acc.run,
					  &st->rule, aggcxt);
	PG_RETURN_POINTER(st);
}

/*
 * merge_sessions_trans(state internal, session_start timestamptz,
 *						last_event_at timestamptz, event_count bigint,
 *						gap interval)
 * and the same with timestamp times, or with bigint times and gap.
 *
 * Transition function of merge_sessions(): folds session summaries (rows
 * of a sessions table, or summaries of new events) into the sessions of all
 * their events.  Summaries may come in any order and may overlap or join.
 *
 * A row whose session_start and last_event_at are both NULL is no session
 * and is skipped (an outer join's missing row).  Any other row must be a
 * summary of events: no NULL, timestamps within their range or infinite
 * (SQLSTATE 22008; any bigint is a bigint time), and
 * session_summary_check()'s rules (22023):
 * session_start <= last_event_at, event_count >= 1 (>= 2 when the times
 * differ), an infinity alone in its session.  A count is never taken on
 * trust in silence: a NULL or non-positive one is an error, not a row to
 * skip, as a skipped session would be a wrong answer.
 */
Datum
merge_sessions_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = sessions_aggcontext(fcinfo, "merge_sessions_trans");
	SessionsAggState *st = sessions_state_for_row(fcinfo, aggcxt, 4);
	SessionTimeKind kind = sessions_kind(&st->rule);
	SessionSummary s;
	const char *why;

	if (PG_ARGISNULL(1) && PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);	/* a row without times is no session */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid session summary"),
				 errdetail("A session summary needs session_start, last_event_at and event_count; only a row whose times are both null is skipped.")));

	s.start = DatumGetInt64(PG_GETARG_DATUM(1));
	s.last = DatumGetInt64(PG_GETARG_DATUM(2));
	s.count = PG_GETARG_INT64(3);
	if (!session_time_is_valid(kind, &st->rule, s.start) ||
		!session_time_is_valid(kind, &st->rule, s.last))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("A session summary's session_start or last_event_at is outside the range of timestamptz.")));
	why = session_summary_check(&s, &st->rule, kind);
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid session summary"),
				 errdetail_internal("%s", why)));
	session_run_add_summary(session_acc_flush(&st->acc, aggcxt), &st->rule, &s, aggcxt);
	PG_RETURN_POINTER(st);
}

/*
 * The composite type of the result's elements (sessionize.session,
 * session_timestamp or session_bigint), looked up once per call site.
 */
typedef struct SessionsFinalCache
{
	Oid			elemtype;
	TupleDesc	tupdesc;
	bool		bigint_times;	/* its times are bigint, not timestamps */
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
} SessionsFinalCache;

/*
 * sessions_final(state internal) returns sessionize.session[],
 * sessionize.session_timestamp[] or sessionize.session_bigint[], whichever
 * its SQL declaration says
 *
 * Sessions in time order; an empty array when no row had a time.  Does not
 * modify the state.  session_end is last_event_at + gap: +infinity past the
 * timestamp range, an error past the bigint range (session_end_time()).
 */
Datum
sessions_final(PG_FUNCTION_ARGS)
{
	SessionsFinalCache *cache = (SessionsFinalCache *) fcinfo->flinfo->fn_extra;
	SessionsAggState *st;
	SessionRun *run;
	MemoryContext aggcxt;
	Datum	   *elems;
	int32		k;

	if (cache == NULL)
	{
		Oid			arraytype = get_fn_expr_rettype(fcinfo->flinfo);
		MemoryContext oldcxt;

		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(SessionsFinalCache));
		cache->elemtype = get_element_type(arraytype);
		if (!OidIsValid(cache->elemtype))
			elog(ERROR, "sessions_final must return an array of a session row type");
		oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cache->tupdesc = lookup_rowtype_tupdesc_copy(cache->elemtype, -1);
		MemoryContextSwitchTo(oldcxt);
		if (cache->tupdesc->natts != 4)
			elog(ERROR, "a session row type must have four attributes");
		cache->bigint_times = (TupleDescAttr(cache->tupdesc, 0)->atttypid == INT8OID);
		get_typlenbyvalalign(cache->elemtype, &cache->elemlen,
							 &cache->elembyval, &cache->elemalign);
		fcinfo->flinfo->fn_extra = cache;
	}

	if (PG_ARGISNULL(0))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(cache->elemtype));
	st = (SessionsAggState *) PG_GETARG_POINTER(0);
	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "sessions_final called in non-aggregate context");
	/*
	 * Bigint times come only from the forms with a bigint gap.  (A state
	 * without infinities may have timestamp times: sessions_merge() of
	 * states whose flags say so, checked to be within the range.)
	 */
	if (cache->bigint_times && st->rule.infinite_times)
		elog(ERROR, "sessions_final: a state of timestamps cannot make bigint sessions");
	/* (flushing changes the state's form, not its sessions) */
	run = session_acc_flush(&st->acc, aggcxt);
	if (run->nsessions == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(cache->elemtype));

	elems = (Datum *) palloc(sizeof(Datum) * run->nsessions);
	for (k = 0; k < run->nsessions; k++)
	{
		const SessionSummary *s = &run->items[k];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		/* (timestamptz, timestamp and bigint are all int64 Datums) */
		values[0] = Int64GetDatum(s->start);
		values[1] = Int64GetDatum(s->last);
		values[2] = Int64GetDatum(session_end_time(cache->bigint_times ?
												   SESSION_TIME_BIGINT :
												   SESSION_TIME_TIMESTAMPTZ,
												   s->last, st->rule.gap));
		values[3] = Int64GetDatum(s->count);
		elems[k] = HeapTupleGetDatum(heap_form_tuple(cache->tupdesc, values, nulls));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, run->nsessions,
										  cache->elemtype, cache->elemlen,
										  cache->elembyval, cache->elemalign));
}
