/*-------------------------------------------------------------------------
 *
 * session_state.h
 *	  The gap rule and runs of session summaries: the one place where
 *	  sessionize decides which events belong to which session.
 *
 * Every time value here is an int64: microseconds for timestamp and
 * timestamptz, the caller's own unit for bigint epochs.  A session is
 * summarised as (first event, last event, event count).  Two summaries
 * belong to one session when they overlap or when the later one starts no
 * more than "gap" after the earlier one ends (README, Semantics rule 1:
 * inclusive, as in Flink, Kafka Streams and Spark).
 *
 * A SessionRun is a sorted array of summaries of which no two join.  The
 * module promises:
 *	- session_run_add() places one event: O(1) when events arrive in time
 *	  order, a binary search (and perhaps a merge of neighbours) otherwise;
 *	- session_run_add_summary() places a whole summary, merging as needed,
 *	  which is what combining partial aggregates and folding new events into
 *	  stored sessions need;
 *	- the run stays sorted and pairwise non-joining after every call, so
 *	  its summaries are exactly the sessions of the events added.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_state.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_SESSION_STATE_H
#define SESSIONIZE_SESSION_STATE_H

#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "utils/palloc.h"

#include "compat.h"

/* One session: first and last event time and the number of events. */
typedef struct SessionSummary
{
	int64		start;
	int64		last;
	int64		count;
} SessionSummary;

/*
 * The gap rule.  "gap" is positive.  With "infinite_times", INT64_MIN and
 * INT64_MAX are timestamp -infinity and +infinity, which are infinitely far
 * from every other time: they join only an equal infinity.
 */
typedef struct SessionRule
{
	int64		gap;
	bool		infinite_times;
} SessionRule;

/* A sorted run of pairwise non-joining session summaries. */
typedef struct SessionRun
{
	int32		nsessions;
	int32		capacity;
	SessionSummary *items;
} SessionRun;

/* Which kind of time a function works on (fixes the infinity rule). */
typedef enum SessionTimeKind
{
	SESSION_TIME_TIMESTAMPTZ,
	SESSION_TIME_TIMESTAMP,
	SESSION_TIME_BIGINT
} SessionTimeKind;

/*
 * Event counts.  Counts grow by one per event on the paths that add events,
 * which cannot reach 2^63; merging summaries adds counts that may come from
 * outside (stored sessions, partial states, merge_sessions() rows), and
 * every such addition goes through session_count_add(): an ERROR
 * (SQLSTATE 22003) when the sum does not fit in a bigint, never a wrong
 * count.
 */
SESSIONIZE_NORETURN extern void session_count_overflow(void) SESSIONIZE_NORETURN_AFTER;

static inline int64
session_count_add(int64 a, int64 b)
{
	int64		r;

	if (unlikely(pg_add_s64_overflow(a, b, &r)))
		session_count_overflow();
	return r;
}

/* a + b, clamped to the int64 range */
static inline int64
session_add_sat(int64 a, int64 b)
{
	int64		r;

	if (unlikely(pg_add_s64_overflow(a, b, &r)))
		return (b > 0) ? PG_INT64_MAX : PG_INT64_MIN;
	return r;
}

/*
 * Does an event (or summary start) at "next" join a session whose last event
 * is at "prev"?  Requires prev <= next.  True when next - prev <= gap.
 * Saturating addition is exact here: when prev + gap overflows, every int64
 * "next" is within the gap.
 */
static inline bool
session_joins(const SessionRule *rule, int64 prev, int64 next)
{
	if (next > session_add_sat(prev, rule->gap))
		return false;
	if (unlikely(rule->infinite_times) && next != prev &&
		(prev == PG_INT64_MIN || next == PG_INT64_MAX))
		return false;
	return true;
}

extern void session_run_init(SessionRun *run, int32 capacity, MemoryContext cxt);
extern void session_run_append(SessionRun *run, int64 start, int64 last,
							   int64 count, MemoryContext cxt);
extern void session_run_add_slow(SessionRun *run, const SessionRule *rule,
								 int64 ts, MemoryContext cxt);
extern void session_run_add_summary(SessionRun *run, const SessionRule *rule,
									const SessionSummary *s, MemoryContext cxt);
extern void session_run_merge(SessionRun *dst, const SessionRun *src,
							  const SessionRule *rule, MemoryContext cxt);
extern bool session_time_is_valid(SessionTimeKind kind, const SessionRule *rule,
								  int64 t);
extern const char *session_summary_check(const SessionSummary *s,
										 const SessionRule *rule,
										 SessionTimeKind kind);
extern const char *session_run_check(const SessionRun *run, const SessionRule *rule,
									 SessionTimeKind kind);

/*
 * Add one event at time ts.  Events in time order take the inline fast path:
 * extend the latest session or open a new one.
 */
static inline void
session_run_add(SessionRun *run, const SessionRule *rule, int64 ts,
				MemoryContext cxt)
{
	if (likely(run->nsessions > 0))
	{
		SessionSummary *cur = &run->items[run->nsessions - 1];

		if (likely(ts >= cur->last))
		{
			if (session_joins(rule, cur->last, ts))
			{
				cur->last = ts;
				cur->count++;
				return;
			}
		}
		else if (ts >= cur->start)
		{
			cur->count++;
			return;
		}
		else
		{
			session_run_add_slow(run, rule, ts, cxt);
			return;
		}
	}
	session_run_append(run, ts, ts, 1, cxt);
}

/*
 * A run with its latest session kept apart, inline: the accumulator of the
 * hot paths.  Events in time order touch only "cur" (one cache line with
 * whatever holds the accumulator); "run" holds the earlier sessions and is
 * touched only when a session ends.  session_acc_flush() makes "run"
 * complete; the accumulator stays valid and may go on accumulating.
 */
typedef struct SessionAcc
{
	SessionSummary cur;			/* the latest session; none if cur.count = 0 */
	SessionRun	run;			/* the sessions before it */
} SessionAcc;

extern void session_acc_add_slow(SessionAcc *acc, const SessionRule *rule,
								 int64 ts, MemoryContext cxt);

static inline void
session_acc_add(SessionAcc *acc, const SessionRule *rule, int64 ts,
				MemoryContext cxt)
{
	if (likely(acc->cur.count > 0))
	{
		if (likely(ts >= acc->cur.last))
		{
			if (session_joins(rule, acc->cur.last, ts))
			{
				acc->cur.last = ts;
				acc->cur.count++;
				return;
			}
			/* a new session: the current one is complete */
			session_run_append(&acc->run, acc->cur.start, acc->cur.last,
							   acc->cur.count, cxt);
		}
		else if (ts >= acc->cur.start)
		{
			acc->cur.count++;
			return;
		}
		else
		{
			session_acc_add_slow(acc, rule, ts, cxt);
			return;
		}
	}
	acc->cur.start = ts;
	acc->cur.last = ts;
	acc->cur.count = 1;
}

/* Move "cur" into "run", which then holds every session. */
static inline SessionRun *
session_acc_flush(SessionAcc *acc, MemoryContext cxt)
{
	if (acc->cur.count > 0)
	{
		session_run_append(&acc->run, acc->cur.start, acc->cur.last,
						   acc->cur.count, cxt);
		acc->cur.count = 0;
	}
	return &acc->run;
}

/*
 * Gap and duration arguments.  An interval must be positive and have no
 * month part (a month has no fixed length); a bigint must be positive.
 * "argname" names the argument in the error message.
 */
/* session_end = last + gap, for output; +infinity past the timestamp range. */
extern int64 session_end_time(SessionTimeKind kind, int64 last, int64 gap);

extern int64 session_interval_to_usec(const Interval *iv, const char *argname);
extern int64 session_check_positive_bigint(int64 value, const char *argname);

#endif							/* SESSIONIZE_SESSION_STATE_H */
