/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  sessionize.capture(): the trigger that logs a job's source changes for
 *	  run_job().
 *
 * For each statement on the source (or on one of its partitions), it reads
 * the transition tables once and writes at most one log row per kind of
 * change: 'i' for the sessions of the inserted rows, 'd' for those of the
 * deleted rows (per user, as arrays), 't' for "rebuild from the source": a
 * TRUNCATE, or a statement that could not be captured.  That is all the
 * work a writer does: no stored session is read, so writers never wait for,
 * or on, the jobs.  An UPDATE logs only rows whose user or time changed:
 * old and new rows are compared pairwise, and an equal pair is dropped from
 * both sides, which leaves the multiset difference unchanged however the
 * rows pair up.
 *
 * Inserted events whose time is below the job's watermark (as the writer's
 * snapshot sees it) are late; their sessions are summarised apart so that
 * the log counts them.
 *
 * Trust.  The only trigger argument is the job id; nothing else of the
 * trigger is believed.  The job's source, columns (by name), user type,
 * gap and owner come from the catalog, and the firing relation must be the
 * source or one of its partitions, whose own column numbers are looked up
 * by name (a partition, or a restored table, may number them differently).
 * The function is not executable by PUBLIC, so only the extension owner
 * (create_job() and the DDL event triggers) attaches it to tables.
 *
 * Writers are never blocked by a job that no longer fits its source: when
 * a column is gone or changed type, or the job owner may no longer read
 * the source, or row-level security applies to the owner (the writer may
 * see rows the owner must not), no row data is logged; a 't' entry makes
 * the next run rebuild from the source as the owner sees it (or fail there,
 * with the reason recorded, until the job is repaired).
 *
 * Firing.  Statement triggers (enabled in origin and local replication
 * roles) capture ordinary writes; under session_replication_role = replica,
 * where logical replication's apply fires only row triggers, row triggers
 * (ENABLE REPLICA) on every leaf relation capture the rows one by one; the
 * TRUNCATE trigger fires always.  Exactly one of them fires for any row.
 *
 * Who may call it: only the trigger manager, for triggers the extension
 * owner created.  As whom it runs: the catalog is read as the writer (the
 * job catalog is readable by PUBLIC); the log row is written as the
 * extension owner, who owns the log, in a security-restricted context with
 * a pinned search_path; the writer needs no privilege on the log, and no
 * code of the job owner or the writer runs there.
 *
 * Version 0.1.0's catalog.  Between installing this library and ALTER
 * EXTENSION sessionize UPDATE, the triggers are those of 0.1.0 (five
 * arguments: job id, log, column numbers, gap) and the catalog has no
 * user_type; writers must not be blocked then.  So on that catalog (and only
 * there) a five-argument trigger is taken too, by its first argument alone;
 * the user type is the source column's, and the log row is written as 0.1.0
 * wrote it: without a gap (the update sets it to the job's gap, with which
 * these entries were summarised), as the job owner, who owns a 0.1.0 log.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/capture.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "job_catalog.h"
#include "security.h"
#include "session_state.h"
#include "user_sessions.h"

PG_FUNCTION_INFO_V1(sessionize_capture);

/* One kind of change of one statement, as the arrays of a log row. */
typedef struct LogArrays
{
	Oid			usertype;
	Oid			timetype;
	ArrayBuildState *users;
	ArrayBuildState *starts;
	ArrayBuildState *lasts;
	ArrayBuildState *counts;
	ArrayBuildState *lates;
	bool		late;			/* are the sessions being emitted late? */
	int64		nsessions;
	MemoryContext cxt;
} LogArrays;

/* What one firing works with. */
typedef struct CaptureState
{
	int64		job_id;
	bool		catalog_0_1_0;	/* the catalog (and log) of version 0.1.0 */
	/* from the catalog */
	Oid			source;
	char	   *user_column;
	char	   *time_column;
	Oid			owner;
	bool		every_update;	/* the job has measures: an update of any
								 * column may change them */
	Oid			timetype;		/* the job's time type: see job_catalog.h */
	bool		have_watermark;
	int64		watermark;		/* job time units */
	SessionRule rule;
	/* the user column, as the catalog says its type is */
	Oid			usertype;
	Oid			usercollation;
	int16		usertyplen;
	bool		userbyval;
	/* column numbers in the firing relation */
	AttrNumber	userattno;
	AttrNumber	timeattno;
	UserSessions *inserted;
	UserSessions *inserted_late;
	UserSessions *deleted;
	LogArrays	inserted_arrays;	/* what the tables above emit into */
	LogArrays	deleted_arrays;
} CaptureState;

static void emit_to_arrays(void *arg, Datum key, bool keynull,
						   const SessionSummary *s);

static size_t
capture_memory_limit(void)
{
	return get_hash_memory_limit();
}

/*
 * A table of sessions for one kind of change; it emits, at the end, into
 * the log row being built (not eagerly: the rows are few, and arrays cannot
 * take sessions back).
 */
static UserSessions *
capture_table(CaptureState *cs, LogArrays *la)
{
	return user_sessions_create(cs->usertype, cs->usercollation, &cs->rule,
								capture_memory_limit(), false,
								emit_to_arrays, NULL, la);
}

/*
 * Read the job from the catalog, as the writer's snapshot sees it.  Returns
 * false when there is no such job (a trigger left behind: it logs nothing).
 * Caller holds an SPI connection.
 */
static bool
read_job(CaptureState *cs)
{
	/*
	 * The job's source, columns, user type, gap (for timestamps), owner,
	 * watermark (0.1.0: a timestamptz, the same int64), whether it has
	 * measures, gap for bigint times and time type.
	 */
	static const char *const job_sql =
		"SELECT j.source, j.user_column, j.time_column, j.user_type, "
		"j.gap, j.owner, s.watermark, "
		"EXISTS (SELECT FROM sessionize.job_measures m WHERE m.job_id OPERATOR(pg_catalog.=) j.job_id), "
		"j.integer_gap, j.time_type::pg_catalog.oid "
		"FROM sessionize.jobs j "
		"JOIN sessionize.job_state s ON s.job_id OPERATOR(pg_catalog.=) j.job_id "
		"WHERE j.job_id OPERATOR(pg_catalog.=) $1";

	/* the same from the 0.1.0 catalog: the user type is the source column's */
	static const char *const job_0_1_0_sql =
		"SELECT j.source, j.user_column, j.time_column, a.atttypid, "
		"j.gap, j.owner, s.watermark, false, NULL::pg_catalog.int8, "
		"'pg_catalog.timestamptz'::pg_catalog.regtype::pg_catalog.oid "
		"FROM sessionize.jobs j "
		"JOIN sessionize.job_state s ON s.job_id OPERATOR(pg_catalog.=) j.job_id "
		"LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) j.source "
		"     AND a.attname OPERATOR(pg_catalog.=) j.user_column "
		"     AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped "
		"WHERE j.job_id OPERATOR(pg_catalog.=) $1";
	static SPIPlanPtr plans[2] = {NULL, NULL};
	int			which = cs->catalog_0_1_0 ? 1 : 0;
	Datum		arg = Int64GetDatum(cs->job_id);
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	if (plans[which] == NULL)
	{
		Oid			argtype = INT8OID;
		SPIPlanPtr	p = SPI_prepare(which ? job_0_1_0_sql : job_sql, 1, &argtype);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the job lookup of sessionize.capture()");
		plans[which] = p;
	}
	if (SPI_execute_plan(plans[which], &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read sessionize job " INT64_FORMAT, cs->job_id);
	if (SPI_processed != 1)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	cs->source = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	cs->user_column = SPI_getvalue(tup, desc, 2);
	cs->time_column = SPI_getvalue(tup, desc, 3);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	/* (0.1.0: a user column that is gone has no type; nothing is captured) */
	cs->usertype = isnull ? InvalidOid : DatumGetObjectId(d);
	cs->timetype = DatumGetObjectId(SPI_getbinval(tup, desc, 10, &isnull));
	if (cs->timetype == INT8OID)
	{
		d = SPI_getbinval(tup, desc, 9, &isnull);
		if (isnull)
			elog(ERROR, "sessionize job " INT64_FORMAT " on bigint times has no integer_gap",
				 cs->job_id);
		cs->rule.gap = session_check_positive_bigint(DatumGetInt64(d), "gap");
		cs->rule.infinite_times = false;
	}
	else
	{
		d = SPI_getbinval(tup, desc, 5, &isnull);
		if (isnull)
			elog(ERROR, "sessionize job " INT64_FORMAT " has no gap", cs->job_id);
		cs->rule.gap = session_interval_to_usec(DatumGetIntervalP(d), "gap");
		cs->rule.infinite_times = true;
	}
	cs->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
	d = SPI_getbinval(tup, desc, 7, &isnull);
	cs->have_watermark = !isnull;
	if (!isnull)
		cs->watermark = DatumGetInt64(d);
	cs->every_update = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
	return true;
}

/* Is relid the job's source or one of its partitions (at any level)? */
static bool
fires_on_source(CaptureState *cs, Oid relid)
{
	if (relid == cs->source)
		return true;
	if (!get_rel_relispartition(relid))
		return false;
	return list_member_oid(get_partition_ancestors(relid), cs->source);
}

/*
 * Find the job's columns in the firing relation, by name.  False when one
 * is gone or is no longer of the type the job was made for.
 */
static bool
resolve_columns(CaptureState *cs, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	tupdesc = RelationGetDescr(rel);

	cs->userattno = get_attnum(relid, cs->user_column);
	cs->timeattno = get_attnum(relid, cs->time_column);
	if (cs->userattno <= 0 || cs->userattno > tupdesc->natts ||
		cs->timeattno <= 0 || cs->timeattno > tupdesc->natts)
		return false;
	if (TupleDescAttr(tupdesc, cs->userattno - 1)->atttypid != cs->usertype ||
		TupleDescAttr(tupdesc, cs->timeattno - 1)->atttypid != cs->timetype)
		return false;
	cs->usercollation = TupleDescAttr(tupdesc, cs->userattno - 1)->attcollation;
	get_typlenbyval(cs->usertype, &cs->usertyplen, &cs->userbyval);
	return true;
}

/*
 * May the job's owner see every row of the source, as the writer does?  It
 * needs SELECT on the source (or on both columns), and no row-level
 * security policy may apply to it.
 */
static bool
owner_sees_all_rows(CaptureState *cs)
{
	if (pg_class_aclcheck(cs->source, cs->owner, ACL_SELECT) != ACLCHECK_OK)
	{
		AttrNumber	u = get_attnum(cs->source, cs->user_column);
		AttrNumber	t = get_attnum(cs->source, cs->time_column);

		if (u <= 0 || t <= 0 ||
			pg_attribute_aclcheck(cs->source, u, cs->owner, ACL_SELECT) != ACLCHECK_OK ||
			pg_attribute_aclcheck(cs->source, t, cs->owner, ACL_SELECT) != ACLCHECK_OK)
			return false;
	}
	return check_enable_rls(cs->source, cs->owner, true) != RLS_ENABLED;
}

/* An inserted row goes to the late or the on-time table. */
static void
add_inserted(CaptureState *cs, Datum u, bool unull, int64 ts)
{
	if (cs->have_watermark && ts < cs->watermark)
	{
		if (cs->inserted_late == NULL)
			cs->inserted_late = capture_table(cs, &cs->inserted_arrays);
		user_sessions_add(cs->inserted_late, u, unull, ts);
	}
	else
	{
		if (cs->inserted == NULL)
			cs->inserted = capture_table(cs, &cs->inserted_arrays);
		user_sessions_add(cs->inserted, u, unull, ts);
	}
}

static void
add_deleted(CaptureState *cs, Datum u, bool unull, int64 ts)
{
	if (cs->deleted == NULL)
		cs->deleted = capture_table(cs, &cs->deleted_arrays);
	user_sessions_add(cs->deleted, u, unull, ts);
}

/*
 * One old and one new version of a row (either may be absent): a pair with
 * the same user and time changes nothing (unless the job has measures,
 * which any column may feed); otherwise the old one is deleted and the new
 * one inserted.
 */
static void
add_change(CaptureState *cs,
		   bool have_old, Datum ou, bool ounull, int64 ot, bool otnull,
		   bool have_new, Datum nu, bool nunull, int64 nt, bool ntnull)
{
	if (have_old && have_new && !cs->every_update && otnull == ntnull && ounull == nunull &&
		(otnull || ot == nt) &&
		(ounull || datumIsEqual(ou, nu, cs->userbyval, cs->usertyplen)))
		return;					/* this row kept its user and time */

	if (have_old && !otnull)
		add_deleted(cs, ou, ounull, ot);
	if (have_new && !ntnull)
		add_inserted(cs, nu, nunull, nt);
}

/* Start reading a transition table from its beginning. */
static bool
open_rows(Tuplestorestate *rows, int *saved_ptr)
{
	int			ptr;

	if (rows == NULL)
		return false;
	ptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(rows, ptr);
	tuplestore_rescan(rows);
	*saved_ptr = ptr;
	return true;
}

static bool
next_row(Tuplestorestate *rows, int ptr, TupleTableSlot *slot, CaptureState *cs,
		 Datum *u, bool *unull, int64 *ts, bool *tnull)
{
	tuplestore_select_read_pointer(rows, ptr);
	if (!tuplestore_gettupleslot(rows, true, false, slot))
		return false;
	*u = slot_getattr(slot, cs->userattno, unull);
	*ts = DatumGetInt64(slot_getattr(slot, cs->timeattno, tnull));
	return true;
}

/* Read the old and new transition tables (either may be NULL) in step. */
static void
capture_rows(CaptureState *cs, TupleDesc tupdesc, Tuplestorestate *oldrows,
			 Tuplestorestate *newrows)
{
	TupleTableSlot *oldslot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);
	TupleTableSlot *newslot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);
	int			oldptr = 0;
	int			newptr = 0;
	bool		more_old = open_rows(oldrows, &oldptr);
	bool		more_new = open_rows(newrows, &newptr);
	uint64		n = 0;

	while (more_old || more_new)
	{
		Datum		ou = 0,
					nu = 0;
		bool		ounull = true,
					nunull = true,
					otnull = true,
					ntnull = true;
		int64		ot = 0,
					nt = 0;

		if (more_old)
			more_old = next_row(oldrows, oldptr, oldslot, cs, &ou, &ounull, &ot, &otnull);
		if (more_new)
			more_new = next_row(newrows, newptr, newslot, cs, &nu, &nunull, &nt, &ntnull);
		add_change(cs, more_old, ou, ounull, ot, otnull, more_new, nu, nunull, nt, ntnull);

		if ((++n & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	if (oldrows)
		tuplestore_select_read_pointer(oldrows, 0);
	if (newrows)
		tuplestore_select_read_pointer(newrows, 0);
	ExecDropSingleTupleTableSlot(oldslot);
	ExecDropSingleTupleTableSlot(newslot);
}

/* A row trigger's old and new row (either may be NULL). */
static void
capture_row(CaptureState *cs, TupleDesc tupdesc, HeapTuple oldtup, HeapTuple newtup)
{
	Datum		ou = 0,
				nu = 0,
				ot = 0,
				nt = 0;
	bool		ounull = true,
				nunull = true,
				otnull = true,
				ntnull = true;

	if (oldtup)
	{
		ou = heap_getattr(oldtup, cs->userattno, tupdesc, &ounull);
		ot = heap_getattr(oldtup, cs->timeattno, tupdesc, &otnull);
	}
	if (newtup)
	{
		nu = heap_getattr(newtup, cs->userattno, tupdesc, &nunull);
		nt = heap_getattr(newtup, cs->timeattno, tupdesc, &ntnull);
	}
	add_change(cs, oldtup != NULL, ou, ounull, DatumGetInt64(ot), otnull,
			   newtup != NULL, nu, nunull, DatumGetInt64(nt), ntnull);
}

/* Collect a session into the log row's arrays. */
static void
emit_to_arrays(void *arg, Datum key, bool keynull, const SessionSummary *s)
{
	LogArrays  *la = (LogArrays *) arg;

	la->users = accumArrayResult(la->users, key, keynull, la->usertype, la->cxt);
	la->starts = accumArrayResult(la->starts, Int64GetDatum(s->start), false,
								  la->timetype, la->cxt);
	la->lasts = accumArrayResult(la->lasts, Int64GetDatum(s->last), false,
								 la->timetype, la->cxt);
	la->counts = accumArrayResult(la->counts, Int64GetDatum(s->count), false,
								  INT8OID, la->cxt);
	la->lates = accumArrayResult(la->lates, Int64GetDatum(la->late ? s->count : 0), false,
								 INT8OID, la->cxt);
	la->nsessions++;
}

/*
 * Write one log row, as the extension owner, who owns the log (the job
 * owner may only read and consume it, so no log entry is forged by anyone
 * but capture).  kind 't' has no arrays.  The log
 * is found by the name create_job() gives it, made from the job id alone;
 * a job without one (being dropped) logs nothing.
 */
static void
write_log_row(CaptureState *cs, char kind, LogArrays *la)
{
	Oid			argtypes[7];
	Datum		values[7];
	char		nulls[7] = "       ";
	char	   *logname = sessionize_job_log_name(cs->job_id);
	Oid			nsp = get_namespace_oid("sessionize", false);
	char	   *sql;
	SessionizeIdentity saved;
	int			ret;

	if (!OidIsValid(get_relname_relid(logname, nsp)))
		return;

	argtypes[0] = CHAROID;
	values[0] = CharGetDatum(kind);
	argtypes[1] = la ? get_array_type(cs->usertype) : InvalidOid;
	argtypes[2] = get_array_type(cs->timetype);
	argtypes[3] = get_array_type(cs->timetype);
	argtypes[4] = INT8ARRAYOID;
	argtypes[5] = INT8ARRAYOID;
	argtypes[6] = INT8OID;
	values[6] = Int64GetDatum(cs->rule.gap);
	if (la == NULL)
	{
		memset(nulls + 1, 'n', 6);
	}
	else
	{
		if (!OidIsValid(argtypes[1]))
			elog(ERROR, "type %s has no array type", format_type_be(cs->usertype));
		values[1] = makeArrayResult(la->users, CurrentMemoryContext);
		values[2] = makeArrayResult(la->starts, CurrentMemoryContext);
		values[3] = makeArrayResult(la->lasts, CurrentMemoryContext);
		values[4] = makeArrayResult(la->counts, CurrentMemoryContext);
		values[5] = makeArrayResult(la->lates, CurrentMemoryContext);
	}

	if (la == NULL)
		sql = psprintf("INSERT INTO sessionize.%s (kind) VALUES ($1)", quote_identifier(logname));
	else if (cs->catalog_0_1_0)
		sql = psprintf("INSERT INTO sessionize.%s (kind, u, lo, hi, n, late) "
					   "VALUES ($1, $2, $3, $4, $5, $6)",
					   quote_identifier(logname));
	else
		sql = psprintf("INSERT INTO sessionize.%s (kind, u, lo, hi, n, late, gap) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7)",
					   quote_identifier(logname));
	/* (a 0.1.0 log belongs to the job owner, who may have put code on it) */
	sessionize_become(cs->catalog_0_1_0 ? cs->owner : sessionize_extension_owner(), true, &saved);
	ret = SPI_execute_with_args(sql, la == NULL ? 1 : cs->catalog_0_1_0 ? 6 : 7,
								argtypes, values, nulls, false, 0);
	sessionize_restore(&saved);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not log changes for sessionize job " INT64_FORMAT, cs->job_id);
}

/* Emit tables of sessions (NULL ones skipped) as one log row of kind. */
static void
log_sessions(CaptureState *cs, char kind, UserSessions *ontime,
			 UserSessions *late, LogArrays *la)
{
	if (ontime != NULL)
	{
		la->late = false;
		user_sessions_finish(ontime);
	}
	if (late != NULL)
	{
		la->late = true;
		user_sessions_finish(late);
	}
	if (la->nsessions > 0)
		write_log_row(cs, kind, la);
}

/*
 * sessionize.capture() RETURNS trigger
 *
 * Trigger argument: the job id.  See the file header for what is checked.
 */
Datum
sessionize_capture(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	TupleDesc	tupdesc;
	CaptureState cs;
	bool		row;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize.capture() was not called by the trigger manager")));
	trigger = trigdata->tg_trigger;
	row = TRIGGER_FIRED_FOR_ROW(trigdata->tg_event);
	memset(&cs, 0, sizeof(cs));
	cs.catalog_0_1_0 = sessionize_catalog_is_0_1_0();
	/* (a trigger of 0.1.0 has five arguments, the first the job id) */
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!(trigger->tgnargs == 1 || (cs.catalog_0_1_0 && trigger->tgnargs == 5)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize.capture() must be fired AFTER, with a job id as its only argument")));

	cs.job_id = pg_strtoint64(trigger->tgargs[0]);
	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!read_job(&cs) || !fires_on_source(&cs, RelationGetRelid(rel)))
	{
		/* a trigger of a dropped job, or on a detached partition */
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
		!resolve_columns(&cs, rel) || !owner_sees_all_rows(&cs))
		write_log_row(&cs, 't', NULL);
	else
	{
		cs.inserted_arrays.usertype = cs.usertype;
		cs.inserted_arrays.timetype = cs.timetype;
		cs.inserted_arrays.cxt = CurrentMemoryContext;
		cs.deleted_arrays = cs.inserted_arrays;
		if (row)
			capture_row(&cs, tupdesc,
						TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? NULL : trigdata->tg_trigtuple,
						TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? trigdata->tg_trigtuple :
						TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : NULL);
		else
			capture_rows(&cs, tupdesc, trigdata->tg_oldtable, trigdata->tg_newtable);
		log_sessions(&cs, 'i', cs.inserted, cs.inserted_late, &cs.inserted_arrays);
		log_sessions(&cs, 'd', cs.deleted, NULL, &cs.deleted_arrays);
	}
	SPI_finish();

	return PointerGetDatum(NULL);
}
