/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  sessionize.capture(): the statement-level trigger that logs a job's
 *	  source changes for run_job().
 *
 * For each statement on the source, it reads the transition tables once and
 * writes at most one log row per kind of change: 'i' for the sessions of the
 * inserted rows, 'd' for those of the deleted rows (per user, as arrays),
 * 't' for a TRUNCATE.  That is all the work a writer does: no stored session
 * is read, so writers never wait for, or on, the jobs.  An UPDATE logs only
 * rows whose user or time changed: old and new rows are compared pairwise,
 * and an equal pair is dropped from both sides, which leaves the multiset
 * difference unchanged however the rows pair up.
 *
 * Inserted events whose time is below the job's watermark (as the writer's
 * snapshot sees it) are late; their sessions are summarised apart so that
 * the log counts them.
 *
 * Trigger arguments: job id, log table (qualified), user column number,
 * time column number, gap in microseconds.  The log row is written as the
 * job owner, who owns the log; the writer needs no privilege on it.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/capture.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#if PG_VERSION_NUM < 150000
#include "executor/nodeHash.h"
#endif

#include "security.h"
#include "session_state.h"
#include "user_sessions.h"

PG_FUNCTION_INFO_V1(sessionize_capture);

/* One kind of change of one statement, as the arrays of a log row. */
typedef struct LogArrays
{
	Oid			usertype;
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
	char	   *log_name;
	AttrNumber	userattno;
	AttrNumber	timeattno;
	SessionRule rule;
	Oid			usertype;
	Oid			usercollation;
	int16		usertyplen;
	bool		userbyval;
	Oid			owner;
	bool		have_watermark;
	TimestampTz watermark;
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
#if PG_VERSION_NUM >= 150000
	return get_hash_memory_limit();
#else
	return (size_t) get_hash_mem() * 1024;
#endif
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

/* The job's owner and watermark, as the writer's snapshot sees them. */
static void
read_job(CaptureState *cs)
{
	static SPIPlanPtr plan = NULL;
	Datum		arg = Int64GetDatum(cs->job_id);
	bool		isnull;
	Datum		d;

	if (plan == NULL)
	{
		Oid			argtype = INT8OID;
		SPIPlanPtr	p = SPI_prepare("SELECT j.owner, s.watermark FROM sessionize.jobs j "
									"JOIN sessionize.job_state s ON s.job_id OPERATOR(pg_catalog.=) j.job_id "
									"WHERE j.job_id OPERATOR(pg_catalog.=) $1",
									1, &argtype);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the job lookup of sessionize.capture()");
		plan = p;
	}
	if (SPI_execute_plan(plan, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read sessionize job " INT64_FORMAT, cs->job_id);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sessionize job " INT64_FORMAT " does not exist", cs->job_id),
				 errhint("Drop the trigger %s, left behind by a dropped job.",
						 "sessionize_job_<id>_*")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	cs->owner = DatumGetObjectId(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	cs->have_watermark = !isnull;
	if (!isnull)
		cs->watermark = DatumGetTimestampTz(d);
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

/*
 * Read the old and new transition tables (either may be NULL) in step.
 * A pair with the same user and time changes nothing and is skipped.
 */
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

		if (more_old && more_new && otnull == ntnull && ounull == nunull &&
			(otnull || ot == nt) &&
			(ounull || datumIsEqual(ou, nu, cs->userbyval, cs->usertyplen)))
			continue;			/* this row kept its user and time */

		if (more_old && !otnull)
			add_deleted(cs, ou, ounull, ot);
		if (more_new && !ntnull)
			add_inserted(cs, nu, nunull, nt);

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

/* Collect a session into the log row's arrays. */
static void
emit_to_arrays(void *arg, Datum key, bool keynull, const SessionSummary *s)
{
	LogArrays  *la = (LogArrays *) arg;

	la->users = accumArrayResult(la->users, key, keynull, la->usertype, la->cxt);
	la->starts = accumArrayResult(la->starts, TimestampTzGetDatum(s->start), false,
								  TIMESTAMPTZOID, la->cxt);
	la->lasts = accumArrayResult(la->lasts, TimestampTzGetDatum(s->last), false,
								 TIMESTAMPTZOID, la->cxt);
	la->counts = accumArrayResult(la->counts, Int64GetDatum(s->count), false,
								  INT8OID, la->cxt);
	la->lates = accumArrayResult(la->lates, Int64GetDatum(la->late ? s->count : 0), false,
								 INT8OID, la->cxt);
	la->nsessions++;
}

/* Write one log row, as the job owner.  kind 't' has no arrays. */
static void
write_log_row(CaptureState *cs, char kind, LogArrays *la)
{
	Oid			argtypes[6];
	Datum		values[6];
	char		nulls[6] = "      ";
	char	   *sql;
	SessionizeIdentity saved;
	int			ret;

	argtypes[0] = CHAROID;
	values[0] = CharGetDatum(kind);
	argtypes[1] = get_array_type(cs->usertype);
	argtypes[2] = TIMESTAMPTZARRAYOID;
	argtypes[3] = TIMESTAMPTZARRAYOID;
	argtypes[4] = INT8ARRAYOID;
	argtypes[5] = INT8ARRAYOID;
	if (!OidIsValid(argtypes[1]))
		elog(ERROR, "type %s has no array type", format_type_be(cs->usertype));
	if (la == NULL)
		memset(nulls + 1, 'n', 5);
	else
	{
		values[1] = makeArrayResult(la->users, CurrentMemoryContext);
		values[2] = makeArrayResult(la->starts, CurrentMemoryContext);
		values[3] = makeArrayResult(la->lasts, CurrentMemoryContext);
		values[4] = makeArrayResult(la->counts, CurrentMemoryContext);
		values[5] = makeArrayResult(la->lates, CurrentMemoryContext);
	}

	sql = psprintf("INSERT INTO %s (kind, u, lo, hi, n, late) VALUES ($1, $2, $3, $4, $5, $6)",
				   cs->log_name);
	sessionize_become(cs->owner, true, &saved);
	ret = SPI_execute_with_args(sql, 6, argtypes, values, nulls, false, 0);
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
 */
Datum
sessionize_capture(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	TupleDesc	tupdesc;
	CaptureState cs;
	int64		gap;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize.capture() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize.capture() must be fired AFTER ... FOR EACH STATEMENT")));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 5)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize.capture() takes five trigger arguments")));

	memset(&cs, 0, sizeof(cs));
	cs.job_id = pg_strtoint64(trigger->tgargs[0]);
	cs.log_name = trigger->tgargs[1];
	cs.userattno = pg_strtoint16(trigger->tgargs[2]);
	cs.timeattno = pg_strtoint16(trigger->tgargs[3]);
	gap = pg_strtoint64(trigger->tgargs[4]);
	cs.rule.gap = session_check_positive_bigint(gap, "gap");
	cs.rule.infinite_times = true;

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	if (cs.userattno < 1 || cs.userattno > tupdesc->natts ||
		cs.timeattno < 1 || cs.timeattno > tupdesc->natts ||
		TupleDescAttr(tupdesc, cs.timeattno - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize job " INT64_FORMAT " no longer matches table \"%s\"",
						cs.job_id, RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Drop the job with sessionize.drop_job() and create it again.")));
	cs.usertype = TupleDescAttr(tupdesc, cs.userattno - 1)->atttypid;
	cs.usercollation = TupleDescAttr(tupdesc, cs.userattno - 1)->attcollation;
	get_typlenbyval(cs.usertype, &cs.usertyplen, &cs.userbyval);
	cs.inserted_arrays.usertype = cs.usertype;
	cs.inserted_arrays.cxt = CurrentMemoryContext;
	cs.deleted_arrays = cs.inserted_arrays;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	read_job(&cs);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		write_log_row(&cs, 't', NULL);
	else
	{
		capture_rows(&cs, tupdesc, trigdata->tg_oldtable, trigdata->tg_newtable);
		log_sessions(&cs, 'i', cs.inserted, cs.inserted_late, &cs.inserted_arrays);
		log_sessions(&cs, 'd', cs.deleted, NULL, &cs.deleted_arrays);
	}
	SPI_finish();

	return PointerGetDatum(NULL);
}
