/*-------------------------------------------------------------------------
 *
 * user_sessions.c
 *	  Sessions of many users at once, bounded in memory: the engine of
 *	  sessionize() and of the jobs' change capture.
 *
 * See user_sessions.h for what it promises and the scheme.  A user's entry
 * holds its latest session inline, so that an event in time order touches
 * only the entry: it extends that session, or ends it (emitting it in eager
 * mode, keeping it in the user's "held" run otherwise) and starts the next.
 * An event out of order moves its user to the held run, a SessionRun
 * (session_state.h), where it takes the slower insertion path.
 *
 * The input is processed in rounds: the first reads what the caller adds,
 * each later one a spilled partition.  A round admits users (ROUND_ADMIT)
 * until the table reaches its limit, then spills (ROUND_SPILL), and may end
 * up sorting its one remaining user (ROUND_SORT).  Only the in-memory path
 * of ROUND_ADMIT is tuned; it is what runs when everything fits.
 *
 * A round's memory: the table's buckets in one context, and the users' keys
 * and held runs in one context per range of hashes (a "slice", up to 16),
 * whose ranges are unions of spill partitions.  Closing the partitions of a
 * slice deletes its context: the memory comes back at once, with nothing
 * copied and no free chunks left behind.
 *
 * Spill records are a flags byte, the key (its bytes; a length first if it
 * is of variable length) and one time for an event, or start, last and
 * count for a summary.  Partitions take the hash's high bits, from the top
 * down as rounds go deeper; the table's buckets use its low bits.
 *
 * Users whose emitted sessions may be joined by later events ("dirty") are
 * remembered in a bitmap indexed by hash: a fixed amount of memory, at the
 * price of merging again a few users that did not need it.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/user_sessions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/tupdesc.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/logtape.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"

#include "user_sessions.h"

/* Events whose buckets are fetched together. */
#define ADD_BATCH				32
/* How often (in records) the memory in use is checked. */
#define MEMORY_CHECK_INTERVAL	1024

/*
 * Partitions per spill, as in nodeAgg.c: at least 4, at most 1024, their
 * write buffers at most a quarter of the limit, and room for half as many
 * users again as the estimate says.
 */
#define MIN_PARTITION_BITS		2
#define MAX_PARTITION_BITS		10
#define PARTITION_FACTOR		1.5

/* The NULL user's hash: partition 0, the last to be closed. */
#define NULL_USER_HASH			0

/* Spill record flags. */
#define REC_EVENT				0x01	/* one time follows, not a summary */
#define REC_NULLKEY				0x02	/* the NULL user: no key follows */
#define REC_EMITTED				0x04	/* the user's sessions before this one
										 * were emitted, and do not join it */

/* Slices of a round's users' memory, see above: at most 16. */
#define MAX_SLICE_BITS			4

/* What the filter of the users in the table may take of the limit. */
#define MEMBER_FILTER_FRACTION	32
#define MEMBER_FILTER_MIN		1024

/* What the dirty-user bitmap may take of the limit. */
#define DIRTY_BITMAP_FRACTION	8
#define DIRTY_BITMAP_MIN		1024
#define DIRTY_BITMAP_MAX		(16 * 1024 * 1024)

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

/*
 * A set of users by hash, as bits: a power of two bytes, a bit clear means
 * no user whose hash maps to it is in the set.  The dirty users and, while
 * a round spills, the users in its table.
 */
typedef struct HashBitmap
{
	uint8	   *bits;			/* NULL: not allocated (yet) */
	Size		size;			/* bytes */
	uint32		mask;			/* size * 8 - 1 */
} HashBitmap;

static inline uint32 user_hash(UserSessions *us, Datum key);
static inline bool user_equal(UserSessions *us, Datum a, Datum b);
static bool table_may_double(UserSessions *us, uint64 size);

/*
 * simplehash doubles a table whose probe runs get long (SH_GROW_MAX_DIB,
 * SH_GROW_MAX_MOVE) once it is a tenth full, whatever its members: with
 * random hashes that happens to a table about 80% full.  Doubling then
 * would take it past the limit (a 6MB table of 100k users becomes a 12MB
 * one), and the round would close every slice to come back under it.  So
 * it may do so only while the doubled table fits; otherwise the table
 * fills up to SH_FILLFACTOR with longer runs.
 */
#define SH_GROW_MIN_FILLFACTOR \
	(table_may_double((UserSessions *) tb->private_data, tb->size) ? 0.1 : 2.0)

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

typedef enum RoundMode
{
	ROUND_ADMIT,				/* new users enter the table */
	ROUND_SPILL,				/* new users, and all users of closed
								 * partitions, go to partitions */
	ROUND_SORT					/* the users that were in memory go to a sort */
} RoundMode;

/* A spilled partition waiting to be processed. */
typedef struct SpillPartition
{
	LogicalTape *tape;
	int			used_bits;		/* hash bits that chose it */
	int64		nrecords;
} SpillPartition;

/* One key's latest session while merging sorted summaries, see end_sort(). */
typedef struct SortGroup
{
	Datum		key;
	bool		keynull;
	SessionSummary cur;
} SortGroup;

struct UserSessions
{
	/* the users */
	Oid			user_type;
	Oid			collation;
	int16		typlen;
	bool		byval;
	UserKeyOps	keys;
	SessionRule rule;

	/* where sessions go */
	bool		eager;			/* the caller's choice */
	bool		emit_early;		/* still emitting eagerly, see give_up_early() */
	UserSessionsEmit emit;
	UserSessionsReplay replay;
	void	   *arg;

	size_t		memory_limit;	/* 0: none */

	/* the current round */
	MemoryContext roundcxt;		/* everything below */
	MemoryContext tablecxt;		/* the table's buckets */
	int			slice_bits;		/* users' memory, by hash: */
	int			slice_shift;
	MemoryContext slices[1 << MAX_SLICE_BITS];	/* created when first used */
	userhash_hash *users;		/* NULL in ROUND_SORT */
	UserEntry	null_user;		/* the NULL user, when in memory */
	bool		have_null_user;
	RoundMode	mode;
	int			used_bits;		/* hash bits that chose this round's input */
	double		round_expected; /* records this round will see, or 0 */
	uint32		until_check;	/* records to the next check, of: */
	uint32		check_interval;
	int64		nchecked;		/* records up to the last check */

	/* events of by-value users not yet added, see flush_batch() */
	int			nbatch;
	Datum		batch_key[ADD_BATCH];
	uint32		batch_hash[ADD_BATCH];
	int64		batch_ts[ADD_BATCH];

	/*
	 * Once the round spills, the users in the table, by hash: a bit clear
	 * means the user is not there (see find_user()).
	 */
	HashBitmap	members;

	/* this round's partitions, once it spills */
	int			npartitions;	/* 0 before */
	int			nopen;			/* partitions [nopen, npartitions) closed,
								 * always whole slices */
	int			shift;			/* partition = (hash >> shift) & (n - 1) */
	int			ntapes;			/* tapes created (each with a buffer) */
	LogicalTape **tapes;
	int64	   *tape_records;

	/* ROUND_SORT: summaries sorted by start, see start_sorting() */
	MemoryContext sortcxt;
	Tuplesortstate *sort;
	TupleDesc	sortdesc;
	TupleTableSlot *sortin;
	TupleTableSlot *sortout;
	bool		sort_all;		/* every user, or only this one: */
	Datum		sort_key;
	bool		sort_keynull;
	uint32		sort_hash;

	/* the spill file, shared by all rounds; partitions to do (a stack) */
	MemoryContext tapecxt;
	LogicalTapeSet *tapeset;
	List	   *pending;
	char	   *keybuf;			/* a key of variable length, read back */
	Size		keybuf_size;

	/* dirty users, see mark_dirty() */
	HashBitmap	dirty;
	bool		null_dirty;
	bool		any_dirty;
	UserSessions *retake;		/* during replay: what is taken back */
	bool		is_retake;

	/* users that emitted sessions early, and how many of them turned dirty */
	int64		nemitters;
	int64		ndirty;

	/* for the DEBUG1 summary */
	int64		nspilled;
	int			nrounds;
	int			max_depth;
	int			nsorted;

	MemoryContext cxt;
};

static void check_memory(UserSessions *us);
static void start_spilling(UserSessions *us);
static void build_member_filter(UserSessions *us);
static void start_sorting(UserSessions *us);
static void add_summary(UserSessions *us, Datum key, bool keynull,
						const SessionSummary *s, bool emitted);

/* ----------------------------------------------------------------------
 * Keys
 * ----------------------------------------------------------------------
 */

static inline uint32
user_hash(UserSessions *us, Datum key)
{
	return user_key_hash(&us->keys, key);
}

static inline bool
user_equal(UserSessions *us, Datum a, Datum b)
{
	return user_key_equal(&us->keys, a, b);
}

bool
user_key_ops_init(UserKeyOps *ops, Oid user_type, Oid collation, MemoryContext cxt)
{
	TypeCacheEntry *typentry = lookup_type_cache(user_type,
												 TYPECACHE_HASH_PROC_FINFO | TYPECACHE_EQ_OPR_FINFO);

	if (!OidIsValid(typentry->hash_proc) || !OidIsValid(typentry->eq_opr))
		return false;
	ops->collation = collation;
	fmgr_info_copy(&ops->hash_fn, &typentry->hash_proc_finfo, cxt);
	fmgr_info_copy(&ops->eq_fn, &typentry->eq_opr_finfo, cxt);
	/* (bigint is passed by reference where Datums are 32 bits) */
	ops->int_key = (user_type == INT8OID || user_type == INT4OID ||
					user_type == INT2OID || user_type == OIDOID) &&
		get_typbyval(user_type);
	return true;
}

/* ----------------------------------------------------------------------
 * Memory accounting
 * ----------------------------------------------------------------------
 */

/* Records this round has seen (counted by the checks' countdown). */
static inline int64
records_seen(UserSessions *us)
{
	return us->nchecked + us->check_interval - us->until_check;
}

/* Ask for a memory check before the next record. */
static inline void
request_check(UserSessions *us)
{
	us->nchecked = records_seen(us);
	us->check_interval = us->until_check = 1;
}

/* Memory held outside the table: the dirty bitmap, the spill file. */
static Size
overhead(UserSessions *us)
{
	Size		o = 0;

	if (us->dirty.bits != NULL)
		o += us->dirty.size;
	if (us->tapeset != NULL)
		o += MemoryContextMemAllocated(us->tapecxt, true);
	/* the write buffers of partitions not written yet */
	if (us->npartitions > us->ntapes)
		o += (Size) (us->npartitions - us->ntapes) * BLCKSZ;
	return o;
}

/*
 * What the table may take: the limit less the overhead, but (as nodeAgg.c
 * does) never less than a quarter of the limit, so that a tiny work_mem
 * still makes progress.
 */
static Size
table_limit(UserSessions *us)
{
	Size		o = overhead(us);

	if (o < us->memory_limit / 4 * 3)
		return us->memory_limit - o;
	return us->memory_limit / 4;
}

static inline Size
table_memory(UserSessions *us)
{
	return MemoryContextMemAllocated(us->roundcxt, true);
}

static inline int
slice_of(UserSessions *us, uint32 hash)
{
	return (int) ((hash >> us->slice_shift) & ((1U << us->slice_bits) - 1));
}

/*
 * The context for the keys and runs of users whose hash is "hash".  Its
 * blocks stay small next to the limit, so that what it has allocated is
 * close to what it uses.
 */
static MemoryContext
user_context(UserSessions *us, uint32 hash)
{
	int			slice = slice_of(us, hash);

	if (unlikely(us->slices[slice] == NULL))
	{
		Size		maxblock = ALLOCSET_DEFAULT_MAXSIZE;
		Size		share = us->memory_limit / (8 << us->slice_bits);

		while (us->memory_limit > 0 && maxblock > ALLOCSET_DEFAULT_INITSIZE &&
			   maxblock > share)
			maxblock >>= 1;
		us->slices[slice] = AllocSetContextCreate(us->roundcxt,
												  "sessionize users' sessions",
												  0, ALLOCSET_SMALL_INITSIZE,
												  maxblock);
	}
	return us->slices[slice];
}

/* Users to size a new table for. */
static uint32
initial_table_size(UserSessions *us)
{
	Size		n = 1024;

	/* at most a sixteenth of the limit (buckets are at most 90% full) */
	if (us->memory_limit > 0)
		n = Min(n, us->memory_limit / (sizeof(UserEntry) * 32));
	return Max(n, 16);
}

/* ----------------------------------------------------------------------
 * Users' state
 * ----------------------------------------------------------------------
 */

/* A bitmap of "want" bytes within [min, max], rounded down to a power of two. */
static void
hash_bitmap_size(HashBitmap *b, Size want, Size min, Size max)
{
	b->bits = NULL;
	b->size = ((Size) 1) << pg_leftmost_one_pos64(Min(Max(want, min), max));
	b->mask = (uint32) (b->size * 8 - 1);
}

static inline void
hash_bitmap_set(HashBitmap *b, uint32 hash)
{
	b->bits[(hash & b->mask) >> 3] |= (uint8) (1 << (hash & 7));
}

static inline bool
hash_bitmap_test(const HashBitmap *b, uint32 hash)
{
	return (b->bits[(hash & b->mask) >> 3] & (1 << (hash & 7))) != 0;
}

/*
 * Remember that the user's emitted sessions must be merged again.  The
 * bitmap is allocated when first needed, with a size fixed by the limit.
 */
static void
set_dirty(UserSessions *us, uint32 hash, bool keynull)
{
	us->any_dirty = true;
	if (keynull)
	{
		us->null_dirty = true;
		return;
	}
	if (us->dirty.bits == NULL)
	{
		us->dirty.bits = MemoryContextAllocZero(us->cxt, us->dirty.size);
		request_check(us);
	}
	hash_bitmap_set(&us->dirty, hash);
}

static void
mark_dirty(UserSessions *us, UserEntry *st, bool keynull)
{
	st->dirty = true;
	us->ndirty++;
	set_dirty(us, st->hash, keynull);
}

static inline bool
is_dirty(UserSessions *us, uint32 hash)
{
	return us->dirty.bits != NULL && hash_bitmap_test(&us->dirty, hash);
}

/* Keep a user's latest session in its held run too. */
static void
hold_all(UserSessions *us, UserEntry *st)
{
	MemoryContext cxt = user_context(us, st->hash);
	int32		capacity;

	if (st->held == NULL)
		st->held = MemoryContextAllocZero(cxt, sizeof(SessionRun));
	capacity = st->held->capacity;
	session_run_append(st->held, st->cur.start, st->cur.last, st->cur.count,
					   cxt);
	if (st->held->capacity != capacity)
		request_check(us);
}

/*
 * The latest session is complete: a later event can no longer join it in
 * order.  Emit it in eager mode when nothing earlier is held, else hold it.
 */
static inline void
state_complete(UserSessions *us, UserEntry *st, bool keynull)
{
	if (us->emit_early && st->held == NULL)
	{
		us->emit(us->arg, st->key, keynull, &st->cur);
		if (!st->emitted)
		{
			st->emitted = true;
			us->nemitters++;
		}
	}
	else
		hold_all(us, st);
}

/*
 * A summary that starts before the user's latest session.  Once sessions
 * were emitted, it may reach them: the user is dirty.  (Whether it really
 * does is not worth 8 more bytes a user.)
 */
static void
state_add_late(UserSessions *us, UserEntry *st, bool keynull,
			   const SessionSummary *s)
{
	int32		capacity;

	if (st->emitted && !st->dirty)
		mark_dirty(us, st, keynull);
	hold_all(us, st);
	capacity = st->held->capacity;
	session_run_add_summary(st->held, &us->rule, s, user_context(us, st->hash));
	if (st->held->capacity != capacity)
		request_check(us);
	st->cur = st->held->items[--st->held->nsessions];
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
		state_complete(us, st, keynull);
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
	else
	{
		SessionSummary s = {ts, ts, 1};

		state_add_late(us, st, keynull, &s);
	}
}

/* The same for a summary (a spilled or taken-back session). */
static void
state_add_summary(UserSessions *us, UserEntry *st, bool keynull,
				  const SessionSummary *s)
{
	SessionSummary *cur = &st->cur;

	if (s->start >= cur->last)
	{
		if (session_joins(&us->rule, cur->last, s->start))
		{
			cur->last = s->last;
			cur->count += s->count;
			return;
		}
		state_complete(us, st, keynull);
		*cur = *s;
		return;
	}
	if (s->start >= cur->start)
	{
		/* overlaps the latest session, which is the last one */
		cur->last = Max(cur->last, s->last);
		cur->count += s->count;
		return;
	}
	state_add_late(us, st, keynull, s);
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

/* A user enters the table: copy its key into the round's memory. */
static inline void
admit(UserSessions *us, UserEntry *entry, Datum key)
{
	if (!us->byval)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(user_context(us, entry->hash));

		entry->key = datumCopy(key, false, us->typlen);
		MemoryContextSwitchTo(oldcxt);
		request_check(us);
	}
}

/* ----------------------------------------------------------------------
 * Spill records
 * ----------------------------------------------------------------------
 */

static inline int
partition_of(UserSessions *us, uint32 hash)
{
	return (int) ((hash >> us->shift) & (uint32) (us->npartitions - 1));
}

/* Write a by-value key's bytes, as fetch_att() will want them back. */
static inline int
put_byval(char *p, Datum key, int16 typlen)
{
	switch (typlen)
	{
		case 1:
			*p = DatumGetChar(key);
			break;
		case 2:
			{
				int16		v = DatumGetInt16(key);

				memcpy(p, &v, 2);
				break;
			}
		case 4:
			{
				int32		v = DatumGetInt32(key);

				memcpy(p, &v, 4);
				break;
			}
		case 8:
			{
				int64		v = DatumGetInt64(key);

				memcpy(p, &v, 8);
				break;
			}
		default:
			elog(ERROR, "unsupported by-value key length %d", typlen);
	}
	return typlen;
}

static inline Datum
get_byval(const char *p, int16 typlen)
{
	switch (typlen)
	{
		case 1:
			return CharGetDatum(*p);
		case 2:
			{
				int16		v;

				memcpy(&v, p, 2);
				return Int16GetDatum(v);
			}
		case 4:
			{
				int32		v;

				memcpy(&v, p, 4);
				return Int32GetDatum(v);
			}
		default:
			{
				int64		v;

				Assert(typlen == 8);
				memcpy(&v, p, 8);
				return Int64GetDatum(v);
			}
	}
}

/* Write a by-reference key: its bytes, a length first if it varies. */
static void
write_key_byref(UserSessions *us, LogicalTape *tape, Datum key)
{
	if (us->typlen > 0)
		LogicalTapeWrite(tape, DatumGetPointer(key), us->typlen);
	else
	{
		Pointer		p = DatumGetPointer(key);
		uint32		len;

		if (us->typlen == -1)
		{
			/* the value itself, not a TOAST pointer; a short header is fine */
			p = (Pointer) PG_DETOAST_DATUM_PACKED(key);
			len = VARSIZE_ANY(p);
		}
		else
			len = strlen(p) + 1;
		LogicalTapeWrite(tape, &len, sizeof(len));
		LogicalTapeWrite(tape, p, len);
		if (p != DatumGetPointer(key))
			pfree(p);
	}
}

/* Send a record to a partition of the current round. */
static void
write_record(UserSessions *us, int part, uint8 flags, Datum key,
			 const SessionSummary *s)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(us->tapecxt);
	LogicalTape *tape = us->tapes[part];
	char		buf[1 + 8 + 3 * sizeof(int64)];
	char	   *p = buf;

	Assert(part >= 0 && part < us->npartitions);
	if (tape == NULL)
	{
		tape = us->tapes[part] = LogicalTapeCreate(us->tapeset);
		us->ntapes++;
	}
	*p++ = (char) flags;
	if (!(flags & REC_NULLKEY))
	{
		if (us->byval)
			p += put_byval(p, key, us->typlen);
		else
		{
			LogicalTapeWrite(tape, buf, p - buf);
			p = buf;
			write_key_byref(us, tape, key);
		}
	}
	memcpy(p, &s->start, sizeof(int64));
	p += sizeof(int64);
	if (!(flags & REC_EVENT))
	{
		memcpy(p, &s->last, sizeof(int64));
		p += sizeof(int64);
		memcpy(p, &s->count, sizeof(int64));
		p += sizeof(int64);
	}
	LogicalTapeWrite(tape, buf, p - buf);
	MemoryContextSwitchTo(oldcxt);
	us->tape_records[part]++;
	us->nspilled++;
}

static void
read_exactly(LogicalTape *tape, void *ptr, size_t size)
{
	if (LogicalTapeRead(tape, ptr, size) != size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("unexpected end of sessionize spill file")));
}

/*
 * Read the next record of a partition; false at its end.  A key of a
 * by-reference type points into keybuf, valid until the next call.
 */
static bool
read_record(UserSessions *us, LogicalTape *tape, uint8 *flags, Datum *key,
			SessionSummary *s)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(us->tapecxt);
	char		buf[8 + 3 * sizeof(int64)];
	char	   *p = buf;
	size_t		n;

	if (LogicalTapeRead(tape, flags, 1) != 1)
	{
		MemoryContextSwitchTo(oldcxt);
		return false;
	}
	n = (*flags & REC_EVENT) ? sizeof(int64) : 3 * sizeof(int64);
	*key = (Datum) 0;
	if (!(*flags & REC_NULLKEY))
	{
		if (us->byval)
			n += us->typlen;
		else
		{
			uint32		len = us->typlen;

			if (us->typlen < 0)
				read_exactly(tape, &len, sizeof(len));
			if (len > us->keybuf_size)
			{
				us->keybuf = repalloc(us->keybuf, len);
				us->keybuf_size = len;
			}
			read_exactly(tape, us->keybuf, len);
			*key = PointerGetDatum(us->keybuf);
		}
	}
	read_exactly(tape, buf, n);
	if (us->byval && !(*flags & REC_NULLKEY))
	{
		*key = get_byval(p, us->typlen);
		p += us->typlen;
	}
	memcpy(&s->start, p, sizeof(int64));
	if (*flags & REC_EVENT)
	{
		s->last = s->start;
		s->count = 1;
	}
	else
	{
		memcpy(&s->last, p + sizeof(int64), sizeof(int64));
		memcpy(&s->count, p + 2 * sizeof(int64), sizeof(int64));
	}
	MemoryContextSwitchTo(oldcxt);
	return true;
}

/*
 * Write a user's whole state to a partition, as summaries in time order.
 * A user whose emitted sessions are all before them carries that fact along
 * (REC_EMITTED, on its first record), so that its later events are judged
 * as they would have been here.
 */
static void
spill_state(UserSessions *us, int part, UserEntry *st, bool keynull)
{
	uint8		flags = keynull ? REC_NULLKEY : 0;

	if (st->emitted && !st->dirty)
		flags |= REC_EMITTED;
	if (st->held != NULL)
	{
		int32		k;

		for (k = 0; k < st->held->nsessions; k++)
		{
			write_record(us, part, flags, st->key, &st->held->items[k]);
			flags &= ~REC_EMITTED;
		}
	}
	write_record(us, part, flags, st->key, &st->cur);
}

/* ----------------------------------------------------------------------
 * Sorting one user (or a partition whose hash bits are used up)
 * ----------------------------------------------------------------------
 */

/* Does a record of this user go to the round's sort? */
static inline bool
sort_takes(UserSessions *us, Datum key, bool keynull, uint32 hash)
{
	if (us->sort_all)
		return true;
	if (keynull || us->sort_keynull)
		return keynull && us->sort_keynull;
	return hash == us->sort_hash && user_equal(us, key, us->sort_key);
}

static void
sort_put(UserSessions *us, Datum key, bool keynull, const SessionSummary *s)
{
	TupleTableSlot *slot = us->sortin;

	ExecClearTuple(slot);
	slot->tts_values[0] = Int64GetDatum(s->start);
	slot->tts_values[1] = Int64GetDatum(s->last);
	slot->tts_values[2] = Int64GetDatum(s->count);
	slot->tts_values[3] = key;
	memset(slot->tts_isnull, false, 4 * sizeof(bool));
	slot->tts_isnull[3] = keynull;
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(us->sort, slot);
}

static void
sort_put_state(UserSessions *us, UserEntry *st, bool keynull)
{
	if (st->emitted && !st->dirty)
		mark_dirty(us, st, keynull);
	if (st->held != NULL)
	{
		int32		k;

		for (k = 0; k < st->held->nsessions; k++)
			sort_put(us, st->key, keynull, &st->held->items[k]);
	}
	sort_put(us, st->key, keynull, &st->cur);
}

/*
 * The users in memory do not fit and partitioning cannot separate them: it
 * is one user, or the round's hash bits are used up.  Move them to a sort
 * by time (which bounds its own memory) and merge them at the end of the
 * round.  Their emitted sessions, if any, will be merged again.
 */
static void
start_sorting(UserSessions *us)
{
	AttrNumber	attno = 1;
	Oid			sortop = Int8LessOperator;
	Oid			collation = InvalidOid;
	bool		nullsfirst = false;
	int			workmem = (int) Min(table_limit(us) / 1024, (Size) (INT_MAX / 2));
	MemoryContext oldcxt;
	userhash_iterator it;
	UserEntry  *entry;

	workmem = Max(workmem, 64);
	us->sortcxt = AllocSetContextCreate(us->cxt, "sessionize sort",
										ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(us->sortcxt);
	us->sortin = MakeSingleTupleTableSlot(us->sortdesc, &TTSOpsVirtual);
	us->sortout = MakeSingleTupleTableSlot(us->sortdesc, &TTSOpsMinimalTuple);
	us->sort = tuplesort_begin_heap(us->sortdesc, 1, &attno, &sortop, &collation,
									&nullsfirst, workmem, NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(oldcxt);

	/* without partitions, everything goes to the sort */
	us->sort_all = (us->npartitions == 0);
	Assert(us->sort_all || us->users->members + us->have_null_user == 1);

	oldcxt = MemoryContextSwitchTo(us->sortcxt);
	userhash_start_iterate(us->users, &it);
	while ((entry = userhash_iterate(us->users, &it)) != NULL)
	{
		if (!us->sort_all)
		{
			us->sort_keynull = false;
			us->sort_hash = entry->hash;
			us->sort_key = entry->key;
			if (!us->byval)
				us->sort_key = datumCopy(entry->key, false, us->typlen);
		}
		sort_put_state(us, entry, false);
	}
	if (us->have_null_user)
	{
		if (!us->sort_all)
		{
			us->sort_keynull = true;
			us->sort_hash = NULL_USER_HASH;
		}
		sort_put_state(us, &us->null_user, true);
		us->have_null_user = false;
	}
	MemoryContextSwitchTo(oldcxt);

	/* (this deletes the table's and the slices' contexts) */
	MemoryContextReset(us->roundcxt);
	memset(us->slices, 0, sizeof(us->slices));
	us->tablecxt = NULL;
	us->users = NULL;
	us->members.bits = NULL;
	us->mode = ROUND_SORT;
	us->nsorted++;
}

/*
 * Merge the sorted summaries and emit the sessions.  They come in start
 * order; keys that share the round's hash (only when its bits are used up)
 * are told apart in a short list.
 */
static void
end_sort(UserSessions *us)
{
	SortGroup  *groups = MemoryContextAlloc(us->sortcxt, sizeof(SortGroup) * 4);
	int			ngroups = 0;
	int			maxgroups = 4;
	int			g;
	uint32		n = 0;

	tuplesort_performsort(us->sort);
	while (tuplesort_gettupleslot(us->sort, true, false, us->sortout, NULL))
	{
		SessionSummary s;
		bool		isnull;
		bool		keynull;
		Datum		key;

		if (++n % MEMORY_CHECK_INTERVAL == 0)
			CHECK_FOR_INTERRUPTS();
		s.start = DatumGetInt64(slot_getattr(us->sortout, 1, &isnull));
		s.last = DatumGetInt64(slot_getattr(us->sortout, 2, &isnull));
		s.count = DatumGetInt64(slot_getattr(us->sortout, 3, &isnull));
		key = slot_getattr(us->sortout, 4, &keynull);

		for (g = 0; g < ngroups; g++)
		{
			if (groups[g].keynull ? keynull :
				(!keynull && user_equal(us, groups[g].key, key)))
				break;
		}
		if (g == ngroups)
		{
			if (ngroups == maxgroups)
			{
				maxgroups *= 2;
				groups = repalloc(groups, sizeof(SortGroup) * maxgroups);
			}
			groups[g].keynull = keynull;
			groups[g].key = (Datum) 0;
			if (!keynull)
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(us->sortcxt);

				groups[g].key = datumCopy(key, us->byval, us->typlen);
				MemoryContextSwitchTo(oldcxt);
			}
			groups[g].cur = s;
			ngroups++;
			continue;
		}
		/* s starts at or after the group's latest session */
		if (session_joins(&us->rule, groups[g].cur.last, s.start))
		{
			groups[g].cur.last = Max(groups[g].cur.last, s.last);
			groups[g].cur.count += s.count;
		}
		else
		{
			us->emit(us->arg, groups[g].key, groups[g].keynull, &groups[g].cur);
			groups[g].cur = s;
		}
	}
	for (g = 0; g < ngroups; g++)
		us->emit(us->arg, groups[g].key, groups[g].keynull, &groups[g].cur);
	tuplesort_end(us->sort);
	MemoryContextDelete(us->sortcxt);
	us->sort = NULL;
	us->sortcxt = NULL;
}

/* ----------------------------------------------------------------------
 * Spilling
 * ----------------------------------------------------------------------
 */

/*
 * How many hash bits the round's partitions take.  Like nodeAgg.c's
 * hash_choose_num_partitions(): enough partitions that each is expected to
 * fit, from the memory the users seen so far take per record and the
 * records still to come; as many as the buffers allow when that is unknown.
 */
static int
choose_partition_bits(UserSessions *us)
{
	double		limit = us->memory_limit;
	double		by_buffers = (limit / 4 - BLCKSZ) / BLCKSZ;
	double		wanted = by_buffers;
	int			bits;

	if (us->round_expected > 0 && records_seen(us) > 0)
	{
		double		seen = records_seen(us);
		double		remaining = Max(us->round_expected - seen, 0);

		wanted = 1 + PARTITION_FACTOR * table_memory(us) * remaining /
			seen / limit;
	}
	wanted = Min(wanted, by_buffers);
	bits = wanted <= 1 ? 0 : pg_ceil_log2_32((uint32) Min(ceil(wanted), 1 << MAX_PARTITION_BITS));
	/* stay within the buffers' budget rather than round past it */
	if (bits > MIN_PARTITION_BITS && (double) (1 << bits) > by_buffers)
		bits--;
	bits = Max(bits, MIN_PARTITION_BITS);
	bits = Min(bits, MAX_PARTITION_BITS);
	/* whole slices close together */
	bits = Max(bits, us->slice_bits);
	return Min(bits, 32 - us->used_bits);
}

/*
 * From now on, most records are of users not in the table (they go to a
 * partition), and looking one up walks to the end of its run of buckets:
 * about 50 of them once the table is 90% full.  A bitmap of the users in
 * the table, by hash, answers most of these at the cost of one bit each.
 * No user joins the table while it spills, so it is built once; users that
 * leave it (closed slices) leave their bits set, which only costs a lookup.
 */
static void
build_member_filter(UserSessions *us)
{
	userhash_iterator it;
	UserEntry  *entry;

	hash_bitmap_size(&us->members, us->memory_limit / MEMBER_FILTER_FRACTION,
					 MEMBER_FILTER_MIN, ((Size) 1) << 29 /* 2^32 bits */ );
	us->members.bits = MemoryContextAllocZero(us->roundcxt, us->members.size);
	userhash_start_iterate(us->users, &it);
	while ((entry = userhash_iterate(us->users, &it)) != NULL)
		hash_bitmap_set(&us->members, entry->hash);
}

static inline bool
may_be_member(UserSessions *us, uint32 hash)
{
	return us->members.bits == NULL || hash_bitmap_test(&us->members, hash);
}

/* Stop admitting users: from now on, new users' events are spilled. */
static void
start_spilling(UserSessions *us)
{
	int			bits;

	Assert(us->mode == ROUND_ADMIT);
	if (us->used_bits >= 32)
	{
		/* nothing left to tell this round's users apart by */
		start_sorting(us);
		return;
	}
	bits = choose_partition_bits(us);
	build_member_filter(us);
	us->npartitions = 1 << bits;
	us->nopen = us->npartitions;
	us->shift = 32 - us->used_bits - bits;
	us->ntapes = 0;
	us->tapes = MemoryContextAllocZero(us->cxt, sizeof(LogicalTape *) * us->npartitions);
	us->tape_records = MemoryContextAllocZero(us->cxt, sizeof(int64) * us->npartitions);
	if (us->tapeset == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(us->tapecxt);

		us->tapeset = LogicalTapeSetCreate(true, NULL, -1);
		MemoryContextSwitchTo(oldcxt);
	}
	us->mode = ROUND_SPILL;
}

/* A new table for the round, in a new context, sized for n users. */
static userhash_hash *
new_table(UserSessions *us, uint32 n)
{
	us->tablecxt = AllocSetContextCreate(us->roundcxt, "sessionize user table",
										 ALLOCSET_SMALL_SIZES);
	return userhash_create(us->tablecxt, Max(n, 16), us);
}

/*
 * After many users left, give their buckets back: move the entries to a
 * table of the right size.  Their keys and runs stay where they are.
 */
static void
shrink_table(UserSessions *us)
{
	MemoryContext oldcxt = us->tablecxt;
	userhash_hash *old = us->users;
	userhash_iterator it;
	UserEntry  *from;

	us->users = new_table(us, old->members);
	userhash_start_iterate(old, &it);
	while ((from = userhash_iterate(old, &it)) != NULL)
	{
		bool		found;
		UserEntry  *entry = userhash_insert_hash(us->users, from->key, from->hash, &found);

		Assert(!found);
		entry->cur = from->cur;
		entry->held = from->held;
		entry->emitted = from->emitted;
		entry->dirty = from->dirty;
	}
	MemoryContextDelete(oldcxt);
}

/*
 * Close the slices [nslices, ...) and their partitions: their users' state
 * goes to the partitions, and so will all their later records; their
 * memory is freed.
 */
static void
close_slices(UserSessions *us, int nslices)
{
	int			per_slice = us->npartitions >> us->slice_bits;
	int			nopen = nslices * per_slice;
	userhash_iterator it;
	UserEntry  *entry;
	int			slice;

	Assert(us->mode == ROUND_SPILL && nopen < us->nopen);
	userhash_start_iterate(us->users, &it);
	while ((entry = userhash_iterate(us->users, &it)) != NULL)
	{
		int			part = partition_of(us, entry->hash);

		if (part >= nopen)
		{
			spill_state(us, part, entry, false);
			userhash_delete_item(us->users, entry);
		}
	}
	if (us->have_null_user && partition_of(us, NULL_USER_HASH) >= nopen)
	{
		spill_state(us, partition_of(us, NULL_USER_HASH), &us->null_user, true);
		us->have_null_user = false;
	}
	for (slice = nslices; slice < (1 << us->slice_bits); slice++)
	{
		if (us->slices[slice] != NULL)
		{
			MemoryContextDelete(us->slices[slice]);
			us->slices[slice] = NULL;
		}
	}
	us->nopen = nopen;
	if (us->users->size > 1024 && us->users->members < us->users->size / 8)
		shrink_table(us);
}

/*
 * How many slices to leave open so that the users in memory take at most
 * "target": from the top down, close as many as that needs (at least one).
 */
static int
slices_to_keep(UserSessions *us, Size target)
{
	Size		kept = MemoryContextMemAllocated(us->tablecxt, true);
	int			nslices = us->nopen / (us->npartitions >> us->slice_bits);
	int			n;

	for (n = 0; n < nslices - 1; n++)
	{
		Size		m = us->slices[n] ? MemoryContextMemAllocated(us->slices[n], true) : 0;

		if (kept + m > target)
			break;
		kept += m;
	}
	return n;
}

/*
 * Bring the table back under its limit: stop admitting users; then close
 * slices, enough to leave a quarter of the limit for the users left to
 * grow; then sort the one user left.
 */
static void
check_memory(UserSessions *us)
{
	if (us->memory_limit == 0)
		return;
	while (us->mode != ROUND_SORT && table_memory(us) > table_limit(us))
	{
		uint32		inmem = us->users->members + (us->have_null_user ? 1 : 0);

		if (us->mode == ROUND_ADMIT)
			start_spilling(us);
		else if (us->nopen == 0)
			return;				/* nothing left in memory to move */
		else if (inmem == 1)
			start_sorting(us);
		else
			close_slices(us, inmem == 0 ? 0 :
						 slices_to_keep(us, table_limit(us) / 4 * 3));
	}
}

/*
 * Emitting a user's sessions early pays when its events come in time order:
 * memory then holds one session per user.  When most users that emitted
 * turned dirty, the input is out of order: emitting early only makes more
 * sessions to merge again, and a dirty user holds its sessions anyway.  So
 * stop, for the rest of the input.  (Users that stay in order then hold
 * their sessions until the end of their round, within the limit.)
 */
static inline void
give_up_early(UserSessions *us)
{
	if (us->emit_early && us->ndirty >= 64 && us->ndirty * 2 >= us->nemitters)
		us->emit_early = false;
}

static void
periodic_check(UserSessions *us)
{
	us->nchecked += us->check_interval;
	us->check_interval = us->until_check = MEMORY_CHECK_INTERVAL;
	CHECK_FOR_INTERRUPTS();
	give_up_early(us);
	check_memory(us);
}

/* May a table of "size" buckets double and stay within the limit? */
static bool
table_may_double(UserSessions *us, uint64 size)
{
	return us->memory_limit == 0 ||
		table_memory(us) + (Size) size * sizeof(UserEntry) <= table_limit(us);
}

static inline bool
table_may_grow(UserSessions *us)
{
	return table_may_double(us, us->users->size);
}

/* ----------------------------------------------------------------------
 * Adding records
 * ----------------------------------------------------------------------
 */

/*
 * Find a user (not NULL) when the fast path does not apply: admit it if the
 * round still may, or send the record to its partition or to the sort and
 * return NULL.  *fresh says the user was just admitted (its state is to be
 * set from the record).
 */
static UserEntry *
find_user(UserSessions *us, Datum key, uint32 hash, uint8 flags,
		  const SessionSummary *s, bool *fresh)
{
	UserEntry  *entry;
	bool		found;
	int			part;

	*fresh = false;
	if (us->mode == ROUND_ADMIT)
	{
		if (us->users->members < us->users->grow_threshold || table_may_grow(us))
		{
			entry = userhash_insert_hash(us->users, key, hash, &found);
			if (!found)
			{
				admit(us, entry, key);
				*fresh = true;
			}
			return entry;
		}
		/* the table is full: only users in it stay */
		entry = userhash_lookup_hash(us->users, key, hash);
		if (entry != NULL)
			return entry;
		start_spilling(us);
		check_memory(us);
	}
	if (us->mode == ROUND_SORT)
	{
		if (sort_takes(us, key, false, hash))
		{
			if (flags & REC_EMITTED)
				set_dirty(us, hash, false);
			sort_put(us, key, false, s);
			return NULL;
		}
		part = partition_of(us, hash);
	}
	else
	{
		part = partition_of(us, hash);
		if (part < us->nopen && may_be_member(us, hash))
		{
			entry = userhash_lookup_hash(us->users, key, hash);
			if (entry != NULL)
				return entry;
		}
	}
	write_record(us, part, flags, key, s);
	return NULL;
}

/* The same for the NULL user. */
static UserEntry *
find_null_user(UserSessions *us, uint8 flags, const SessionSummary *s,
			   bool *fresh)
{
	*fresh = false;
	if (us->have_null_user)
		return &us->null_user;
	if (us->mode == ROUND_ADMIT)
	{
		memset(&us->null_user, 0, sizeof(UserEntry));
		us->null_user.hash = NULL_USER_HASH;
		us->have_null_user = true;
		*fresh = true;
		return &us->null_user;
	}
	if (us->mode == ROUND_SORT && sort_takes(us, (Datum) 0, true, NULL_USER_HASH))
	{
		if (flags & REC_EMITTED)
			set_dirty(us, NULL_USER_HASH, true);
		sort_put(us, (Datum) 0, true, s);
		return NULL;
	}
	write_record(us, partition_of(us, NULL_USER_HASH), flags | REC_NULLKEY,
				 (Datum) 0, s);
	return NULL;
}

/* Add the event of a user (not NULL) whose key hashes to hash. */
static inline void
add_hashed(UserSessions *us, Datum key, uint32 hash, int64 ts)
{
	UserEntry  *entry;
	bool		found;

	if (unlikely(--us->until_check == 0))
		periodic_check(us);

	if (likely(us->mode == ROUND_ADMIT &&
			   us->users->members < us->users->grow_threshold))
	{
		entry = userhash_insert_hash(us->users, key, hash, &found);
		if (!found)
		{
			admit(us, entry, key);
			state_init(entry, ts);
			return;
		}
	}
	else
	{
		SessionSummary s = {ts, ts, 1};
		bool		fresh;

		entry = find_user(us, key, hash, REC_EVENT, &s, &fresh);
		if (entry == NULL)
			return;
		if (fresh)
		{
			state_init(entry, ts);
			return;
		}
	}
	state_add(us, entry, false, ts);
}

static void
add_null(UserSessions *us, int64 ts)
{
	UserEntry  *entry;

	if (unlikely(--us->until_check == 0))
		periodic_check(us);
	if (likely(us->have_null_user))
		state_add(us, &us->null_user, true, ts);
	else
	{
		SessionSummary s = {ts, ts, 1};
		bool		fresh;

		entry = find_null_user(us, REC_EVENT, &s, &fresh);
		if (entry != NULL)
			state_init(entry, ts);
	}
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

	if (likely(us->users != NULL))	/* (not when sorting) */
	{
		for (i = 0; i < us->nbatch; i++)
		{
			us->batch_hash[i] = user_hash(us, us->batch_key[i]);
#if defined(__GNUC__) || defined(__clang__)
			{
				UserEntry  *bucket = &us->users->data[us->batch_hash[i] & us->users->sizemask];

				/* an entry may straddle two cache lines */
				__builtin_prefetch(bucket, 1);
				__builtin_prefetch((char *) bucket + sizeof(UserEntry) - 1, 1);
			}
#endif
		}
	}
	else
	{
		for (i = 0; i < us->nbatch; i++)
			us->batch_hash[i] = user_hash(us, us->batch_key[i]);
	}
	for (i = 0; i < us->nbatch; i++)
		add_hashed(us, us->batch_key[i], us->batch_hash[i], us->batch_ts[i]);
	us->nbatch = 0;
}

void
user_sessions_add(UserSessions *us, Datum key, bool keynull, int64 ts)
{
	if (unlikely(keynull))
	{
		add_null(us, ts);
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
 * Add a summary of one user's events: a session spilled or taken back.
 * "emitted" says that the user's earlier sessions were emitted (and all
 * come before this one, see spill_state()).
 */
static void
add_summary(UserSessions *us, Datum key, bool keynull, const SessionSummary *s,
			bool emitted)
{
	uint8		flags = emitted ? REC_EMITTED : 0;
	UserEntry  *entry;
	bool		fresh;

	/* events batched before it may be this user's */
	flush_batch(us);
	if (--us->until_check == 0)
		periodic_check(us);
	if (keynull)
		entry = find_null_user(us, flags, s, &fresh);
	else
		entry = find_user(us, key, user_hash(us, key), flags, s, &fresh);
	if (entry == NULL)
		return;
	if (fresh)
	{
		entry->held = NULL;
		entry->cur = *s;
		entry->emitted = emitted;
		entry->dirty = false;
		return;
	}
	/* (a user's first record is the only one that carries REC_EMITTED) */
	Assert(!emitted);
	state_add_summary(us, entry, keynull, s);
}

/* ----------------------------------------------------------------------
 * Rounds
 * ----------------------------------------------------------------------
 */

/* Start a round: an empty table in a fresh context. */
static void
begin_round(UserSessions *us, int used_bits, double expected)
{
	MemoryContextReset(us->roundcxt);
	memset(us->slices, 0, sizeof(us->slices));
	/* slices: up to 16, but no more than the spill partitions can be */
	us->slice_bits = 0;
	if (us->memory_limit > 0)
	{
		double		by_buffers = ((double) us->memory_limit / 4 - BLCKSZ) / BLCKSZ;

		us->slice_bits = MIN_PARTITION_BITS;
		while (us->slice_bits < MAX_SLICE_BITS &&
			   (double) (2 << us->slice_bits) <= by_buffers)
			us->slice_bits++;
		us->slice_bits = Min(us->slice_bits, 32 - used_bits);
	}
	us->slice_shift = us->slice_bits > 0 ? 32 - used_bits - us->slice_bits : 0;
	us->users = new_table(us, initial_table_size(us));
	memset(&us->null_user, 0, sizeof(UserEntry));
	us->have_null_user = false;
	us->mode = ROUND_ADMIT;
	us->used_bits = used_bits;
	us->round_expected = expected;
	us->nchecked = 0;
	us->check_interval = us->until_check = MEMORY_CHECK_INTERVAL;
	us->members.bits = NULL;
	us->npartitions = 0;
	us->nopen = 0;
	us->ntapes = 0;
	us->tapes = NULL;
	us->tape_records = NULL;
	us->nrounds++;
}

/* End a round: emit the users in memory and queue its partitions. */
static void
end_round(UserSessions *us)
{
	int			part;

	flush_batch(us);
	if (us->mode == ROUND_SORT)
		end_sort(us);
	else
	{
		userhash_iterator it;
		UserEntry  *entry;

		userhash_start_iterate(us->users, &it);
		while ((entry = userhash_iterate(us->users, &it)) != NULL)
			state_emit(us, entry, false);
		if (us->have_null_user)
			state_emit(us, &us->null_user, true);
	}
	us->have_null_user = false;

	for (part = 0; part < us->npartitions; part++)
	{
		LogicalTape *tape = us->tapes[part];

		if (tape != NULL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(us->tapecxt);
			SpillPartition *sp = palloc(sizeof(SpillPartition));

			/* this frees the write buffer until the partition is read */
			LogicalTapeRewindForRead(tape, BLCKSZ);
			sp->tape = tape;
			sp->used_bits = 32 - us->shift;
			sp->nrecords = us->tape_records[part];
			MemoryContextSwitchTo(us->cxt);
			us->pending = lappend(us->pending, sp);
			MemoryContextSwitchTo(oldcxt);
			us->max_depth = Max(us->max_depth, sp->used_bits);
		}
	}
	if (us->tapes != NULL)
	{
		pfree(us->tapes);
		pfree(us->tape_records);
		us->tapes = NULL;
		us->tape_records = NULL;
	}
	us->npartitions = 0;
	us->ntapes = 0;
}

/* Process a spilled partition as a round of its own. */
static void
process_partition(UserSessions *us, SpillPartition *sp)
{
	uint8		flags;
	Datum		key;
	SessionSummary s;
	MemoryContext oldcxt;

	begin_round(us, sp->used_bits, (double) sp->nrecords);
	while (read_record(us, sp->tape, &flags, &key, &s))
	{
		if (flags & REC_EVENT)
			user_sessions_add(us, key, (flags & REC_NULLKEY) != 0, s.start);
		else
			add_summary(us, key, (flags & REC_NULLKEY) != 0, &s,
						(flags & REC_EMITTED) != 0);
	}
	oldcxt = MemoryContextSwitchTo(us->tapecxt);
	LogicalTapeClose(sp->tape);
	MemoryContextSwitchTo(oldcxt);
	end_round(us);
}

/* ----------------------------------------------------------------------
 * The interface
 * ----------------------------------------------------------------------
 */

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

	us->cxt = cxt;
	us->user_type = user_type;
	us->collation = collation;
	us->rule = *rule;
	us->memory_limit = memory_limit;
	us->eager = eager;
	us->emit_early = eager;
	us->emit = emit;
	us->replay = replay;
	us->arg = arg;
	Assert(!eager || replay != NULL);
	get_typlenbyval(user_type, &us->typlen, &us->byval);
	if (!user_key_ops_init(&us->keys, user_type, collation, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a hash function for type %s",
						format_type_be(user_type)),
				 errdetail("The user column must be of a type that can be hashed.")));

	/* the sort's rows, should one be needed */
	us->sortdesc = CreateTemplateTupleDesc(4);
	TupleDescInitEntry(us->sortdesc, 1, "start", INT8OID, -1, 0);
	TupleDescInitEntry(us->sortdesc, 2, "last", INT8OID, -1, 0);
	TupleDescInitEntry(us->sortdesc, 3, "count", INT8OID, -1, 0);
	TupleDescInitEntry(us->sortdesc, 4, "user", user_type, -1, 0);
	TupleDescInitEntryCollation(us->sortdesc, 4, collation);

	/* the dirty bitmap: an eighth of the limit, a power of two */
	hash_bitmap_size(&us->dirty,
					 memory_limit > 0 ? memory_limit / DIRTY_BITMAP_FRACTION : DIRTY_BITMAP_MAX,
					 DIRTY_BITMAP_MIN, DIRTY_BITMAP_MAX);

	/* small blocks, so that a buffer given back is memory given back */
	us->tapecxt = AllocSetContextCreate(cxt, "sessionize spill",
										ALLOCSET_SMALL_SIZES);
	us->keybuf_size = 64;
	us->keybuf = palloc(us->keybuf_size);
	us->roundcxt = AllocSetContextCreate(cxt, "sessionize round",
										 ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(oldcxt);

	begin_round(us, 0, 0);
	return us;
}

void
user_sessions_expect(UserSessions *us, double events)
{
	/* (it is the first round's input) */
	Assert(us->nrounds == 1);
	us->round_expected = events;
}

bool
user_sessions_take_back(UserSessions *us, Datum key, bool keynull,
						const SessionSummary *s)
{
	Assert(us->retake != NULL);
	if (keynull ? !us->null_dirty : !is_dirty(us, user_hash(us, key)))
		return false;
	add_summary(us->retake, key, keynull, s, false);
	return true;
}

void
user_sessions_finish(UserSessions *us)
{
	end_round(us);

	/* the spilled partitions, last in first out: depth first */
	while (us->pending != NIL)
	{
		SpillPartition *sp = (SpillPartition *) llast(us->pending);

		us->pending = list_delete_last(us->pending);
		process_partition(us, sp);
		pfree(sp);
	}
	if (us->tapeset != NULL)
	{
		LogicalTapeSetClose(us->tapeset);
		us->tapeset = NULL;
	}
	/* the last round's table: its memory goes to what follows */
	MemoryContextReset(us->roundcxt);
	memset(us->slices, 0, sizeof(us->slices));
	us->tablecxt = NULL;
	us->users = NULL;
	/*
	 * What happened, at DEBUG1 in words (the same on every PostgreSQL
	 * version, whose allocators differ), with the counts at DEBUG2.
	 */
	if (us->nspilled > 0 || us->nsorted > 0)
	{
		elog(DEBUG1, "sessionize: %s%s%s",
			 us->is_retake ? "merging again: " : "",
			 us->nspilled > 0 ? "spilled to disk" : "in memory",
			 us->nsorted > 0 ? ", a user sorted on its own" : "");
		elog(DEBUG2, "sessionize: %s" INT64_FORMAT " records spilled, %d rounds, %d hash bits deep, %d sorted%s",
			 us->is_retake ? "merging again: " : "", us->nspilled, us->nrounds,
			 us->max_depth, us->nsorted,
			 us->eager && !us->emit_early ? ", emitting at the end" : "");
	}

	/*
	 * Dirty users: the consumer hands back what was emitted; the sessions of
	 * dirty users are merged again, in a table of their own, and emitted.
	 * The consumer drops what it hands back.
	 */
	if (us->any_dirty)
	{
		size_t		limit = us->memory_limit;

		/* the bitmap stays, to tell which sessions to take back */
		if (limit > 0)
			limit -= Min(limit / 2, us->dirty.size);
		us->retake = user_sessions_create(us->user_type, us->collation,
										  &us->rule, limit, false,
										  us->emit, NULL, us->arg);
		us->retake->is_retake = true;
		us->replay(us->arg, us);
		user_sessions_finish(us->retake);
		us->retake = NULL;
	}

	MemoryContextDelete(us->cxt);
}
