/*-------------------------------------------------------------------------
 *
 * user_sessions.h
 *	  Sessions of many users at once: a hash table of per-user session runs,
 *	  fed one event at a time, bounded in memory.
 *
 * Events of one user may come in any order and interleaved with other
 * users'.  Memory is bounded like PostgreSQL's hash aggregation: once the
 * table outgrows its limit, events of users not yet in it are written to
 * hash partitions on disk, processed after the rest, each with a fresh table
 * (and partitioned again if need be).  Users already in the table keep
 * accumulating, so every user's events meet in one table, in their original
 * order.  A NULL user is one user, kept apart, never spilled.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/user_sessions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_USER_SESSIONS_H
#define SESSIONIZE_USER_SESSIONS_H

#include "session_state.h"

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
 * memory context; the spill files in the current resource owner.
 *
 * In eager mode a session is emitted as soon as an event of its user in time
 * order starts the next one, so memory holds one session per user, not all
 * of them.  An event that arrives later than sessions already emitted and
 * could join them makes its user "dirty": at the end, replay() must hand
 * back what was emitted, and the dirty users' sessions are emitted again,
 * merged.  Otherwise sessions are emitted by user_sessions_finish().
 */
extern UserSessions *user_sessions_create(Oid user_type, Oid collation,
										  const SessionRule *rule,
										  size_t memory_limit, bool eager,
										  UserSessionsEmit emit,
										  UserSessionsReplay replay, void *arg);
extern void user_sessions_add(UserSessions *us, Datum key, bool keynull, int64 ts);
/* Emit every remaining session (spilled users' too), then free the table. */
extern void user_sessions_finish(UserSessions *us);
/* During replay: true if the table takes the session back (a dirty user's). */
extern bool user_sessions_take_back(UserSessions *us, Datum key, bool keynull,
									const SessionSummary *s);

#endif							/* SESSIONIZE_USER_SESSIONS_H */
