/*-------------------------------------------------------------------------
 *
 * user_sessions.c
 *	  Sessions of many users at once, bounded in memory: the engine of
 *	  sessionize() and of the jobs' change capture.
 *
 * See user_sessions.h for what it promises.  Each user's sessions are a
 * SessionRun (session_state.h): events in time order extend the latest
 * session in O(1), others take the slower insertion path.
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
/* How often (in events) the memory in use is checked. */
#define MEMORY_CHECK_INTERVAL	1024

StaticAssertDecl((SPILL_MAX_DEPTH + 1) * SPILL_PARTITION_BITS <= 32,
				 "spill levels must fit in a 32-bit hash");

/* One user and its sessions. */
typedef struct UserEntry
{
	Datum		key;
	uint32		hash;
	char		status;
	SessionRun	run;
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

	/* the current round's table */
	MemoryContext roundcxt;
	userhash_hash *users;
	SessionRun	null_user;
	bool		have_null_user;
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
	memset(&us->null_user, 0, sizeof(SessionRun));
	us->have_null_user = false;
	us->spilling = false;
	us->depth = depth;
	us->until_check = MEMORY_CHECK_INTERVAL;
	memset(us->spill, 0, sizeof(us->spill));
}

UserSessions *
user_sessions_create(Oid user_type, Oid collation, const SessionRule *rule,
					 size_t memory_limit)
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

void
user_sessions_add(UserSessions *us, Datum key, bool keynull, int64 ts)
{
	UserEntry  *entry;

	if (keynull)
	{
		us->have_null_user = true;
		session_run_add(&us->null_user, &us->rule, ts, us->roundcxt);
		return;
	}

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
		uint32		hash = user_hash(us, key);

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

		entry = userhash_insert(us->users, key, &found);
		if (!found)
		{
			if (!us->byval)
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(us->roundcxt);

				entry->key = datumCopy(key, false, us->typlen);
				MemoryContextSwitchTo(oldcxt);
			}
			memset(&entry->run, 0, sizeof(SessionRun));
		}
	}
	session_run_add(&entry->run, &us->rule, ts, us->roundcxt);
}

/* End a round: emit the table and queue its spilled partitions. */
static void
end_round(UserSessions *us, UserSessionsEmit emit, void *arg)
{
	userhash_iterator it;
	UserEntry  *entry;
	int			part;
	int			nspilled = 0;

	userhash_start_iterate(us->users, &it);
	while ((entry = userhash_iterate(us->users, &it)) != NULL)
		emit(arg, entry->key, false, &entry->run);
	if (us->have_null_user)
		emit(arg, (Datum) 0, true, &us->null_user);

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
user_sessions_finish(UserSessions *us, UserSessionsEmit emit, void *arg)
{
	end_round(us, emit, arg);

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
		end_round(us, emit, arg);
	}

	ExecDropSingleTupleTableSlot(us->spillslot);
	MemoryContextDelete(us->cxt);
}
