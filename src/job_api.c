/*-------------------------------------------------------------------------
 *
 * job_api.c
 *	  The SQL-callable job functions, thin wrappers: create_job(),
 *	  alter_job() and drop_job() check the caller, then run the job's
 *	  catalog and DDL work as the extension owner; run_job() and
 *	  run_due_jobs() call the run core (refresh.c, job_runner.c); verify()
 *	  is run by refresh.c as the job owner.
 *
 * The bodies of create, alter and drop are PL/pgSQL functions of the install script (_create_job and
 * friends) that only the extension owner may execute.  These C entry
 * points call them with the calling role as first argument; every
 * privilege check in the bodies is made for that role.  A C function is
 * needed because SQL cannot both know its invoker and act as the definer.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_api.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "compat.h"
#include "job_catalog.h"
#include "job_runner.h"
#include "measures.h"
#include "refresh.h"
#include "security.h"

PG_FUNCTION_INFO_V1(sessionize_create_job);
PG_FUNCTION_INFO_V1(sessionize_can_be_user_type);
PG_FUNCTION_INFO_V1(sessionize_drop_job);
PG_FUNCTION_INFO_V1(sessionize_alter_job);
PG_FUNCTION_INFO_V1(sessionize_verify);
PG_FUNCTION_INFO_V1(sessionize_run_job);
PG_FUNCTION_INFO_V1(sessionize_run_due_jobs);
PG_FUNCTION_INFO_V1(sessionize_job_time);
PG_FUNCTION_INFO_V1(sessionize_job_time_text_sql);
PG_FUNCTION_INFO_V1(sessionize_measures_problem_sql);
PG_FUNCTION_INFO_V1(sessionize_parse_measures_sql);

#define MAX_API_ARGS 9

/*
 * _job_time(ticks bigint, "like" anyelement) returns anyelement: a time in
 * job time units as a value of the type of "like": timestamptz, timestamp
 * (the same microseconds; in range or infinite) or bigint.  Who may call
 * it: anyone (it is internal, but reads nothing and builds only a value
 * any caller could write); it runs as the caller.
 */
static void
check_job_time_type(Oid type)
{
	if (!sessionize_is_job_time_type(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("job times are timestamptz, timestamp or bigint, not %s",
						format_type_be(type))));
}

/* A time in job time units must be a value of its type: a timestamp in range. */
static void
check_job_time(Oid type, int64 ticks)
{
	if (type != INT8OID && !TIMESTAMP_NOT_FINITE(ticks) && !IS_VALID_TIMESTAMP(ticks))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
}

Datum
sessionize_job_time(PG_FUNCTION_ARGS)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 1);
	int64		ticks;

	check_job_time_type(type);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	ticks = PG_GETARG_INT64(0);
	check_job_time(type, ticks);
	PG_RETURN_INT64(ticks);
}

/*
 * _job_time_text(ticks bigint, time_type regtype) returns text: the same
 * as _job_time(), as text in the output form of time_type.  Who may call
 * it and as whom it runs: as for _job_time().
 */
Datum
sessionize_job_time_text_sql(PG_FUNCTION_ARGS)
{
	int64		ticks = PG_GETARG_INT64(0);
	Oid			type = PG_GETARG_OID(1);

	check_job_time_type(type);
	check_job_time(type, ticks);
	PG_RETURN_DATUM(sessionize_job_time_text(type, ticks));
}

/* Is a measure list only spaces, which create_job() takes as no measures? */
static bool
measure_list_is_blank(const char *list)
{
	return strspn(list, " \t\r\n") == strlen(list);
}

/*
 * A measure list, parsed: the arrays (column names, definitions, result
 * types, merges) that replace the caller's text, argument argno, in the call of the
 * body; isnull when the caller gave none (NULL).
 */
typedef struct MeasureArgs
{
	int			argno;
	bool		isnull;
	Datum		arrays[4];
} MeasureArgs;

/*
 * Parse the measure list of argument argno, if any, over the source and
 * its columns (NULL: there is no such relation or column, or the time
 * column is not of type time_type (for create_job(), InvalidOid: of any
 * type a job takes), which the body reports; for alter_job(), job_id, an
 * error), as the caller with the
 * caller's search_path: see measures.c.  An empty list (only spaces) means
 * no measures: empty arrays.
 */
static void
parse_measure_arg(FunctionCallInfo fcinfo, int argno, Oid source,
				  const char *user_column, const char *time_column,
				  Oid time_type, int64 job_id, MeasureArgs *margs)
{
	char	   *list;
	List	   *measures = NIL;
	Datum	   *names;
	Datum	   *defs;
	Datum	   *types;
	Datum	   *merges;
	bool	   *merge_nulls;
	ListCell   *lc;
	int			n = 0;

	/* (0.1.0's create_job() and alter_job(), before the update, have none) */
	margs->argno = argno;
	margs->isnull = PG_NARGS() <= argno || PG_ARGISNULL(argno);
	if (margs->isnull)
		return;
	list = TextDatumGetCString(PG_GETARG_DATUM(argno));
	if (!measure_list_is_blank(list))
	{
		AttrNumber	tatt;

		/*
		 * A missing source or column, or a wrong time type: create_job()'s
		 * body says which; alter_job() must not take the list as absent.
		 */
		if (!OidIsValid(source) || get_rel_name(source) == NULL ||
			user_column == NULL || time_column == NULL ||
			get_attnum(source, user_column) <= 0 ||
			(tatt = get_attnum(source, time_column)) <= 0 ||
			!(OidIsValid(time_type) ? get_atttype(source, tatt) == time_type
			  : sessionize_is_job_time_type(get_atttype(source, tatt))))
		{
			if (job_id != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot change the measures of job " INT64_FORMAT ": its user or time column is gone from its source or of another type",
								job_id),
						 errhint("Restore the columns, or drop the job with sessionize.drop_job(" INT64_FORMAT ") and create it again.",
								 job_id)));
			margs->isnull = true;
			return;
		}
		measures = sessionize_parse_measures(list, source, user_column, time_column);
	}
	names = palloc(sizeof(Datum) * (list_length(measures) + 1));
	defs = palloc(sizeof(Datum) * (list_length(measures) + 1));
	types = palloc(sizeof(Datum) * (list_length(measures) + 1));
	merges = palloc(sizeof(Datum) * (list_length(measures) + 1));
	merge_nulls = palloc(sizeof(bool) * (list_length(measures) + 1));
	foreach(lc, measures)
	{
		JobMeasure *m = lfirst(lc);
		Name		name = palloc0(NAMEDATALEN);

		namestrcpy(name, m->name);
		names[n] = NameGetDatum(name);
		defs[n] = CStringGetTextDatum(m->definition);
		types[n] = CStringGetTextDatum(m->type);
		merge_nulls[n] = m->merge == NULL;
		merges[n] = m->merge ? CStringGetTextDatum(m->merge) : (Datum) 0;
		n++;
	}
	margs->arrays[0] = PointerGetDatum(construct_array(names, n, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR));
	margs->arrays[1] = PointerGetDatum(construct_array(defs, n, TEXTOID, -1, false, TYPALIGN_INT));
	margs->arrays[2] = PointerGetDatum(construct_array(types, n, TEXTOID, -1, false, TYPALIGN_INT));
	{
		int			dims[1] = {n};
		int			lbs[1] = {1};

		margs->arrays[3] = PointerGetDatum(construct_md_array(merges, merge_nulls, 1, dims, lbs,
															  TEXTOID, -1, false, TYPALIGN_INT));
	}
}

/*
 * The gap and the allowed lateness of create_job() and alter_job(), of
 * declared type "any": what the caller gave, converted to the kind of the
 * job's times.  Each argument argno[k] becomes two of the body, an
 * interval (timestamps) and a bigint (bigint times), at most one of them
 * not null.  None are expanded when the function is 0.1.0's, called
 * through its SQL declaration before ALTER EXTENSION UPDATE (fewer
 * arguments, an interval gap, and 0.1.0's body).
 */
typedef struct TimeArgs
{
	int			argno[2];
	bool		expand;
	Datum		interval[2];
	bool		interval_null[2];
	Datum		integer[2];
	bool		integer_null[2];
} TimeArgs;

/*
 * Convert argument argno (a gap or a lateness, "argname") for a job whose
 * time column is of type timetype (InvalidOid: unknown, as the source or
 * its column is missing; or a type no job takes: the body reports both,
 * and the argument is taken by its own type meanwhile): an interval for
 * timestamps, a bigint for bigint times.  Intervals, integers and quoted
 * literals (or text) are taken, a literal read as the kind the times need;
 * NULL stays NULL (the body says what that means).
 */
static void
convert_time_arg(FunctionCallInfo fcinfo, int k, Oid timetype, const char *argname,
				 TimeArgs *targs)
{
	int			argno = targs->argno[k];
	Oid			argtype;
	bool		want_integer;

	targs->interval_null[k] = targs->integer_null[k] = true;
	targs->interval[k] = targs->integer[k] = (Datum) 0;
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;
	/* (a domain as its base type; varchar is text) */
	argtype = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, argno));
	if (argtype == VARCHAROID)
		argtype = TEXTOID;
	if (sessionize_is_job_time_type(timetype))
		want_integer = (timetype == INT8OID);
	else
		want_integer = (argtype == INT2OID || argtype == INT4OID || argtype == INT8OID);

	if (argtype == UNKNOWNOID || argtype == TEXTOID)
	{
		char	   *str = argtype == UNKNOWNOID ? DatumGetCString(PG_GETARG_DATUM(argno))
			: TextDatumGetCString(PG_GETARG_DATUM(argno));

		if (want_integer)
			targs->integer[k] = DirectFunctionCall1(int8in, CStringGetDatum(str));
		else
			targs->interval[k] = DirectFunctionCall3(interval_in, CStringGetDatum(str),
													 ObjectIdGetDatum(InvalidOid),
													 Int32GetDatum(-1));
	}
	else if (argtype == INTERVALOID && !want_integer)
		targs->interval[k] = PG_GETARG_DATUM(argno);
	else if (argtype == INT8OID && want_integer)
		targs->integer[k] = PG_GETARG_DATUM(argno);
	else if (argtype == INT4OID && want_integer)
		targs->integer[k] = Int64GetDatum((int64) DatumGetInt32(PG_GETARG_DATUM(argno)));
	else if (argtype == INT2OID && want_integer)
		targs->integer[k] = Int64GetDatum((int64) DatumGetInt16(PG_GETARG_DATUM(argno)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s must be %s, not %s", argname,
						want_integer ? "a bigint" : "an interval", format_type_be(argtype)),
				 want_integer ?
				 errhint("The times are bigint: give the %s in their unit, for example 1800000 for 30 minutes of epoch milliseconds.", argname) :
				 errhint("The times are timestamps: give the %s as an interval, for example interval '30 minutes'.", argname)));
	if (want_integer)
		targs->integer_null[k] = false;
	else
		targs->interval_null[k] = false;
}

/*
 * Run SELECT <body>(caller, args...) as the extension owner and return its
 * result, which must be of a pass-by-value type (or void).
 */
static Datum
call_body_as_extension_owner(FunctionCallInfo fcinfo, const char *body, bool *isnull,
							 const MeasureArgs *margs, const TimeArgs *targs)
{
	int			nargs = PG_NARGS();
	Oid			argtypes[MAX_API_ARGS + 6];
	Datum		values[MAX_API_ARGS + 6];
	char		nulls[MAX_API_ARGS + 6];
	StringInfoData query;
	SessionizeIdentity saved;
	Datum		result;
	int			i;
	int			n = 1;
	int			ret;

	Assert(nargs <= MAX_API_ARGS);

	initStringInfo(&query);
	appendStringInfo(&query, "SELECT %s($1", body);
	argtypes[0] = REGROLEOID;
	values[0] = ObjectIdGetDatum(GetUserId());
	nulls[0] = ' ';
	for (i = 0; i < nargs; i++)
	{
		if (margs && i == margs->argno)
		{
			/* the parsed measures instead of the caller's text */
			for (int k = 0; k < 4; k++)
			{
				argtypes[n] = k == 0 ? NAMEARRAYOID : TEXTARRAYOID;
				values[n] = margs->isnull ? (Datum) 0 : margs->arrays[k];
				nulls[n] = margs->isnull ? 'n' : ' ';
				n++;
				appendStringInfo(&query, ", $%d", n);
			}
			continue;
		}
		if (targs && targs->expand && (i == targs->argno[0] || i == targs->argno[1]))
		{
			/* the interval and the bigint instead of the caller's value */
			int			k = i == targs->argno[0] ? 0 : 1;

			argtypes[n] = INTERVALOID;
			values[n] = targs->interval[k];
			nulls[n] = targs->interval_null[k] ? 'n' : ' ';
			n++;
			appendStringInfo(&query, ", $%d", n);
			argtypes[n] = INT8OID;
			values[n] = targs->integer[k];
			nulls[n] = targs->integer_null[k] ? 'n' : ' ';
			n++;
			appendStringInfo(&query, ", $%d", n);
			continue;
		}
		argtypes[n] = get_fn_expr_argtype(fcinfo->flinfo, i);
		values[n] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[n] = PG_ARGISNULL(i) ? 'n' : ' ';
		n++;
		appendStringInfo(&query, ", $%d", n);
	}
	appendStringInfoChar(&query, ')');

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sessionize_become(sessionize_extension_owner(), false, &saved);
	ret = SPI_execute_with_args(query.data, n, argtypes, values, nulls,
								false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "%s failed: %s", body, SPI_result_code_string(ret));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	sessionize_restore(&saved);
	SPI_finish();
	return result;
}

/*
 * create_job(source regclass, user_column name, time_column name,
 *			  gap "any", target name, allowed_lateness "any",
 *			  schedule_interval interval, notify text, measures text)
 *			  returns bigint
 *
 * Who may call it: anyone; the body checks the caller's privileges on the
 * source and the target's schema.  The measures are parsed and checked as
 * the caller (see measures.c), the rest runs as the extension owner.  The
 * gap and the lateness are taken as the time column's type needs (see
 * convert_time_arg()); reading that type reads the catalog only.
 */
Datum
sessionize_create_job(PG_FUNCTION_ARGS)
{
	bool		isnull;
	MeasureArgs margs;
	TimeArgs	targs = {.argno = {3, 5}, .expand = PG_NARGS() == 9};
	Datum		job_id;
	Oid			source = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	Oid			timetype = InvalidOid;

	if (OidIsValid(source) && !PG_ARGISNULL(2))
	{
		AttrNumber	tatt = get_attnum(source, NameStr(*PG_GETARG_NAME(2)));

		if (tatt > 0)
			timetype = get_atttype(source, tatt);
	}
	if (targs.expand)
	{
		convert_time_arg(fcinfo, 0, timetype, "gap", &targs);
		convert_time_arg(fcinfo, 1, timetype, "allowed_lateness", &targs);
	}
	parse_measure_arg(fcinfo, 8, source,
					  PG_ARGISNULL(1) ? NULL : NameStr(*PG_GETARG_NAME(1)),
					  PG_ARGISNULL(2) ? NULL : NameStr(*PG_GETARG_NAME(2)), InvalidOid, 0, &margs);
	job_id = call_body_as_extension_owner(fcinfo, "sessionize._create_job", &isnull, &margs, &targs);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(job_id);
}

/* drop_job(job_id bigint, drop_target boolean) returns void */
Datum
sessionize_drop_job(PG_FUNCTION_ARGS)
{
	bool		isnull;

	(void) call_body_as_extension_owner(fcinfo, "sessionize._drop_job", &isnull, NULL, NULL);
	PG_RETURN_VOID();
}

/*
 * alter_job(job_id bigint, gap "any", allowed_lateness "any",
 *			 schedule_interval interval, active boolean, notify text,
 *			 measures text) returns void
 *
 * Who may call it: a member of the job's owner (the body checks).  The
 * measures are parsed as the caller (see measures.c), the rest runs as the
 * extension owner.  The gap and the lateness are taken as the job's time
 * type needs (see convert_time_arg()).
 */
Datum
sessionize_alter_job(PG_FUNCTION_ARGS)
{
	bool		isnull;
	MeasureArgs margs = {.argno = 6, .isnull = true};
	TimeArgs	targs = {.argno = {1, 2}, .expand = PG_NARGS() == 7};
	Oid			timetype = InvalidOid;

	if (targs.expand && !PG_ARGISNULL(0) &&
		!(PG_ARGISNULL(1) && PG_ARGISNULL(2) && PG_ARGISNULL(6)))
	{
		/*
		 * A gap, a lateness or measures to read: the job's source, columns
		 * and time type (no such job: the body says so).
		 */
		Oid			source = InvalidOid;
		char	   *user_column = NULL;
		char	   *time_column = NULL;
		bool		found;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		found = sessionize_catalog_job_columns(PG_GETARG_INT64(0), &source,
											   &user_column, &time_column, &timetype);
		SPI_finish();
		if (found && !PG_ARGISNULL(6))
			parse_measure_arg(fcinfo, 6, source, user_column, time_column, timetype,
							  PG_GETARG_INT64(0), &margs);
	}
	if (targs.expand)
	{
		convert_time_arg(fcinfo, 0, timetype, "gap", &targs);
		convert_time_arg(fcinfo, 1, timetype, "allowed_lateness", &targs);
	}
	(void) call_body_as_extension_owner(fcinfo, "sessionize._alter_job", &isnull, &margs, &targs);
	PG_RETURN_VOID();
}

/*
 * verify(job_id bigint) returns table (difference text, user_key text,
 *		  session_start text, last_event_at text, session_end text,
 *		  event_count bigint, closed boolean, measures text)
 *
 * Who may call it and as whom it reads: see sessionize_verify_job().
 */
Datum
sessionize_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job_id must not be null")));
	sessionize_init_materialized_srf(fcinfo, 0);
	sessionize_verify_job(PG_GETARG_INT64(0), rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/*
 * _can_be_user_type(regtype) returns boolean: may values of the type be a
 * job's users?  They need a default btree operator class (the type cache
 * resolves domains, binary-coercible types and the polymorphic classes of
 * enums and records) and an array type (the change log holds arrays of
 * users; an array type has none of its own).  Not executable by PUBLIC:
 * _create_job() calls it as the extension owner; it reads catalogs only.
 */
Datum
sessionize_can_be_user_type(PG_FUNCTION_ARGS)
{
	TypeCacheEntry *typentry = lookup_type_cache(PG_GETARG_OID(0),
												 TYPECACHE_BTREE_OPFAMILY | TYPECACHE_EQ_OPR);

	PG_RETURN_BOOL(OidIsValid(typentry->btree_opf) && OidIsValid(typentry->eq_opr) &&
				   OidIsValid(get_array_type(PG_GETARG_OID(0))));
}

/*
 * run_job(job_id bigint, OUT events_inserted bigint, OUT events_deleted
 *		   bigint, OUT sessions_inserted bigint, OUT sessions_updated bigint,
 *		   OUT sessions_deleted bigint, OUT late_events bigint,
 *		   OUT watermark text, OUT full_rebuild boolean) returns record
 *
 * Who may call it: a member of the job's owner (the core checks).  As whom
 * it runs: see refresh.c.  Errors are the caller's: nothing is recorded.
 */
Datum
sessionize_run_job(PG_FUNCTION_ARGS)
{
	RunResult	res;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false, false, false, false, false, false, false, false};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("job_id must not be null")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	sessionize_run(PG_GETARG_INT64(0), &res);

	values[0] = Int64GetDatum(res.events_inserted);
	values[1] = Int64GetDatum(res.events_deleted);
	values[2] = Int64GetDatum(res.sessions_inserted);
	values[3] = Int64GetDatum(res.sessions_updated);
	values[4] = Int64GetDatum(res.sessions_deleted);
	values[5] = Int64GetDatum(res.late_events);
	values[6] = res.have_watermark ? sessionize_job_time_text(res.time_type, res.watermark) : (Datum) 0;
	nulls[6] = !res.have_watermark;
	values[7] = BoolGetDatum(res.full_rebuild);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * run_due_jobs(OUT job_id bigint, OUT status text, OUT events_inserted
 *				bigint, ..., OUT message text) returns setof record
 *
 * Who may call it: anyone; it runs only the jobs whose owner the caller is
 * a member of.  As whom it runs: each job as its owner (job_runner.c).
 * One row per job it ran; a job with nothing to do costs one look at its
 * log and returns no row.
 */
Datum
sessionize_run_due_jobs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *jobs;
	ListCell   *lc;

	/* it writes (runs, history): refuse at once on a standby, as writes do */
	PreventCommandIfReadOnly("sessionize.run_due_jobs()");
	sessionize_init_materialized_srf(fcinfo, 0);

	jobs = sessionize_due_jobs(GetUserId());
	foreach(lc, jobs)
	{
		ScheduledJob *job = (ScheduledJob *) lfirst(lc);
		JobRunReport report;
		Datum		values[12];
		bool		nulls[12];
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (!sessionize_job_has_work(job->job_id))
			continue;
		if (!sessionize_run_unattended(job, RUNNER_RUN_DUE_JOBS, 0, GetCurrentTimestamp(),
									   false, &report))
			continue;

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(job->job_id);
		values[1] = CStringGetTextDatum(report.failed ? "failed" : "succeeded");
		values[2] = Int64GetDatum(report.res.events_inserted);
		values[3] = Int64GetDatum(report.res.events_deleted);
		values[4] = Int64GetDatum(report.res.sessions_inserted);
		values[5] = Int64GetDatum(report.res.sessions_updated);
		values[6] = Int64GetDatum(report.res.sessions_deleted);
		values[7] = Int64GetDatum(report.res.sessions_closed);
		values[8] = Int64GetDatum(report.res.late_events);
		values[9] = report.res.have_watermark && !report.failed ?
			sessionize_job_time_text(report.res.time_type, report.res.watermark) : (Datum) 0;
		nulls[9] = !report.res.have_watermark;
		values[10] = BoolGetDatum(report.res.full_rebuild);
		nulls[11] = (report.message == NULL);
		values[11] = report.message ? CStringGetTextDatum(report.message) : (Datum) 0;
		if (report.failed)
			for (i = 2; i <= 10; i++)
				nulls[i] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	sessionize_prune_history();
	return (Datum) 0;
}

/*
 * _measures_problem(job_id bigint) returns text: why the job's measures no
 * longer fit its source ('SQLSTATE: message'), or NULL (see
 * sessionize_measures_problem()).  Who may call it: not PUBLIC; the DDL
 * event trigger's _reconcile_capture() calls it as the extension owner.
 * As whom it runs: the catalog is read as the extension owner, each
 * measure analyzed as the job owner, restricted.
 */
Datum
sessionize_measures_problem_sql(PG_FUNCTION_ARGS)
{
	int64		job_id = PG_GETARG_INT64(0);
	MemoryContext callercxt = CurrentMemoryContext;
	JobRecord	rec;
	char	   *problem;
	text	   *result = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sessionize_catalog_read_job(job_id, &rec);
	problem = sessionize_measures_problem(job_id, rec.source, rec.owner,
										  sessionize_catalog_read_measures(job_id), false);
	if (problem != NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		result = cstring_to_text(problem);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/*
 * parse_measures(source regclass, user_column name, time_column name,
 *				  measures text) returns table (position integer,
 *				  column_name name, definition text, result_type text,
 *				  merge text)
 *
 * What create_job(..., measures => measures) would keep in job_measures
 * for a job on that source: each measure parsed, checked and deparsed, or
 * the error create_job() would raise; no rows for a list of only spaces.
 * Lets a caller compare a list with a job's (the dbt materialization does)
 * without altering the job.  Who may
 * call it: anyone.  As whom it runs: the caller, as create_job() parses a
 * list: the check that evaluates the list over no rows needs the caller's
 * SELECT on the columns it uses.
 */
Datum
sessionize_parse_measures_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			source;
	char	   *user_column;
	char	   *time_column;
	AttrNumber	tatt;
	char	   *list;
	List	   *measures;
	ListCell   *lc;

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("source, user_column, time_column and measures must not be null")));
	source = PG_GETARG_OID(0);
	user_column = NameStr(*PG_GETARG_NAME(1));
	time_column = NameStr(*PG_GETARG_NAME(2));
	if (get_rel_name(source) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (get_attnum(source, user_column) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						user_column, get_rel_name(source))));
	tatt = get_attnum(source, time_column);
	if (tatt <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						time_column, get_rel_name(source))));
	if (!sessionize_is_job_time_type(get_atttype(source, tatt)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" is of type %s, not timestamp with time zone, timestamp without time zone or bigint",
						time_column, format_type_be(get_atttype(source, tatt)))));

	sessionize_init_materialized_srf(fcinfo, 0);
	list = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (measure_list_is_blank(list))
		return (Datum) 0;
	measures = sessionize_parse_measures(list, source, user_column, time_column);
	foreach(lc, measures)
	{
		JobMeasure *m = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, m->merge == NULL};
		Name		name = palloc0(NAMEDATALEN);

		namestrcpy(name, m->name);
		values[0] = Int32GetDatum(foreach_current_index(lc) + 1);
		values[1] = NameGetDatum(name);
		values[2] = CStringGetTextDatum(m->definition);
		values[3] = CStringGetTextDatum(m->type);
		values[4] = m->merge ? CStringGetTextDatum(m->merge) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
