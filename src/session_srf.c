/*-------------------------------------------------------------------------
 *
 * session_srf.c
 *	  sessionize(source, user_column, time_column, gap): one pass over a
 *	  relation that returns one row per session.  The time column is
 *	  timestamptz or timestamp with an interval gap, or bigint with a bigint
 *	  gap in the same unit.
 *
 * The rows are read once, in storage order, with no sort, into a per-user
 * table of sessions (user_sessions.h) bounded by the hash memory limit
 * (work_mem times hash_mem_multiplier) whatever the order of the rows, as
 * PostgreSQL's own hash aggregation is; the result is a tuplestore bounded
 * by work_mem, as for any set-returning function.
 *
 * Plain tables, and the leaves of partitioned or inheritance trees, are read
 * with a direct table scan.  Anything else (views, foreign tables, tables
 * under row-level security, Citus tables, whose rows are not in the
 * coordinator's heap) is read through SPI, so that the executor applies its
 * rules.  Either way the caller needs SELECT on the relation or on both
 * columns.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_srf.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "session_srf.h"
#include "session_state.h"
#include "user_sessions.h"

PG_FUNCTION_INFO_V1(sessionize_relation);

/* Rows fetched per SPI round trip. */
#define SPI_BATCH_ROWS			10000

/* Progress reports for run_job(), see session_srf.h. */
static int64 progress_job_id = 0;
static int64 progress_every = 0;

void
sessionize_report_progress(int64 job_id, int64 every)
{
	progress_job_id = job_id;
	progress_every = every;
}

/* Everything one call of sessionize() works with. */
typedef struct SrfState
{
	Oid			relid;
	char	   *user_column;
	char	   *time_column;
	SessionTimeKind kind;
	SessionRule rule;
	UserSessions *users;
	Tuplestorestate *result;
	TupleDesc	resultdesc;
	MemoryContext resultcxt;
	int64		rows_read;
} SrfState;

/* Count a row read; every so often, say so if run_job() asked. */
static inline void
srf_count_row(SrfState *srf)
{
	if (unlikely(progress_every > 0) && ++srf->rows_read % progress_every == 0)
		ereport(NOTICE,
				(errmsg("job " INT64_FORMAT ": " INT64_FORMAT " rows of %s read",
						progress_job_id, srf->rows_read, get_rel_name(srf->relid))));
}

/* Write one session into the result. */
static void
srf_emit(void *arg, Datum key, bool keynull, const SessionSummary *s)
{
	SrfState   *srf = (SrfState *) arg;
	Datum		values[5];
	bool		nulls[5] = {keynull, false, false, false, false};

	values[0] = key;
	values[1] = Int64GetDatum(s->start);
	values[2] = Int64GetDatum(s->last);
	values[3] = Int64GetDatum(session_end_time(srf->kind, s->last, srf->rule.gap));
	values[4] = Int64GetDatum(s->count);
	tuplestore_putvalues(srf->result, srf->resultdesc, values, nulls);
}

/*
 * Hand the sessions written so far back to the user table, which keeps
 * those of users whose late events may have joined them; copy the others
 * into a new result.  Needed only when some rows came out of time order.
 */
static void
srf_replay(void *arg, UserSessions *us)
{
	SrfState   *srf = (SrfState *) arg;
	Tuplestorestate *old = srf->result;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(srf->resultdesc, &TTSOpsMinimalTuple);
	MemoryContext oldcxt = MemoryContextSwitchTo(srf->resultcxt);

	srf->result = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(oldcxt);
	while (tuplestore_gettupleslot(old, true, false, slot))
	{
		SessionSummary s;
		bool		keynull;
		bool		isnull;
		Datum		key;

		slot_getallattrs(slot);
		key = slot->tts_values[0];
		keynull = slot->tts_isnull[0];
		s.start = DatumGetInt64(slot->tts_values[1]);
		s.last = DatumGetInt64(slot->tts_values[2]);
		s.count = DatumGetInt64(slot_getattr(slot, 5, &isnull));
		if (!user_sessions_take_back(us, key, keynull, &s))
			tuplestore_puttupleslot(srf->result, slot);
	}
	tuplestore_end(old);
	ExecDropSingleTupleTableSlot(slot);
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
	/* as the executor says it (ExecCheckRelationsScannable) */
	if (!RelationIsPopulated(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("materialized view \"%s\" has not been populated",
						RelationGetRelationName(rel)),
				 errhint("Use the REFRESH MATERIALIZED VIEW command.")));

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		timenull;
		bool		usernull;
		Datum		t = slot_getattr(slot, timeattno, &timenull);
		Datum		u;

		srf_count_row(srf);
		if (timenull)
			continue;
		u = slot_getattr(slot, userattno, &usernull);
		user_sessions_add(srf->users, u, usernull, DatumGetInt64(t));
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

			srf_count_row(srf);
			if (!timenull)
				user_sessions_add(srf->users, u, usernull, DatumGetInt64(t));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
}

/*
 * Citus's catalog of its tables (distributed, reference, Citus-local), if
 * the extension is installed: a table listed there keeps its rows on the
 * worker nodes (or in shards), and the coordinator's own heap is an empty
 * shell that only the executor, as Citus plans it, reads correctly.
 */
static Oid
citus_partition_catalog(void)
{
	if (!OidIsValid(get_extension_oid("citus", true)))
		return InvalidOid;
	return get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
}

/* Is relid listed in Citus's pg_dist_partition (distcatalog)? */
static bool
is_citus_table(Oid distcatalog, Oid relid)
{
	AttrNumber	attno = get_attnum(distcatalog, "logicalrelid");
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	if (attno == InvalidAttrNumber)
		return false;
	rel = table_open(distcatalog, AccessShareLock);
	ScanKeyInit(&key, attno, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Can the relation and all its children be read with direct scans?  Not if
 * row-level security applies, if any member is not a plain table, or if
 * any is a Citus table.
 */
List *
sessionize_direct_scan_members(Oid relid)
{
	List	   *members;
	List	   *leaves = NIL;
	ListCell   *lc;
	Oid			distcatalog;

	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		return NIL;

	distcatalog = citus_partition_catalog();
	members = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, members)
	{
		Oid			member = lfirst_oid(lc);
		char		relkind = get_rel_relkind(member);

		if (OidIsValid(distcatalog) && is_citus_table(distcatalog, member))
			return NIL;
		if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)
			leaves = lappend_oid(leaves, member);
		else if (relkind != RELKIND_PARTITIONED_TABLE)
			return NIL;
	}
	return leaves;
}

Relation
sessionize_open_btree_index(Relation heap, AttrNumber att1, Oid type1, Oid collation1,
							AttrNumber att2, Oid type2, bool ascending2)
{
	Oid			opclass1 = GetDefaultOpClass(type1, BTREE_AM_OID);
	Oid			opclass2 = GetDefaultOpClass(type2, BTREE_AM_OID);
	List	   *indexes;
	ListCell   *lc;
	Relation	found = NULL;

	if (!OidIsValid(opclass1) || !OidIsValid(opclass2))
		return NULL;
	indexes = RelationGetIndexList(heap);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;

		if (form->indisvalid && form->indisready && form->indislive &&
			index->rd_rel->relam == BTREE_AM_OID &&
			form->indnkeyatts >= 2 &&
			form->indkey.values[0] == att1 &&
			form->indkey.values[1] == att2 &&
			RelationGetIndexPredicate(index) == NIL &&
			index->rd_opfamily[0] == get_opclass_family(opclass1) &&
			index->rd_indcollation[0] == collation1 &&
			index->rd_opfamily[1] == get_opclass_family(opclass2) &&
			index->rd_opcintype[1] == type2 &&
			(!ascending2 || (index->rd_indoption[1] & INDOPTION_DESC) == 0))
		{
			found = index;
			break;
		}
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
	return found;
}

/*
 * About how many rows the leaves hold, as the planner would estimate them
 * (0 if unknown): it helps the user table choose its spill partitions.
 */
static double
estimate_rows(List *leaves)
{
	double		total = 0;
	ListCell   *lc;

	foreach(lc, leaves)
	{
		Relation	rel = table_open(lfirst_oid(lc), AccessShareLock);
		BlockNumber pages;
		double		tuples;
		double		allvisfrac;

		estimate_rel_size(rel, NULL, &pages, &tuples, &allvisfrac);
		if (tuples > 0)
			total += tuples;
		table_close(rel, AccessShareLock);
	}
	return total;
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
 * The kind of times of the time column, whose type is timetype, and the
 * gap (argument 3) in its units.  The gap's type must fit the column's: an
 * interval for timestamps, a bigint for bigint epochs (SQLSTATE 42804,
 * naming the right overload).
 */
static void
srf_time_and_gap(FunctionCallInfo fcinfo, SrfState *srf, Oid timetype)
{
	Oid			gaptype = get_fn_expr_argtype(fcinfo->flinfo, 3);

	if (gaptype != INTERVALOID && gaptype != INT8OID)
		elog(ERROR, "unexpected gap type %u", gaptype);

	if (timetype == TIMESTAMPTZOID || timetype == TIMESTAMPOID)
	{
		srf->kind = (timetype == TIMESTAMPTZOID) ?
			SESSION_TIME_TIMESTAMPTZ : SESSION_TIME_TIMESTAMP;
		if (gaptype != INTERVALOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("time column \"%s\" is of type %s, but the gap is a bigint",
							srf->time_column, format_type_be(timetype)),
					 errhint("For timestamp times, give the gap as an interval: sessionize.sessionize(source regclass, user_column name, time_column name, gap interval).")));
		srf->rule.gap = session_interval_to_usec(PG_GETARG_INTERVAL_P(3), "gap");
		srf->rule.infinite_times = true;
	}
	else if (timetype == INT8OID)
	{
		srf->kind = SESSION_TIME_BIGINT;
		if (gaptype != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("time column \"%s\" is of type bigint, but the gap is an interval",
							srf->time_column),
					 errhint("For bigint epoch times, give the gap as a bigint in the same unit: sessionize.sessionize(source regclass, user_column name, time_column name, gap bigint).")));
		srf->rule.gap = session_check_positive_bigint(PG_GETARG_INT64(3), "gap");
		srf->rule.infinite_times = false;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" is of type %s, not timestamp with or without time zone or bigint",
						srf->time_column, format_type_be(timetype)),
				 errhint("The time column must be timestamptz or timestamp (with an interval gap) or bigint epochs (with a bigint gap in the same unit).")));
}

/*
 * sessionize(source regclass, user_column name, time_column name,
 *			  gap interval) RETURNS SETOF record
 * sessionize(source regclass, user_column name, time_column name,
 *			  gap bigint) RETURNS SETOF record
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
	Oid			usertype;
	int32		usertypmod;
	Oid			usercollation;

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
	srf_time_and_gap(fcinfo, srf, timetype);

	/* the user column: its type must match the result's, and hash */
	get_atttypetypmodcoll(relid, userattno, &usertype, &usertypmod, &usercollation);

	srf->resultdesc = rsinfo->expectedDesc;
	if (srf->resultdesc->natts != 5)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column definition list must have 5 columns, not %d",
						srf->resultdesc->natts),
				 errhint("Use AS s(<user> <type of the user column>, session_start <time type>, last_event_at <time type>, session_end <time type>, event_count bigint).")));
	check_result_column(srf->resultdesc, 0, usertype, "the user");
	check_result_column(srf->resultdesc, 1, timetype, "session_start");
	check_result_column(srf->resultdesc, 2, timetype, "last_event_at");
	check_result_column(srf->resultdesc, 3, timetype, "session_end");
	check_result_column(srf->resultdesc, 4, INT8OID, "event_count");

	/* the result lives as long as the query */
	srf->resultcxt = rsinfo->econtext->ecxt_per_query_memory;
	oldcxt = MemoryContextSwitchTo(srf->resultcxt);
	srf->result = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(oldcxt);

	/* eager: a session goes to the result as soon as it is complete */
	srf->users = user_sessions_create(usertype, usercollation, &srf->rule,
									  get_hash_memory_limit(),
									  true, srf_emit, srf_replay, srf);

	leaves = sessionize_direct_scan_members(relid);
	if (leaves != NIL)
	{
		user_sessions_expect(srf->users, estimate_rows(leaves));
		foreach(lc, leaves)
			srf_scan_table(srf, lfirst_oid(lc));
	}
	else
		srf_scan_spi(srf);
	user_sessions_finish(srf->users);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = srf->result;
	rsinfo->setDesc = srf->resultdesc;
	return (Datum) 0;
}
