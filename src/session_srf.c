/*-------------------------------------------------------------------------
 *
 * session_srf.c
 *	  sessionize(source, user_column, time_column, gap): one pass over a
 *	  relation that returns one row per session.
 *
 * The rows are read once, in storage order, with no sort.  Each user has a
 * SessionRun (session_state.h) in a hash table: events in time order extend
 * the user's latest session in O(1), out-of-order ones take the slower
 * insertion path.  Memory is bounded like PostgreSQL's own hash aggregation:
 * once the table reaches the hash memory limit (work_mem times
 * hash_mem_multiplier), events of users not yet in the table are written to
 * hash partitions on disk, which are processed one at a time after the
 * first pass, each with a fresh table (and partitioned again if need be).
 * Users already in the table keep accumulating, so every user's events are
 * handled in one table, in their original order.
 *
 * Plain tables, and the leaves of partitioned or inheritance trees, are read
 * with a direct table scan.  Anything else (views, foreign tables, tables
 * under row-level security) is read through SPI, so that the executor
 * applies its rules.  Either way the caller needs SELECT on the relation
 * or on both columns.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_srf.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#if PG_VERSION_NUM < 150000
#include "executor/nodeHash.h"
#endif

#include "session_state.h"

PG_FUNCTION_INFO_V1(sessionize_relation);

/* Hash partitions per spill level, and how many bits of the hash they use. */
#define SPILL_PARTITION_BITS	4
#define SPILL_PARTITIONS		(1 << SPILL_PARTITION_BITS)
/* Past this depth a partition is processed whatever memory it takes. */
#define SPILL_MAX_DEPTH			6
/* Memory of each spill partition's tuplestore before it goes to disk. */
#define SPILL_BUFFER_KB			64
/* How often (in events) the memory in use is checked. */
#define MEMORY_CHECK_INTERVAL	1024
/* Rows fetched per SPI round trip. */
#define SPI_BATCH_ROWS			10000

struct SrfState;

/* One user and its sessions. */
typedef struct UserEntry
{
	Datum		key;
	uint32		hash;
	char		status;
	SessionRun	run;
} UserEntry;

static inline uint32 user_hash(struct SrfState *srf, Datum key);
static inline bool user_equal(struct SrfState *srf, Datum a, Datum b);

#define SH_PREFIX userhash
#define SH_ELEMENT_TYPE UserEntry
#define SH_KEY_TYPE Datum
#define SH_KEY key
#define SH_HASH_KEY(tb, k) user_hash((struct SrfState *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) user_equal((struct SrfState *) (tb)->private_data, a, b)
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

/* Everything one call of sessionize() works with. */
typedef struct SrfState
{
	/* what we read */
	Oid			relid;
	char	   *user_column;
	char	   *time_column;
	Oid			user_type;
	Oid			user_collation;
	int16		user_typlen;
	bool		user_byval;
	bool		int_key;		/* key equality is bitwise: hash it inline */
	FmgrInfo	hash_fn;
	FmgrInfo	eq_fn;
	SessionTimeKind kind;
	SessionRule rule;

	/* the current round's table */
	MemoryContext roundcxt;
	userhash_hash *users;
	SessionRun	null_user;		/* the NULL key, which never spills */
	bool		have_null_user;
	size_t		memory_limit;
	uint32		until_check;
	bool		spilling;
	int			depth;
	Tuplestorestate *spill[SPILL_PARTITIONS];

	/* partitions still to do, and the long-lived context they live in */
	MemoryContext querycxt;
	List	   *pending;
	TupleDesc	spilldesc;
	TupleTableSlot *spillslot;

	/* the result */
	Tuplestorestate *result;
	TupleDesc	resultdesc;
} SrfState;

static inline uint32
user_hash(SrfState *srf, Datum key)
{
	if (srf->int_key)
	{
		uint64		v = (uint64) DatumGetInt64(key);

		return murmurhash32((uint32) (v ^ (v >> 32)));
	}
	return DatumGetUInt32(FunctionCall1Coll(&srf->hash_fn, srf->user_collation, key));
}

static inline bool
user_equal(SrfState *srf, Datum a, Datum b)
{
	if (srf->int_key)
		return a == b;
	return DatumGetBool(FunctionCall2Coll(&srf->eq_fn, srf->user_collation, a, b));
}

/* Start a round: an empty table in a fresh context. */
static void
srf_begin_round(SrfState *srf, int depth)
{
	MemoryContextReset(srf->roundcxt);
	srf->users = userhash_create(srf->roundcxt, 1024, srf);
	memset(&srf->null_user, 0, sizeof(SessionRun));
	srf->have_null_user = false;
	srf->spilling = false;
	srf->depth = depth;
	srf->until_check = MEMORY_CHECK_INTERVAL;
	memset(srf->spill, 0, sizeof(srf->spill));
}

/* Write an event of a user who is not in the table to its partition. */
static void
srf_spill(SrfState *srf, Datum key, uint32 hash, int64 ts)
{
	/*
	 * The high bits pick the partition, so the users of one partition still
	 * spread over the buckets of the next round's table, which uses the low
	 * bits.
	 */
	int			part = (hash >> (32 - (srf->depth + 1) * SPILL_PARTITION_BITS)) &
		(SPILL_PARTITIONS - 1);
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (srf->spill[part] == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(srf->querycxt);

		srf->spill[part] = tuplestore_begin_heap(false, false, SPILL_BUFFER_KB);
		MemoryContextSwitchTo(oldcxt);
	}
	values[0] = key;
	values[1] = Int64GetDatum(ts);
	tuplestore_putvalues(srf->spill[part], srf->spilldesc, values, nulls);
}

/* Add one event.  Rows with a NULL time were filtered out already. */
static inline void
srf_add_event(SrfState *srf, Datum key, bool keynull, int64 ts)
{
	UserEntry  *entry;

	if (keynull)
	{
		srf->have_null_user = true;
		session_run_add(&srf->null_user, &srf->rule, ts, srf->roundcxt);
		return;
	}

	if (--srf->until_check == 0)
	{
		srf->until_check = MEMORY_CHECK_INTERVAL;
		if (!srf->spilling && srf->depth < SPILL_MAX_DEPTH &&
			MemoryContextMemAllocated(srf->roundcxt, true) > srf->memory_limit)
			srf->spilling = true;
		CHECK_FOR_INTERRUPTS();
	}

	if (srf->spilling)
	{
		uint32		hash = user_hash(srf, key);

		entry = userhash_lookup_hash(srf->users, key, hash);
		if (entry == NULL)
		{
			srf_spill(srf, key, hash, ts);
			return;
		}
	}
	else
	{
		bool		found;

		entry = userhash_insert(srf->users, key, &found);
		if (!found)
		{
			if (!srf->user_byval)
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(srf->roundcxt);

				entry->key = datumCopy(key, false, srf->user_typlen);
				MemoryContextSwitchTo(oldcxt);
			}
			memset(&entry->run, 0, sizeof(SessionRun));
		}
	}
	session_run_add(&entry->run, &srf->rule, ts, srf->roundcxt);
}

/* Emit one user's sessions into the result. */
static void
srf_emit_run(SrfState *srf, Datum key, bool keynull, const SessionRun *run)
{
	int32		k;

	for (k = 0; k < run->nsessions; k++)
	{
		const SessionSummary *s = &run->items[k];
		Datum		values[5];
		bool		nulls[5] = {keynull, false, false, false, false};

		values[0] = key;
		values[1] = Int64GetDatum(s->start);
		values[2] = Int64GetDatum(s->last);
		values[3] = Int64GetDatum(session_end_time(srf->kind, s->last, srf->rule.gap));
		values[4] = Int64GetDatum(s->count);
		tuplestore_putvalues(srf->result, srf->resultdesc, values, nulls);
	}
}

/* End a round: emit the table and queue its spilled partitions. */
static void
srf_end_round(SrfState *srf)
{
	userhash_iterator it;
	UserEntry  *entry;
	int			part;
	int			nspilled = 0;

	userhash_start_iterate(srf->users, &it);
	while ((entry = userhash_iterate(srf->users, &it)) != NULL)
		srf_emit_run(srf, entry->key, false, &entry->run);
	if (srf->have_null_user)
		srf_emit_run(srf, (Datum) 0, true, &srf->null_user);

	for (part = 0; part < SPILL_PARTITIONS; part++)
	{
		if (srf->spill[part] != NULL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(srf->querycxt);
			SpillPartition *sp = palloc(sizeof(SpillPartition));

			sp->store = srf->spill[part];
			sp->depth = srf->depth + 1;
			srf->pending = lappend(srf->pending, sp);
			MemoryContextSwitchTo(oldcxt);
			nspilled++;
		}
	}
	if (nspilled > 0)
		elog(DEBUG1, "sessionize: %u users fit in memory at depth %d; the others were spilled to %d partitions",
			 srf->users->members, srf->depth, nspilled);
}

/* Read one table (no children) with a direct scan. */
static void
srf_scan_table(SrfState *srf, Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber	userattno = get_attnum(relid, srf->user_column);
	AttrNumber	timeattno = get_attnum(relid, srf->time_column);
	TableScanDesc scan;
	TupleTableSlot *slot;

	if (userattno <= 0 || timeattno <= 0)
		elog(ERROR, "column missing in relation \"%s\"", RelationGetRelationName(rel));

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		timenull;
		bool		usernull;
		Datum		t = slot_getattr(slot, timeattno, &timenull);
		Datum		u;

		if (timenull)
			continue;
		u = slot_getattr(slot, userattno, &usernull);
		srf_add_event(srf, u, usernull, DatumGetInt64(t));
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/* Read any relation through SPI, so that the executor applies its rules. */
static void
srf_scan_spi(SrfState *srf)
{
	StringInfoData query;
	Portal		portal;
	char	   *nspname = get_namespace_name(get_rel_namespace(srf->relid));
	char	   *relname = get_rel_name(srf->relid);

	initStringInfo(&query);
	appendStringInfo(&query, "SELECT %s, %s FROM %s WHERE %s IS NOT NULL",
					 quote_identifier(srf->user_column),
					 quote_identifier(srf->time_column),
					 quote_qualified_identifier(nspname, relname),
					 quote_identifier(srf->time_column));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, query.data, 0, NULL, NULL, NULL,
									   true, 0);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, SPI_BATCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		usernull;
			bool		timenull;
			Datum		u = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &usernull);
			Datum		t = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &timenull);

			if (!timenull)
				srf_add_event(srf, u, usernull, DatumGetInt64(t));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
}

/* Read a spilled partition back, then drop it. */
static void
srf_scan_spilled(SrfState *srf, SpillPartition *sp)
{
	while (tuplestore_gettupleslot(sp->store, true, false, srf->spillslot))
	{
		bool		isnull;
		Datum		u = slot_getattr(srf->spillslot, 1, &isnull);
		Datum		t = slot_getattr(srf->spillslot, 2, &isnull);

		srf_add_event(srf, u, false, DatumGetInt64(t));
	}
	ExecClearTuple(srf->spillslot);
	tuplestore_end(sp->store);
}

/*
 * Can the relation and all its children be read with direct scans?  Not if
 * row-level security applies, or if any member is not a plain table.
 */
static List *
direct_scan_members(Oid relid)
{
	List	   *members;
	List	   *leaves = NIL;
	ListCell   *lc;

	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		return NIL;

	members = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, members)
	{
		Oid			member = lfirst_oid(lc);
		char		relkind = get_rel_relkind(member);

		if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)
			leaves = lappend_oid(leaves, member);
		else if (relkind != RELKIND_PARTITIONED_TABLE)
			return NIL;
	}
	return leaves;
}

/* Error for a column definition list that does not fit the source. */
static void
check_result_column(TupleDesc desc, int attno, Oid expected, const char *what)
{
	Oid			actual = TupleDescAttr(desc, attno)->atttypid;

	if (actual != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column definition list does not match the sessions of this source"),
				 errdetail("Column %d (%s) is of type %s, but the source gives %s.",
						   attno + 1, what, format_type_be(actual),
						   format_type_be(expected)),
				 errhint("Use AS s(<user> <type of the user column>, session_start <time type>, last_event_at <time type>, session_end <time type>, event_count bigint).")));
}

/* Look up a column of the source by name; it must exist and be readable. */
static AttrNumber
source_column(Oid relid, const char *colname, const char *argname)
{
	AttrNumber	attno = get_attnum(relid, colname);

	if (attno == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, get_rel_name(relid)),
				 errdetail("It was given as %s.", argname)));
	if (attno < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot use system column \"%s\" as %s", colname, argname)));
	return attno;
}

/*
 * sessionize(source regclass, user_column name, time_column name,
 *			  gap interval) RETURNS SETOF record
 */
Datum
sessionize_relation(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SrfState   *srf;
	Oid			relid;
	char		relkind;
	AttrNumber	userattno;
	AttrNumber	timeattno;
	Oid			timetype;
	AclResult	aclresult;
	List	   *leaves;
	ListCell   *lc;
	MemoryContext oldcxt;
	TypeCacheEntry *typentry;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, user_column and time_column must not be null")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gap must not be null")));

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0 ||
		rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("sessionize.sessionize() must be called in FROM with a column definition list"),
				 errhint("Use SELECT * FROM sessionize.sessionize(...) AS s(user_id <type>, session_start timestamptz, last_event_at timestamptz, session_end timestamptz, event_count bigint).")));

	srf = palloc0(sizeof(SrfState));
	relid = PG_GETARG_OID(0);
	srf->relid = relid;
	srf->user_column = NameStr(*PG_GETARG_NAME(1));
	srf->time_column = NameStr(*PG_GETARG_NAME(2));

	/* the relation: lock it, then check what it is and who may read it */
	relkind = get_rel_relkind(relid);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	LockRelationOid(relid, AccessShareLock);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view, materialized view or foreign table",
						get_rel_name(relid))));

	userattno = source_column(relid, srf->user_column, "user_column");
	timeattno = source_column(relid, srf->time_column, "time_column");

	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK &&
		(pg_attribute_aclcheck(relid, userattno, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		 pg_attribute_aclcheck(relid, timeattno, GetUserId(), ACL_SELECT) != ACLCHECK_OK))
		aclcheck_error(aclresult, get_relkind_objtype(relkind), get_rel_name(relid));

	/* the time column and the gap */
	timetype = get_atttype(relid, timeattno);
	if (timetype == TIMESTAMPTZOID)
		srf->kind = SESSION_TIME_TIMESTAMPTZ;
	else if (timetype == TIMESTAMPOID)
		srf->kind = SESSION_TIME_TIMESTAMP;
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" is of type %s, not timestamp with or without time zone",
						srf->time_column, format_type_be(timetype)),
				 errhint("For bigint epoch times, use the window forms or sessionize.sessions() on to_timestamp().")));
	srf->rule.gap = session_interval_to_usec(PG_GETARG_INTERVAL_P(3), "gap");
	srf->rule.infinite_times = true;

	/* the user column: its type must hash, and the result must match */
	{
		int32		typmod;

		get_atttypetypmodcoll(relid, userattno, &srf->user_type, &typmod,
							  &srf->user_collation);
	}
	get_typlenbyval(srf->user_type, &srf->user_typlen, &srf->user_byval);
	typentry = lookup_type_cache(srf->user_type,
								 TYPECACHE_HASH_PROC_FINFO | TYPECACHE_EQ_OPR_FINFO);
	if (!OidIsValid(typentry->hash_proc) || !OidIsValid(typentry->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a hash function for type %s",
						format_type_be(srf->user_type)),
				 errdetail("The user column must be of a type that can be hashed.")));
	fmgr_info_copy(&srf->hash_fn, &typentry->hash_proc_finfo, CurrentMemoryContext);
	fmgr_info_copy(&srf->eq_fn, &typentry->eq_opr_finfo, CurrentMemoryContext);
	srf->int_key = (srf->user_type == INT8OID || srf->user_type == INT4OID ||
					srf->user_type == INT2OID || srf->user_type == OIDOID);

	srf->resultdesc = rsinfo->expectedDesc;
	if (srf->resultdesc->natts != 5)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column definition list must have 5 columns, not %d",
						srf->resultdesc->natts),
				 errhint("Use AS s(<user> <type of the user column>, session_start <time type>, last_event_at <time type>, session_end <time type>, event_count bigint).")));
	check_result_column(srf->resultdesc, 0, srf->user_type, "the user");
	check_result_column(srf->resultdesc, 1, timetype, "session_start");
	check_result_column(srf->resultdesc, 2, timetype, "last_event_at");
	check_result_column(srf->resultdesc, 3, timetype, "session_end");
	check_result_column(srf->resultdesc, 4, INT8OID, "event_count");

	/* memory: the result and the spill files live as long as the query */
	srf->querycxt = rsinfo->econtext->ecxt_per_query_memory;
	oldcxt = MemoryContextSwitchTo(srf->querycxt);
	srf->result = tuplestore_begin_heap(false, false, work_mem);
	srf->spilldesc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(srf->spilldesc, 1, "u", srf->user_type, -1, 0);
	TupleDescInitEntry(srf->spilldesc, 2, "t", INT8OID, -1, 0);
	srf->spillslot = MakeSingleTupleTableSlot(srf->spilldesc, &TTSOpsMinimalTuple);
	MemoryContextSwitchTo(oldcxt);

	srf->roundcxt = AllocSetContextCreate(CurrentMemoryContext,
										  "sessionize users",
										  ALLOCSET_DEFAULT_SIZES);
#if PG_VERSION_NUM >= 150000
	srf->memory_limit = get_hash_memory_limit();
#else
	srf->memory_limit = (size_t) get_hash_mem() * 1024;
#endif

	/* first pass over the source */
	srf_begin_round(srf, 0);
	leaves = direct_scan_members(relid);
	if (leaves != NIL)
	{
		foreach(lc, leaves)
			srf_scan_table(srf, lfirst_oid(lc));
	}
	else
		srf_scan_spi(srf);
	srf_end_round(srf);

	/* then the spilled partitions, each a round of its own */
	while (srf->pending != NIL)
	{
		SpillPartition *sp = (SpillPartition *) linitial(srf->pending);

		srf->pending = list_delete_first(srf->pending);
		srf_begin_round(srf, sp->depth);
		srf_scan_spilled(srf, sp);
		srf_end_round(srf);
	}

	MemoryContextDelete(srf->roundcxt);
	ExecDropSingleTupleTableSlot(srf->spillslot);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = srf->result;
	rsinfo->setDesc = srf->resultdesc;
	return (Datum) 0;
}
