/*-------------------------------------------------------------------------
 *
 * session_window.c
 *	  session_id() and session_start(): aggregates used as window functions,
 *	  OVER (PARTITION BY key ORDER BY time), that give each event row its
 *	  session.
 *
 * One transition function serves every SQL signature:
 *	  (time, gap)
 *	  (time, gap, max_duration)
 *	  (time, gap, starts_session boolean)
 *	  (time, gap, max_duration, starts_session boolean)
 * for time in timestamptz and timestamp with interval gap and duration, and
 * bigint with bigint gap and duration.  The gap may vary from row to row:
 * a session then stays open until the latest ts + gap of its events (Spark's
 * dynamic gap); with a constant gap this is exactly the rule of the README's Semantics
 * section 1.
 *
 * The rows must reach the transition function in time order, and each row's
 * value must be computed after its own row was added.  Both are properties
 * of the window clause, which we check once per query against the plan
 * (ORDER BY must lead with the time argument, the frame must run from
 * UNBOUNDED PRECEDING to CURRENT ROW), and the order is checked again row by
 * row: a wrong answer is never returned silently.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_window.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "session_state.h"

PG_FUNCTION_INFO_V1(session_window_trans);
PG_FUNCTION_INFO_V1(session_window_id_final);
PG_FUNCTION_INFO_V1(session_window_start_final);

/* Per-partition state of one window aggregate. */
typedef struct SessionWindowState
{
	int64		session_no;		/* 1-based number of the current session */
	int64		start;			/* first event of the current session */
	int64		last;			/* latest event added */
	int64		end;			/* max(ts + gap) over the current session */
	bool		have_event;		/* has any non-null time been added? */
	bool		last_was_null;	/* was the latest row's time NULL? */
	SessionTimeKind kind;
	int			duration_argno; /* argument number of max_duration, or -1 */
	int			flag_argno;		/* argument number of starts_session, or -1 */
} SessionWindowState;

/* How messages name the functions of this file. */
#define WINDOW_FUNCS "sessionize.session_id() and sessionize.session_start()"

/*
 * Is "node" (somewhere inside a WindowAgg target list) a call of one of our
 * aggregates, that is, of an aggregate whose transition function is
 * "transfn"?  If so, append it to *found.
 */
typedef struct FindCallsContext
{
	Oid			transfn;
	Index		winref;
	List	   *found;
} FindCallsContext;

static bool
find_session_calls_walker(Node *node, FindCallsContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, WindowFunc))
	{
		WindowFunc *wfunc = (WindowFunc *) node;

		if (wfunc->winagg && wfunc->winref == ctx->winref)
		{
			HeapTuple	tup = SearchSysCache1(AGGFNOID,
											  ObjectIdGetDatum(wfunc->winfnoid));

			if (HeapTupleIsValid(tup))
			{
				Form_pg_aggregate agg = (Form_pg_aggregate) GETSTRUCT(tup);

				if (agg->aggtransfn == ctx->transfn)
					ctx->found = lappend(ctx->found, wfunc);
				ReleaseSysCache(tup);
			}
		}
		/* window function arguments cannot hold window functions */
		return false;
	}
	return expression_tree_walker(node, find_session_calls_walker, (void *) ctx);
}

/*
 * Check, once per query, that the window clause makes our answers right:
 *	- we run inside a WindowAgg, not as a plain aggregate;
 *	- its ORDER BY leads with the very expression passed as our time
 *	  argument, so rows come in time order and peers share one time;
 *	- its frame starts at UNBOUNDED PRECEDING and ends at CURRENT ROW with no
 *	  exclusion, so each row's value covers all earlier rows and itself.
 */
static void
check_window_clause(FunctionCallInfo fcinfo)
{
	WindowAggState *winstate;
	WindowAgg  *plan;
	FindCallsContext ctx;
	ListCell   *lc;
	int			fo;

	if (fcinfo->flinfo->fn_extra != NULL)
		return;					/* checked already */

	if (fcinfo->context == NULL || !IsA(fcinfo->context, WindowAggState))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s can only be called as window functions", WINDOW_FUNCS),
				 errhint("Add OVER (PARTITION BY <key> ORDER BY <time>), or use sessionize.sessions() or sessionize.sessionize() for one row per session.")));

	winstate = (WindowAggState *) fcinfo->context;
	plan = (WindowAgg *) winstate->ss.ps.plan;

	if (plan->ordNumCols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WINDOWING_ERROR),
				 errmsg("%s require ORDER BY the event time in their window",
						WINDOW_FUNCS),
				 errhint("Use OVER (PARTITION BY <key> ORDER BY <time>).")));

	fo = plan->frameOptions;
	if (!(fo & FRAMEOPTION_START_UNBOUNDED_PRECEDING) ||
		!(fo & FRAMEOPTION_END_CURRENT_ROW) ||
		(fo & FRAMEOPTION_EXCLUSION))
		ereport(ERROR,
				(errcode(ERRCODE_WINDOWING_ERROR),
				 errmsg("%s require a window frame from UNBOUNDED PRECEDING to CURRENT ROW",
						WINDOW_FUNCS),
				 errhint("Leave out the frame clause: the default frame is the right one.")));

	ctx.transfn = fcinfo->flinfo->fn_oid;
	ctx.winref = plan->winref;
	ctx.found = NIL;
	foreach(lc, plan->plan.targetlist)
		find_session_calls_walker((Node *) lfirst(lc), &ctx);

	foreach(lc, ctx.found)
	{
		WindowFunc *wfunc = (WindowFunc *) lfirst(lc);
		Node	   *arg = (Node *) linitial(wfunc->args);

		/* a constant time makes every row a tie: any order will do */
		if (IsA(arg, Const))
			continue;
		if (!IsA(arg, Var) ||
			((Var *) arg)->varno != OUTER_VAR ||
			((Var *) arg)->varattno != plan->ordColIdx[0])
			ereport(ERROR,
					(errcode(ERRCODE_WINDOWING_ERROR),
					 errmsg("%s require their window to be ordered by their time argument",
							WINDOW_FUNCS),
					 errdetail("The first ORDER BY expression of the window is not the time passed to the function."),
					 errhint("Use OVER (PARTITION BY <key> ORDER BY <time>) with the same <time> expression as the first argument.")));
	}

	fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, 1);
}

/* Read the gap or duration argument "argno" as an int64 in time units. */
static inline int64
window_span_arg(FunctionCallInfo fcinfo, SessionWindowState *st, int argno,
				const char *argname)
{
	if (st->kind == SESSION_TIME_BIGINT)
		return session_check_positive_bigint(PG_GETARG_INT64(argno), argname);
	return session_interval_to_usec(PG_GETARG_INTERVAL_P(argno), argname);
}

static SessionWindowState *
window_state_create(FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	SessionWindowState *st;
	Oid			timetype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	int			nargs = PG_NARGS();

	st = (SessionWindowState *) MemoryContextAllocZero(aggcxt, sizeof(SessionWindowState));
	switch (timetype)
	{
		case TIMESTAMPTZOID:
			st->kind = SESSION_TIME_TIMESTAMPTZ;
			break;
		case TIMESTAMPOID:
			st->kind = SESSION_TIME_TIMESTAMP;
			break;
		case INT8OID:
			st->kind = SESSION_TIME_BIGINT;
			break;
		default:
			elog(ERROR, "unexpected time type %u", timetype);
	}
	st->duration_argno = -1;
	st->flag_argno = -1;
	if (nargs == 5)
	{
		st->duration_argno = 3;
		st->flag_argno = 4;
	}
	else if (nargs == 4)
	{
		if (get_fn_expr_argtype(fcinfo->flinfo, 3) == BOOLOID)
			st->flag_argno = 3;
		else
			st->duration_argno = 3;
	}
	return st;
}

/*
 * Transition: add one row.  Rows must arrive in time order; a NULL time
 * belongs to no session.
 */
Datum
session_window_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SessionWindowState *st;
	int64		ts;
	int64		gap;
	int64		ts_end;
	bool		new_session;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		aggcxt = NULL;			/* check_window_clause() rejects this */
	check_window_clause(fcinfo);

	if (PG_ARGISNULL(0))
		st = window_state_create(fcinfo, aggcxt);
	else
		st = (SessionWindowState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gap must not be null")));
	gap = window_span_arg(fcinfo, st, 2, "gap");

	if (PG_ARGISNULL(1))
	{
		st->last_was_null = true;
		PG_RETURN_POINTER(st);
	}
	st->last_was_null = false;
	ts = PG_GETARG_INT64(1);
	ts_end = session_add_sat(ts, gap);

	if (!st->have_event)
		new_session = true;
	else if (ts < st->last)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("rows reached %s out of time order", WINDOW_FUNCS),
				 errhint("Order the window by the event time, ascending: OVER (PARTITION BY <key> ORDER BY <time>).")));
	else if (ts == st->last)
		new_session = false;	/* ties always share a session */
	else
	{
		new_session = ts > st->end;
		if (!new_session && st->kind != SESSION_TIME_BIGINT &&
			(st->last == PG_INT64_MIN || ts == PG_INT64_MAX))
			new_session = true; /* an infinity joins only itself */
		if (!new_session && st->duration_argno >= 0 &&
			!PG_ARGISNULL(st->duration_argno))
		{
			int64		maxdur = window_span_arg(fcinfo, st, st->duration_argno,
												 "max_duration");
			int64		duration;

			if (pg_sub_s64_overflow(ts, st->start, &duration) || duration > maxdur)
				new_session = true;
		}
		if (!new_session && st->flag_argno >= 0 &&
			!PG_ARGISNULL(st->flag_argno) && PG_GETARG_BOOL(st->flag_argno))
			new_session = true;
	}

	if (new_session)
	{
		st->session_no++;
		st->start = ts;
		st->end = ts_end;
		st->have_event = true;
	}
	else if (ts_end > st->end)
		st->end = ts_end;
	st->last = ts;

	PG_RETURN_POINTER(st);
}

/*
 * The state to answer from for the current row, or NULL when the row has
 * no session (no row yet, or a NULL time).
 */
static inline SessionWindowState *
window_state_for_final(FunctionCallInfo fcinfo)
{
	SessionWindowState *st;

	if (PG_ARGISNULL(0))
		return NULL;
	st = (SessionWindowState *) PG_GETARG_POINTER(0);
	if (st->last_was_null || !st->have_event)
		return NULL;
	return st;
}

/* session_id(): the row's session number, NULL for a NULL time. */
Datum
session_window_id_final(PG_FUNCTION_ARGS)
{
	SessionWindowState *st = window_state_for_final(fcinfo);

	if (st == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT64(st->session_no);
}

/* session_start(): the time of the first event of the row's session. */
Datum
session_window_start_final(PG_FUNCTION_ARGS)
{
	SessionWindowState *st = window_state_for_final(fcinfo);

	if (st == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT64(st->start);
}
