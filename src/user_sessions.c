/*-------------------------------------------------------------------------
 *
 * user_sessions.c
 *	  Sessions of many users at once, bounded in memory: the engine of
 *	  sessionize() and of the jobs' change capture.
 *
 * See user_sessions.h for what it promises.  A user's entry holds its
 * latest session inline, so that an event in time order touches only the
 * entry: it extends that session, or ends it (emitting it in eager mode,
 * keeping it in the user's "held" run otherwise) and starts the next.  An
 * event out of order moves its user to the held run, a SessionRun
 * (session_state.h), where it takes the slower insertion path.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/user_sessions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "user_sessions.h"

/* Hash partitions per spill level, and how many bits of the hash they use. */
#define SPILL_PARTITION_BITS	4
#define SPILL_PARTITIONS		(1 << SPILL_PARTITION_BITS)
/* Past this depth a partition is processed whatever memory it takes. */
#define SPILL_MAX_DEPTH			6
/* Memory of each spill partition's tuplestore before it goes to disk. */
#define SPILL_BUFFER_KB			64
/* Events whose buckets are fetched together. */
#define ADD_BATCH				32
/* How often (in events) the memory in use is checked. */
#define MEMORY_CHECK_INTERVAL	1024

StaticAssertDecl((SPILL_MAX_DEPTH + 1) * SPILL_PARTITION_BITS <= 32,
				 "spill levels must fit in a 32-bit hash");

/*
 * What we keep of one user: 48 bytes, so that 100k users fit in the default
 * hash memory limit (8MB).  The NULL user uses one too, outside the table.
 */
typedef struct UserEntry
{
	Datum		key;
	SessionSummary cur;			/* the latest session */
	SessionRun *held;			/* earlier sessions not emitted, or NULL */
	uint32		hash;
	char		status;			/* simplehash's */
	bool		emitted;		/* has any session been emitted? */
	bool		dirty;			/* may an event have joined emitted sessions? */
} UserEntry;

static inline uint32 user_hash(UserSessions *us, Datum key);
static inline bool user_equal(UserSessions *us, Datum a, Datum b);

#define SH_PREFIX userhash
#define SH_ELEMENT_TYPE UserEntry
#define SH_KEY_TYPE Datum
#define SH_KEY key
#define SH_HASH_KEY(tb, k) user_hash((UserSessions *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) user_equal((UserSessions *) (tb)->private_data, a, b)
#define SH_SCOPE static inline
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) (a)->hash
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/* A spilled partition waiting to be processed. */
typedef struct SpillPartition
{
	Tuplestorestate *store;
	int			depth;
} SpillPartition;

struct UserSessions
{
	/* the users */
	Oid			user_type;
	Oid			collation;
	int16		typlen;
	bool		byval;
	bool		int_key;		/* key equality is bitwise: hash it inline */
	FmgrInfo	hash_fn;
	FmgrInfo	eq_fn;
	SessionRule rule;

	/* where sessions go */
	bool		eager;
	UserSessionsEmit emit;
	UserSessionsReplay replay;
	void	   *arg;

	/* the current round's table */
	MemoryContext roundcxt;
	userhash_hash *users;
	UserEntry	null_user;		/* the NULL user, never spilled */
	bool		have_null_user;
	SessionRun *null_user_dirty;	/* its sessions for the replay, if dirty */

	/* events of by-value users not yet added, see flush_batch() */
	int			nbatch;
	Datum		batch_key[ADD_BATCH];
	uint32		batch_hash[ADD_BATCH];
	int64		batch_ts[ADD_BATCH];

	/* dirty users of finished rounds, kept for the replay */
	userhash_hash *dirty;
	bool		any_dirty;
	size_t		memory_limit;
	uint32		until_check;
	bool		spilling;
	int			depth;
	Tuplestorestate *spill[SPILL_PARTITIONS];

	/* what outlives a round: partitions still to do, their tuple shape */
	MemoryContext cxt;
	List	   *pending;
	TupleDesc	spilldesc;
	TupleTableSlot *spillslot;
};

/* Keep a user's latest session in its held run too. */
static void
hold_all(UserEntry *st, MemoryContext cxt)
{
	if (st->held == NULL)
		st->held = MemoryContextAllocZero(cxt, sizeof(SessionRun));
	session_run_append(st->held, st->cur.start, st->cur.last, st->cur.count, cxt);
}

/*
 * Add an event to a user's state.  The user exists already (cur is valid).
 */
static inline void
state_add(UserSessions *us, UserEntry *st, bool keynull, int64 ts)
{
	SessionSummary *cur = &st->cur;

	if (likely(ts >= cur->last))
	{
		if (session_joins(&us->rule, cur->last, ts))
		{
			cur->last = ts;
			cur->count++;
			return;
		}
		/* cur is complete: a later event can no longer join it in order */
		if (us->eager && st->held == NULL)
		{
			us->emit(us->arg, st->key, keynull, cur);
			st->emitted = true;
		}
		else
			hold_all(st, us->roundcxt);
		cur->start = ts;
		cur->last = ts;
		cur->count = 1;
		return;
	}
	if (ts >= cur->start)
	{
		cur->count++;
		return;
	}

	/*
	 * Out of order.  Once sessions were emitted, the event may reach them:
	 * the user is dirty, and its emitted sessions will be merged again at
	 * the end.  (Whether it really does is not worth 8 more bytes a user.)
	 */
	if (st->emitted)
		st->dirty = true;
	hold_all(st, us->roundcxt);
	session_run_add_slow(st->held, &us->rule, ts, us->roundcxt);
	st->cur = st->held->items[--st->held->nsessions];
}

static inline void
state_init(UserEntry *st, int64 ts)
{
	st->held = NULL;
	st->emitted = false;
	st->dirty = false;
	st->cur.start = ts;
	st->cur.last = ts;
	st->cur.count = 1;
}

/* Emit a user's remaining sessions: held ones, then the latest. */
static void
state_emit(UserSessions *us, UserEntry *st, bool keynull)
{
	if (st->held != NULL)
	{
		int32		k;

		for (k = 0; k < st->held->nsessions; k++)
			us->emit(us->arg, st->key, keynull, &st->held->items[k]);
	}
	us->emit(us->arg, st->key, keynull, &st->cur);
}

static inline uint32
user_hash(UserSessions *us, Datum key)
{
	if (us->int_key)
	{
		uint64		v = (uint64) DatumGetInt64(key);

		return murmurhash32((uint32) (v ^ (v >> 32)));
	}
	return DatumGetUInt32(FunctionCall1Coll(&us->hash_fn, us->collation, key));
}

static inline bool
user_equal(UserSessions *us, Datum a, Datum b)
{
	if (us->int_key)
		return a == b;
	return DatumGetBool(FunctionCall2Coll(&us->eq_fn, us->collation, a, b));
}

/* Start a round: an empty table in a fresh context. */
static void
begin_round(UserSessions *us, int depth)
{
	MemoryContextReset(us->roundcxt);
	us->users = userhash_create(us->roundcxt, 1024, us);
	memset(&us->null_user, 0, sizeof(UserEntry));
	us->have_null_user = false;
	us->spilling = false;
	us->depth = depth;
	us->until_check = MEMORY_CHECK_INTERVAL;
	memset(us->spill, 0, sizeof(us->spill));
}

UserSessions *
user_sessions_create(Oid user_type, Oid collation, const SessionRule *rule,
					 size_t memory_limit, bool eager, UserSessionsEmit emit,
					 UserSessionsReplay replay, void *arg)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "sessionize users",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	UserSessions *us = palloc0(sizeof(UserSessions));
	TypeCacheEntry *typentry;

	us->cxt = cxt;
	us->user_type = user_type;
	us->collation = collation;
	us->rule = *rule;
	us->memory_limit = memory_limit;
	us->eager = eager;
	us->emit = emit;
	us->replay = replay;
	us->arg = arg;
	Assert(!eager || replay != NULL);
	get_typlenbyval(user_type, &us->typlen, &us->byval);
	typentry = lookup_type_cache(user_type,
								 TYPECACHE_HASH_PROC_FINFO | TYPECACHE_EQ_OPR_FINFO);
	if (!OidIsValid(typentry->hash_proc) || !OidIsValid(typentry->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a hash function for type %s",
						format_type_be(user_type)),
				 errdetail("The user column must be of a type that can be hashed.")));
	fmgr_info_copy(&us->hash_fn, &typentry->hash_proc_finfo, cxt);
	fmgr_info_copy(&us->eq_fn, &typentry->eq_opr_finfo, cxt);
	us->int_key = (user_type == INT8OID || user_type == INT4OID ||
				   user_type == INT2OID || user_type == OIDOID);

	us->spilldesc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(us->spilldesc, 1, "u", user_type, -1, 0);
	TupleDescInitEntry(us->spilldesc, 2, "t", INT8OID, -1, 0);
	us->spillslot = MakeSingleTupleTableSlot(us->spilldesc, &TTSOpsMinimalTuple);
	us->roundcxt = AllocSetContextCreate(cxt, "sessionize user table",
										 ALLOCSET_DEFAULT_SIZES);
	us->dirty = userhash_create(cxt, 64, us);
	MemoryContextSwitchTo(oldcxt);

	begin_round(us, 0);
	return us;
}

/* Write an event of a user who is not in the table to its partition. */
static void
spill_event(UserSessions *us, Datum key, uint32 hash, int64 ts)
{
	/*
	 * The high bits pick the partition, so the users of one partition still
	 * spread over the buckets of the next round's table, which uses the low
	 * bits.
	 */
	int			part = (hash >> (32 - (us->depth + 1) * SPILL_PARTITION_BITS)) &
		(SPILL_PARTITIONS - 1);
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (us->spill[part] == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(us->cxt);

		us->spill[part] = tuplestore_begin_heap(false, false, SPILL_BUFFER_KB);
		MemoryContextSwitchTo(oldcxt);
	}
	values[0] = key;
	values[1] = Int64GetDatum(ts);
	tuplestore_putvalues(us->spill[part], us->spilldesc, values, nulls);
}

/* Add the event of a user (not NULL) whose key hashes to hash. */
static void
add_hashed(UserSessions *us, Datum key, uint32 hash, int64 ts)
{
	UserEntry  *entry;

	if (--us->until_check == 0)
	{
		us->until_check = MEMORY_CHECK_INTERVAL;
		if (!us->spilling && us->memory_limit > 0 && us->depth < SPILL_MAX_DEPTH &&
			MemoryContextMemAllocated(us->roundcxt, true) > us->memory_limit)
			us->spilling = true;
		CHECK_FOR_INTERRUPTS();
	}

	if (us->spilling)
	{
		entry = userhash_lookup_hash(us->users, key, hash);
		if (entry == NULL)
		{
			spill_event(us, key, hash, ts);
			return;
		}
	}
	else
	{
		bool		found;

		entry = userhash_insert_hash(us->users, key, hash, &found);
		if (!found)
		{
			if (!us->byval)
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(us->roundcxt);

				entry->key = datumCopy(key, false, us->typlen);
				MemoryContextSwitchTo(oldcxt);
			}
			state_init(entry, ts);
			return;
		}
	}
	state_add(us, entry, false, ts);
}

/*
 * Add the batched events.  The table is far larger than the CPU's caches
 * and every event lands in a random bucket, so we first compute the
 * buckets and ask for them all, then visit them: the cache misses overlap
 * instead of following one another.  Order within a user is kept.
 */
static void
flush_batch(UserSessions *us)
{
	int			i;

	for (i = 0; i < us->nbatch; i++)
	{
		UserEntry  *bucket;

		us->batch_hash[i] = user_hash(us, us->batch_key[i]);
		bucket = &us->users->data[us->batch_hash[i] & us->users->sizemask];
#if defined(__GNUC__) || defined(__clang__)
		/* an entry may straddle two cache lines */
		__builtin_prefetch(bucket, 1);
		__builtin_prefetch((char *) bucket + sizeof(UserEntry) - 1, 1);
#endif
	}
	for (i = 0; i < us->nbatch; i++)
		add_hashed(us, us->batch_key[i], us->batch_hash[i], us->batch_ts[i]);
	us->nbatch = 0;
}

void
user_sessions_add(UserSessions *us, Datum key, bool keynull, int64 ts)
{
	if (keynull)
	{
		if (us->have_null_user)
			state_add(us, &us->null_user, true, ts);
		else
		{
			state_init(&us->null_user, ts);
			us->have_null_user = true;
		}
		return;
	}
	if (!us->byval)
	{
		/* the key may point into a buffer page that goes away: no batching */
		add_hashed(us, key, user_hash(us, key), ts);
		return;
	}
	us->batch_key[us->nbatch] = key;
	us->batch_ts[us->nbatch] = ts;
	if (++us->nbatch == ADD_BATCH)
		flush_batch(us);
}

/*
 * Keep a dirty user for the replay, in the long-lived table: its key and
 * all its sessions not emitted yet.
 */
static void
keep_dirty(UserSessions *us, Datum key, UserEntry *st)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(us->cxt);
	bool		found;
	UserEntry  *d = userhash_insert(us->dirty, key, &found);

	Assert(!found);
	if (!us->byval)
		d->key = datumCopy(key, false, us->typlen);
	d->held = palloc0(sizeof(SessionRun));
	if (st->held != NULL)
	{
		int32		k;

		for (k = 0; k < st->held->nsessions; k++)
			session_run_append(d->held, st->held->items[k].start,
							   st->held->items[k].last, st->held->items[k].count,
							   us->cxt);
	}
	session_run_add_summary(d->held, &us->rule, &st->cur, us->cxt);
	us->any_dirty = true;
	MemoryContextSwitchTo(oldcxt);
}

bool
user_sessions_take_back(UserSessions *us, Datum key, bool keynull,
						const SessionSummary *s)
{
	SessionRun *run;

	if (keynull)
	{
		if (us->null_user_dirty == NULL)
			return false;
		run = us->null_user_dirty;
	}
	else
	{
		UserEntry  *d = userhash_lookup(us->dirty, key);

		if (d == NULL)
			return false;
		run = d->held;
	}
	session_run_add_summary(run, &us->rule, s, us->cxt);
	return true;
}

/* End a round: emit the table and queue its spilled partitions. */
static void
end_round(UserSessions *us)
{
	userhash_iterator it;
	UserEntry  *entry;
	int			part;
	int			nspilled = 0;

	flush_batch(us);
	userhash_start_iterate(us->users, &it);
	while ((entry = userhash_iterate(us->users, &it)) != NULL)
	{
		if (entry->dirty)
			keep_dirty(us, entry->key, entry);
		else
			state_emit(us, entry, false);
	}

	for (part = 0; part < SPILL_PARTITIONS; part++)
	{
		if (us->spill[part] != NULL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(us->cxt);
			SpillPartition *sp = palloc(sizeof(SpillPartition));

			sp->store = us->spill[part];
			sp->depth = us->depth + 1;
			us->pending = lappend(us->pending, sp);
			MemoryContextSwitchTo(oldcxt);
			nspilled++;
		}
	}
	if (nspilled > 0)
		elog(DEBUG1, "sessionize: %u users fit in memory at depth %d; the others were spilled to %d partitions",
			 us->users->members, us->depth, nspilled);
}

void
user_sessions_finish(UserSessions *us)
{
	userhash_iterator it;
	UserEntry  *entry;

	/* the NULL user was never spilled: it has seen all its events */
	if (us->have_null_user)
	{
		UserEntry  *st = &us->null_user;

		if (st->dirty)
		{
			/* its sessions not emitted yet, kept past this round */
			SessionRun *run = MemoryContextAllocZero(us->cxt, sizeof(SessionRun));
			int32		k;

			for (k = 0; st->held != NULL && k < st->held->nsessions; k++)
				session_run_add_summary(run, &us->rule, &st->held->items[k], us->cxt);
			session_run_add_summary(run, &us->rule, &st->cur, us->cxt);
			us->null_user_dirty = run;
			us->any_dirty = true;
		}
		else
			state_emit(us, st, true);
		us->have_null_user = false;
	}
	end_round(us);

	/* the spilled partitions, each a round of its own */
	while (us->pending != NIL)
	{
		SpillPartition *sp = (SpillPartition *) linitial(us->pending);

		us->pending = list_delete_first(us->pending);
		begin_round(us, sp->depth);
		while (tuplestore_gettupleslot(sp->store, true, false, us->spillslot))
		{
			bool		isnull;
			Datum		u = slot_getattr(us->spillslot, 1, &isnull);
			Datum		t = slot_getattr(us->spillslot, 2, &isnull);

			user_sessions_add(us, u, false, DatumGetInt64(t));
		}
		ExecClearTuple(us->spillslot);
		tuplestore_end(sp->store);
		end_round(us);
	}

	/*
	 * Dirty users: take back what was emitted of them, merge, emit again.
	 * The consumer drops what it hands back.
	 */
	if (us->any_dirty)
	{
		us->replay(us->arg, us);
		userhash_start_iterate(us->dirty, &it);
		while ((entry = userhash_iterate(us->dirty, &it)) != NULL)
		{
			int32		k;

			for (k = 0; k < entry->held->nsessions; k++)
				us->emit(us->arg, entry->key, false, &entry->held->items[k]);
		}
		if (us->null_user_dirty != NULL)
		{
			int32		k;

			for (k = 0; k < us->null_user_dirty->nsessions; k++)
				us->emit(us->arg, (Datum) 0, true, &us->null_user_dirty->items[k]);
		}
	}

	ExecDropSingleTupleTableSlot(us->spillslot);
	MemoryContextDelete(us->cxt);
}
