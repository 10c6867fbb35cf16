/*-------------------------------------------------------------------------
 *
 * session_state.c
 *	  Runs of session summaries: out-of-order insertion, merging and
 *	  validation, plus the checks on gap and duration arguments.
 *
 * The in-order fast path lives inline in session_state.h; this file holds
 * everything slower.  See the header for the invariants a SessionRun keeps.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "session_state.h"

#include "utils/memutils.h"
#include "utils/timestamp.h"

#define SESSION_RUN_MIN_CAPACITY 4

/* Allocate room for "capacity" summaries in cxt; the run is empty. */
void
session_run_init(SessionRun *run, int32 capacity, MemoryContext cxt)
{
	if (capacity < SESSION_RUN_MIN_CAPACITY)
		capacity = SESSION_RUN_MIN_CAPACITY;
	run->nsessions = 0;
	run->capacity = capacity;
	run->items = (SessionSummary *)
		MemoryContextAlloc(cxt, sizeof(SessionSummary) * capacity);
}

/* Make room for at least "needed" summaries. */
static void
session_run_reserve(SessionRun *run, int32 needed, MemoryContext cxt)
{
	int64		newcap;

	if (needed <= run->capacity)
		return;
	if (run->items == NULL)
	{
		session_run_init(run, needed, cxt);
		return;
	}
	newcap = Max((int64) run->capacity * 2, (int64) needed);
	if (newcap > (int64) (MaxAllocSize / sizeof(SessionSummary)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many sessions for one key"),
				 errdetail("A key can have at most %d sessions in one call.",
						   (int) (MaxAllocSize / sizeof(SessionSummary)))));
	run->items = (SessionSummary *)
		repalloc(run->items, sizeof(SessionSummary) * newcap);
	run->capacity = (int32) newcap;
}

/*
 * Append a summary after the last one.  The caller guarantees that it starts
 * after the last session and does not join it.
 */
void
session_run_append(SessionRun *run, int64 start, int64 last, int64 count,
				   MemoryContext cxt)
{
	SessionSummary *s;

	session_run_reserve(run, run->nsessions + 1, cxt);
	s = &run->items[run->nsessions++];
	s->start = start;
	s->last = last;
	s->count = count;
}

/* An event earlier than the start of the latest session. */
void
session_run_add_slow(SessionRun *run, const SessionRule *rule, int64 ts,
					 MemoryContext cxt)
{
	SessionSummary s;

	s.start = ts;
	s.last = ts;
	s.count = 1;
	session_run_add_summary(run, rule, &s, cxt);
}

/*
 * An event before the start of the accumulator's latest session: place it
 * among all the sessions, then take the latest one back out.
 */
void
session_acc_add_slow(SessionAcc *acc, const SessionRule *rule, int64 ts,
					 MemoryContext cxt)
{
	SessionRun *run = session_acc_flush(acc, cxt);

	session_run_add_slow(run, rule, ts, cxt);
	acc->cur = run->items[--run->nsessions];
}

/*
 * After items[pos] grew, absorb the following summaries that now join it.
 * Items before pos are untouched: they did not join items[pos] before it
 * grew, and growing never moves its start later.
 */
static void
session_run_absorb_following(SessionRun *run, const SessionRule *rule, int32 pos)
{
	SessionSummary *cur = &run->items[pos];
	int32		next = pos + 1;

	while (next < run->nsessions &&
		   session_joins(rule, cur->last, run->items[next].start))
	{
		cur->last = Max(cur->last, run->items[next].last);
		cur->count = session_count_add(cur->count, run->items[next].count);
		next++;
	}
	if (next > pos + 1)
	{
		int32		removed = next - (pos + 1);

		memmove(&run->items[pos + 1], &run->items[next],
				sizeof(SessionSummary) * (run->nsessions - next));
		run->nsessions -= removed;
	}
}

/*
 * Place a summary anywhere in the run.  It may land inside a session, extend
 * one at either end, bridge several, or stand alone.
 */
void
session_run_add_summary(SessionRun *run, const SessionRule *rule,
						const SessionSummary *s, MemoryContext cxt)
{
	int32		lo = 0;
	int32		hi = run->nsessions;
	int32		pos;

	Assert(s->start <= s->last && s->count > 0);

	/* first index whose start is after s->start */
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (run->items[mid].start <= s->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	pos = lo;

	if (pos > 0 && session_joins(rule, run->items[pos - 1].last, s->start))
	{
		/* joins the session that starts at or before it */
		SessionSummary *left = &run->items[pos - 1];

		left->last = Max(left->last, s->last);
		left->count = session_count_add(left->count, s->count);
		session_run_absorb_following(run, rule, pos - 1);
	}
	else if (pos < run->nsessions &&
			 session_joins(rule, s->last, run->items[pos].start))
	{
		/* reaches the session that starts after it */
		SessionSummary *right = &run->items[pos];

		right->start = s->start;
		right->last = Max(right->last, s->last);
		right->count = session_count_add(right->count, s->count);
		session_run_absorb_following(run, rule, pos);
	}
	else
	{
		/* a session of its own */
		session_run_reserve(run, run->nsessions + 1, cxt);
		memmove(&run->items[pos + 1], &run->items[pos],
				sizeof(SessionSummary) * (run->nsessions - pos));
		run->items[pos] = *s;
		run->nsessions++;
	}
}

/*
 * dst := sessions of the events of dst and src together.  A linear merge by
 * start time that coalesces joining neighbours as it goes.
 */
void
session_run_merge(SessionRun *dst, const SessionRun *src,
				  const SessionRule *rule, MemoryContext cxt)
{
	SessionSummary *out;
	int32		total;
	int32		i = 0,
				j = 0,
				n = 0;

	if (src->nsessions == 0)
		return;
	if (dst->nsessions == 0)
	{
		session_run_reserve(dst, src->nsessions, cxt);
		memcpy(dst->items, src->items, sizeof(SessionSummary) * src->nsessions);
		dst->nsessions = src->nsessions;
		return;
	}
	/* a few summaries into many: insert them one by one */
	if (src->nsessions <= 2)
	{
		for (i = 0; i < src->nsessions; i++)
			session_run_add_summary(dst, rule, &src->items[i], cxt);
		return;
	}

	total = dst->nsessions + src->nsessions;
	out = (SessionSummary *) MemoryContextAlloc(cxt, sizeof(SessionSummary) * total);
	while (i < dst->nsessions || j < src->nsessions)
	{
		const SessionSummary *next;

		if (j >= src->nsessions ||
			(i < dst->nsessions && dst->items[i].start <= src->items[j].start))
			next = &dst->items[i++];
		else
			next = &src->items[j++];

		if (n > 0 && session_joins(rule, out[n - 1].last, next->start))
		{
			out[n - 1].last = Max(out[n - 1].last, next->last);
			out[n - 1].count = session_count_add(out[n - 1].count, next->count);
		}
		else
			out[n++] = *next;
	}
	if (dst->items)
		pfree(dst->items);
	dst->items = out;
	dst->nsessions = n;
	dst->capacity = total;
}

/* The ERROR of session_count_add(). */
void
session_count_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("session event count out of range"),
			 errdetail("The merged session would have more than " INT64_FORMAT " events.",
					   PG_INT64_MAX)));
}

/*
 * Is t a time of this kind?  A timestamp or timestamptz is within
 * PostgreSQL's range, or is -infinity or +infinity where the rule treats
 * infinities (which are then INT64_MIN and INT64_MAX); any bigint is a
 * bigint time.
 */
bool
session_time_is_valid(SessionTimeKind kind, const SessionRule *rule, int64 t)
{
	if (kind == SESSION_TIME_BIGINT)
		return true;
	if (IS_VALID_TIMESTAMP(t))
		return true;
	return rule->infinite_times && TIMESTAMP_NOT_FINITE(t);
}

/*
 * Is s the summary of some events under the rule?  NULL when it is, else a
 * sentence that says why not (an errdetail).  Its times are valid, it
 * starts no later than its last event, it has an event, two if it spans
 * time, and, with infinite times, an infinity is alone in its session
 * (session_joins(): an infinity joins only an equal one).
 */
const char *
session_summary_check(const SessionSummary *s, const SessionRule *rule,
					  SessionTimeKind kind)
{
	if (!session_time_is_valid(kind, rule, s->start) ||
		!session_time_is_valid(kind, rule, s->last))
		return "A session time is out of range.";
	if (s->start > s->last)
		return "A session starts after its last event.";
	if (s->count < 1)
		return "A session has fewer than one event.";
	if (s->start != s->last && s->count < 2)
		return "A session that spans time has fewer than two events.";
	if (rule->infinite_times && s->start != s->last &&
		(s->start == PG_INT64_MIN || s->last == PG_INT64_MAX))
		return "A session joins an infinite time to another time.";
	return NULL;
}

/*
 * Does the run keep its invariants?  NULL when it does, else why not (an
 * errdetail).  Used to reject malformed states that arrive from outside
 * (deserialisation): every summary passes session_summary_check(), and each
 * starts after the previous one's last event and more than a gap after it
 * (else the two would be one session).
 *
 * The counts of different sessions are not added up: no answer reports
 * their sum, and merging valid states can make sessions whose counts add up
 * past a bigint (two of 2^63 - 1 events), a state that must serialize and
 * deserialize as well in a parallel plan as it merges in a serial one.
 */
const char *
session_run_check(const SessionRun *run, const SessionRule *rule,
				  SessionTimeKind kind)
{
	int32		k;

	if (run->nsessions < 0)
		return "The number of sessions is negative.";
	for (k = 0; k < run->nsessions; k++)
	{
		const SessionSummary *s = &run->items[k];
		const char *why = session_summary_check(s, rule, kind);

		if (why != NULL)
			return why;
		if (k > 0 && s->start <= run->items[k - 1].last)
			return "The sessions are not in time order, or overlap.";
		if (k > 0 && session_joins(rule, run->items[k - 1].last, s->start))
			return "Two sessions are no more than the gap apart: they would be one session.";
	}
	return NULL;
}

/*
 * A gap or duration interval as microseconds.  It must be positive and have
 * no month part: a month has no fixed length.
 */
int64
session_interval_to_usec(const Interval *iv, const char *argname)
{
	int64		usec;

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not have a month component", argname),
				 errhint("A month has no fixed length; express the %s in days, hours, minutes or seconds.",
						 argname)));
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &usec) ||
		pg_add_s64_overflow(usec, iv->time, &usec))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is out of range", argname)));
	if (usec <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", argname)));
	return usec;
}

/* A gap or duration given as a bigint in the caller's time unit. */
int64
session_check_positive_bigint(int64 value, const char *argname)
{
	if (value <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", argname),
				 errdetail("The %s was " INT64_FORMAT ".", argname, value)));
	return value;
}

/*
 * session_end: the last event plus the gap, the exclusive end of the session
 * window (Flink's SESSION_END).  Days of an interval gap count as 24 hours,
 * as they do in the gap rule.  An infinite last event gives an infinite end,
 * and so does a finite one whose end is past the timestamp range (README,
 * Semantics rule 2): any valid event must give a valid session, or a job
 * would fail on it for ever.  Bigint times have no infinity: an error.
 */
int64
session_end_time(SessionTimeKind kind, int64 last, int64 gap)
{
	int64		end;

	if (kind == SESSION_TIME_BIGINT)
	{
		if (pg_add_s64_overflow(last, gap, &end))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range"),
					 errdetail("session_end, the last event plus the gap, does not fit in a bigint.")));
		return end;
	}
	if (TIMESTAMP_NOT_FINITE(last))
		return last;
	if (pg_add_s64_overflow(last, gap, &end) || end >= END_TIMESTAMP)
		return DT_NOEND;
	if (end < MIN_TIMESTAMP)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("session_end, the last event plus the gap, is before the start of the timestamp range.")));
	return end;
}
