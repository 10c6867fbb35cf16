/*-------------------------------------------------------------------------
 *
 * user_sessions.h
 *	  Sessions of many users at once: a hash table of per-user session runs,
 *	  fed one event at a time, bounded in memory on any input order.
 *
 * Events of one user may come in any order and interleaved with other
 * users'.  Everything the table keeps counts against its memory limit: the
 * users' entries and session runs (however out of order their events), the
 * record of users whose emitted sessions must be merged again, and the
 * buffers of the spill file.  The scheme is PostgreSQL's hash aggregation
 * (nodeAgg.c), extended to per-user state that grows:
 *
 *	- while under the limit, every new user is admitted to the table;
 *	- once over it, no new user is: the events of users not in the table go,
 *	  as compact records (key and time), to one of a number of hash
 *	  partitions chosen from the limit and the memory the users seen so far
 *	  take per event; all partitions are tapes of one logical tape set (one
 *	  temporary file, one buffer block per partition being written);
 *	- if the users in the table still outgrow the limit (a user whose events
 *	  come out of order holds all its sessions), slices of them (by hash,
 *	  whole partitions, each slice in its own memory context) are closed,
 *	  enough to leave a quarter of the limit to grow into: their sessions go
 *	  to their partitions as summaries, their later events follow, and their
 *	  memory is freed at once;
 *	- spilled partitions are processed afterwards, depth first, one at a
 *	  time, each as a round of its own that partitions again only what still
 *	  does not fit;
 *	- one user that alone does not fit (or a partition whose hash bits are
 *	  used up) is sorted by time with tuplesort and merged in one pass.
 *
 * Every user's events thus meet in one round, in their original order, and
 * each spilled event is written and read once when the partitions fit.  A
 * NULL user is one user, like any other.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/user_sessions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_USER_SESSIONS_H
#define SESSIONIZE_USER_SESSIONS_H

#include "common/hashfn.h"
#include "fmgr.h"

#include "session_state.h"

/*
 * How the values of a user type are hashed and told equal: by the type's
 * default hash function and equality under a collation, or inline for
 * by-value integers and oids, whose equality is bitwise.  Every table of
 * users keeps one (user_sessions.c, measures_build.c).
 */
typedef struct UserKeyOps
{
	Oid			collation;
	bool		int_key;		/* key equality is bitwise: hash it inline */
	FmgrInfo	hash_fn;
	FmgrInfo	eq_fn;
} UserKeyOps;

/*
 * Fill *ops for user_type and collation (the functions looked up into cxt);
 * false if the type has no hash function or equality.
 */
extern bool user_key_ops_init(UserKeyOps *ops, Oid user_type, Oid collation,
							  MemoryContext cxt);

static inline uint32
user_key_hash(UserKeyOps *ops, Datum key)
{
	if (ops->int_key)
	{
		uint64		v = (uint64) DatumGetInt64(key);

		return murmurhash32((uint32) (v ^ (v >> 32)));
	}
	return DatumGetUInt32(FunctionCall1Coll(&ops->hash_fn, ops->collation, key));
}

static inline bool
user_key_equal(UserKeyOps *ops, Datum a, Datum b)
{
	if (ops->int_key)
		return a == b;
	return DatumGetBool(FunctionCall2Coll(&ops->eq_fn, ops->collation, a, b));
}

typedef struct UserSessions UserSessions;

/* Receives sessions, one at a time, with their user. */
typedef void (*UserSessionsEmit) (void *arg, Datum key, bool keynull,
								  const SessionSummary *s);

/*
 * In eager mode only: hand every session received so far back through
 * user_sessions_take_back(), keeping those it refuses.
 */
typedef void (*UserSessionsReplay) (void *arg, UserSessions *us);

/*
 * A table for users of type user_type (compared with the given collation).
 * memory_limit 0 means no limit.  Everything lives in a child of the current
 * memory context; the spill file in the current resource owner.
 *
 * In eager mode a session is emitted as soon as an event of its user in time
 * order starts the next one, so memory holds one session per user, not all
 * of them.  An event that arrives later than sessions already emitted and
 * could join them makes its user "dirty": at the end, replay() must hand
 * back what was emitted, and the dirty users' sessions are merged again (in
 * bounded memory too) and emitted.  Otherwise sessions are emitted by
 * user_sessions_finish(), each user's exactly once.
 */
extern UserSessions *user_sessions_create(Oid user_type, Oid collation,
										  const SessionRule *rule,
										  size_t memory_limit, bool eager,
										  UserSessionsEmit emit,
										  UserSessionsReplay replay, void *arg);
/*
 * Optional: about how many events will be added (0: unknown), which helps
 * choose the number of spill partitions.
 */
extern void user_sessions_expect(UserSessions *us, double events);
extern void user_sessions_add(UserSessions *us, Datum key, bool keynull, int64 ts);
/* Emit every remaining session (spilled users' too), then free the table. */
extern void user_sessions_finish(UserSessions *us);

/*
 * During replay: true if the table takes the session back (it may belong to
 * a dirty user).  Taking back a session that needed no merging is harmless.
 */
extern bool user_sessions_take_back(UserSessions *us, Datum key, bool keynull,
									const SessionSummary *s);

#endif							/* SESSIONIZE_USER_SESSIONS_H */
