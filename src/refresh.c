/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  The run core: one incremental pass of a job, for run_job(),
 *	  run_due_jobs() and the background worker alike; and verify(), which
 *	  compares a job's target with a recomputation.
 *
 * A pass, all in the caller's transaction:
 *	1. as the extension owner, check that the caller may run the job and
 *	   lock its job_state row (a concurrent pass waits here);
 *	2. take ACCESS SHARE on the source, so that no TRUNCATE can commit
 *	   while we work;
 *	3. as the job owner, consume the change log and apply it to the target:
 *	   a. the log's inserted events are merged into the stored sessions they
 *	      touch, without reading old events, by apply_inserts.c, which
 *	      probes the target's index from C (when it can; see there);
 *	   b. what is left (deletes, updates; all of it when 3a does not apply)
 *	      in ONE statement (hence one snapshot): inserted events merged as
 *	      in 3a, in SQL; users with deleted (or updated) rows have the spans
 *	      their changes touch re-read from the source and sessionized again.
 *	      A log row and the source rows it describes are written by the
 *	      same writer transaction, so one snapshot sees both or neither:
 *	      every change is applied exactly once, whatever commits while we
 *	      run;
 *	   the first pass, a TRUNCATE, or a new gap rebuild the target from a
 *	   full one-pass sessionize() of the source instead;
 *	4. close the sessions that the new watermark passed;
 *	5. as the extension owner, record the watermark and counters;
 *	6. if the job has a NOTIFY channel and sessions changed, notify it (at
 *	   commit).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/refresh.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "catalog/pg_operator.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "measures.h"
#include "measures_build.h"
#include "refresh.h"
#include "security.h"
#include "session_srf.h"
#include "session_state.h"

PG_FUNCTION_INFO_V1(sessionize_watermark_after_sql);

/* A full build says how far it got every so many source rows. */
#define BUILD_PROGRESS_ROWS		1000000

static int64
spi_int64(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* A time (of any job time type: an int64 datum), if not null. */
static bool
spi_time(int row, int col, int64 *value)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	if (!isnull)
		*value = DatumGetInt64(d);
	return !isnull;
}

/* The schema of an operator. */
static Oid
operator_namespace(Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	nsp = ((Form_pg_operator) GETSTRUCT(tup))->oprnamespace;
	ReleaseSysCache(tup);
	return nsp;
}

/*
 * The quoted, schema-qualified name of one of a job's relations ("what":
 * "source" or "target"), which must still exist and not be temporary.
 * Caller holds a lock on it, so that it cannot go away meanwhile.  A job
 * that an older build made on a temporary table outlives the table
 * (temporary tables are dropped without sql_drop), so this is not only
 * about catalogs edited by hand.
 */
static char *
job_relation_name(int64 job_id, Oid relid, const char *what)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname = NULL;

	if (relname != NULL)
		nspname = get_namespace_name(get_rel_namespace(relid));
	if (relname == NULL || nspname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s table of job " INT64_FORMAT " no longer exists", what, job_id),
				 errhint("Drop the job with sessionize.drop_job(" INT64_FORMAT ").", job_id)));
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s table %s of job " INT64_FORMAT " is a temporary table",
						what, quote_qualified_identifier(nspname, relname), job_id),
				 errhint("Jobs cannot keep temporary tables.  Drop the job with sessionize.drop_job(" INT64_FORMAT ").",
						 job_id)));
	return quote_qualified_identifier(nspname, relname);
}

/*
 * The type of a column that a job uses, which must exist (and be of type
 * "want" unless that is InvalidOid).  Checked against the live relation
 * before any SQL is built, so that a renamed, dropped or retyped column
 * gives this short error rather than one from inside a generated statement.
 */
static Oid
job_column_type(int64 job_id, Oid relid, const char *relname, const char *column,
				const char *role, Oid want, bool in_target)
{
	AttrNumber	attnum = get_attnum(relid, column);
	Oid			type;
	char	   *hint;

	if (in_target)
		hint = psprintf("Restore the column, or drop the job and its target with sessionize.drop_job(" INT64_FORMAT ", drop_target => true) and create the job again.",
						job_id);
	else
		hint = psprintf("Restore the column, or drop the job with sessionize.drop_job(" INT64_FORMAT ") and create it again.",
						job_id);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation %s does not exist", column, relname),
				 errdetail("Job " INT64_FORMAT " uses it as %s.", job_id, role),
				 errhint("%s", hint)));
	type = get_atttype(relid, attnum);
	if (OidIsValid(want) && type != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation %s is of type %s, not %s",
						column, relname, format_type_be(type), format_type_be(want)),
				 errdetail("Job " INT64_FORMAT " uses it as %s.", job_id, role),
				 errhint("%s", hint)));
	return type;
}

/*
 * Each measure's column must be in the target, of the measure's type, as
 * create_job() or alter_job() made it.
 */
static void
check_measure_columns(const JobInfo *job)
{
	ListCell   *lc;

	foreach(lc, job->measures)
	{
		JobMeasure *m = lfirst(lc);
		AttrNumber	attnum = get_attnum(job->target, m->name);
		Oid			type;
		int32		typmod;
		Oid			collation;

		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation %s does not exist", m->name, job->target_name),
					 errdetail("Job " INT64_FORMAT " keeps its measure %s there.", job->job_id, m->definition),
					 errhint("Set the job's measures again with sessionize.alter_job(" INT64_FORMAT ", measures => ...).",
							 job->job_id)));
		get_atttypetypmodcoll(job->target, attnum, &type, &typmod, &collation);
		if (strcmp(format_type_with_typemod(type, typmod), m->type) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation %s is of type %s, not %s",
							m->name, job->target_name, format_type_with_typemod(type, typmod), m->type),
					 errdetail("Job " INT64_FORMAT " keeps its measure %s there.", job->job_id, m->definition),
					 errhint("Set the job's measures again with sessionize.alter_job(" INT64_FORMAT ", measures => ...).",
							 job->job_id)));
	}
}

/*
 * The measures' expressions, ", <definition> AS m<k>" each, over the
 * source's rows as e.
 */
static char *
measure_exprs(const JobInfo *job)
{
	StringInfoData q;
	ListCell   *lc;

	initStringInfo(&q);
	foreach(lc, job->measures)
	{
		JobMeasure *m = lfirst(lc);

		appendStringInfo(&q, ", %s AS m%d", m->definition, foreach_current_index(lc) + 1);
	}
	return q.data;
}

/* The measures' target columns, ", <column>" each. */
char *
sessionize_measure_columns(const JobInfo *job)
{
	StringInfoData q;
	ListCell   *lc;

	initStringInfo(&q);
	foreach(lc, job->measures)
		appendStringInfo(&q, ", %s", quote_identifier(((JobMeasure *) lfirst(lc))->name));
	return q.data;
}

/* ", <column> = x.m<k>" for each measure. */
static char *
measure_assignments(const JobInfo *job)
{
	StringInfoData q;
	ListCell   *lc;

	initStringInfo(&q);
	foreach(lc, job->measures)
		appendStringInfo(&q, ", %s = x.m%d", quote_identifier(((JobMeasure *) lfirst(lc))->name),
						 foreach_current_index(lc) + 1);
	return q.data;
}

/* The measures' values of alias a: ", a.m<k>" each. */
static char *
measure_values(const JobInfo *job, const char *alias)
{
	StringInfoData q;

	initStringInfo(&q);
	for (int k = 1; k <= list_length(job->measures); k++)
		appendStringInfo(&q, ", %s.m%d", alias, k);
	return q.data;
}

/*
 * Sessions with their measures, from scratch, in one statement over the
 * source: each event gets its session's start from the window function
 * session_start() in (user, time) order, and the events are grouped by
 * user and session.  Columns u, session_start, last_event_at, session_end,
 * event_count, m1, m2, ...  gap_param is the parameter of the exact gap,
 * limit_param that of the latest time whose time + gap is in range (later
 * sessions end at infinity, as sessionize() says: parameter inf_param) and
 * for bigint times the largest bigint.  The session start is a column
 * beside the source's, under a name none of them has.
 */
static char *
grouped_sessions_sql(const JobInfo *job, int gap_param, int limit_param, int inf_param)
{
	char	   *ss = pstrdup("sessionize_session_start");

	for (int k = 1; get_attnum(job->source, ss) != InvalidAttrNumber; k++)
		ss = psprintf("sessionize_session_start_%d", k);
	return psprintf("SELECT e.%1$s AS u, e.%7$s AS session_start, "
					"       max(e.%2$s) AS last_event_at, "
					"       CASE WHEN max(e.%2$s) > $%5$d THEN $%8$d "
					"            ELSE max(e.%2$s) + $%4$d END AS session_end, "
					"       count(*) AS event_count%6$s "
					"FROM (SELECT e.*, sessionize.session_start(e.%2$s, $%4$d) "
					"             OVER (PARTITION BY e.%1$s ORDER BY e.%2$s) AS %7$s "
					"      FROM %3$s e WHERE e.%2$s IS NOT NULL) e "
					"GROUP BY e.%1$s, e.%7$s",
					job->user_ident, job->time_ident, job->source_name, gap_param, limit_param,
					measure_exprs(job), ss, inf_param);
}

/*
 * The measures of one session of a user (SQL expressions user, from and
 * last: the user, and the first and last time of the session's span),
 * recomputed from the source's events in that span, found through the
 * source's (user, time) index: a query with columns m1, m2, ...  A user's
 * events between the start and the last event of one of its sessions are
 * that session's.  NULL users are one user.
 */
char *
sessionize_measures_sql(const JobInfo *job, const char *user, const char *from, const char *last)
{
	return psprintf("SELECT %8$s FROM ("
					"  SELECT * FROM %1$s e WHERE e.%2$s %4$s %5$s "
					"  AND e.%3$s >= %6$s AND e.%3$s <= %7$s "
					"  UNION ALL "
					"  SELECT * FROM %1$s e WHERE %5$s IS NULL AND e.%2$s IS NULL "
					"  AND e.%3$s >= %6$s AND e.%3$s <= %7$s) e",
					job->source_name, job->user_ident, job->time_ident, job->user_eq,
					user, from, last, measure_exprs(job) + 2);
}

/*
 * The measures of the sessions of alias r (columns u, session_start,
 * last_event_at): a LATERAL item named x with columns m1, m2, ...
 */
static char *
measures_lateral(const JobInfo *job, const char *r)
{
	return psprintf("CROSS JOIN LATERAL (%s) x",
					sessionize_measures_sql(job, psprintf("%s.u", r),
											psprintf("%s.session_start", r),
											psprintf("%s.last_event_at", r)));
}

/* An interval as microseconds, days as 24 hours, clamped to [0, int64 max]. */
static int64
interval_usec_nonnegative(const Interval *iv)
{
	int64		days = (int64) iv->month * DAYS_PER_MONTH + iv->day;
	int64		usec;

	if (pg_mul_s64_overflow(days, USECS_PER_DAY, &usec) ||
		pg_add_s64_overflow(usec, iv->time, &usec))
		return days > 0 ? PG_INT64_MAX : 0;
	return Max(usec, 0);
}

/*
 * The watermark that a maximum event time gives: max_event_time minus the
 * allowed lateness (both in job time units).  For timestamps, -infinity
 * when that is before the timestamp range; for bigint times, the least
 * bigint when it is below it.  Saturating, so that no event time a writer
 * can insert makes runs fail.
 */
int64
sessionize_watermark_after(int64 max_event_time, int64 lateness, bool integer_times)
{
	int64		result;

	if (integer_times)
		return pg_sub_s64_overflow(max_event_time, lateness, &result) ? PG_INT64_MIN : result;
	if (TIMESTAMP_NOT_FINITE(max_event_time))
		return max_event_time;
	if (pg_sub_s64_overflow(max_event_time, lateness, &result) ||
		result < MIN_TIMESTAMP)
		return DT_NOBEGIN;
	return result;
}

/*
 * _watermark_after(max_event_time bigint, allowed_lateness interval,
 *					integer_allowed_lateness bigint) returns bigint: for
 * timestamps (allowed_lateness given) or bigint times; NULL without a
 * maximum event time.  Internal (not executable by PUBLIC); reads nothing.
 */
Datum
sessionize_watermark_after_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || (PG_ARGISNULL(1) && PG_ARGISNULL(2)))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(1))
		PG_RETURN_INT64(sessionize_watermark_after(PG_GETARG_INT64(0),
												   interval_usec_nonnegative(PG_GETARG_INTERVAL_P(1)),
												   false));
	PG_RETURN_INT64(sessionize_watermark_after(PG_GETARG_INT64(0),
											   Max(PG_GETARG_INT64(2), 0), true));
}

/*
 * A run applies the change log, which is whole only while the job's
 * capture triggers are on the source: refuse to run when one of its
 * statement triggers is missing (dropped, or not yet created by a restore
 * in progress) or disabled (ALTER TABLE ... DISABLE TRIGGER; the DDL event
 * trigger then asks for a rebuild, which the first run after capture is
 * back on does).  Caller holds a lock on the source.
 */
static void
check_capture_installed(const JobInfo *job)
{
	static const char *const kinds[] = {"insert", "update", "delete", "truncate"};
	Relation	rel = table_open(TriggerRelationId, AccessShareLock);
	int			i;

	for (i = 0; i < lengthof(kinds); i++)
	{
		char	   *name = psprintf("sessionize_job_" INT64_FORMAT "_%s", job->job_id, kinds[i]);
		ScanKeyData keys[2];
		SysScanDesc scan;
		HeapTuple	tup;
		bool		ok = false;

		ScanKeyInit(&keys[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(job->source));
		ScanKeyInit(&keys[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber, F_NAMEEQ,
					CStringGetDatum(name));
		scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 2, keys);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
			ok = ((Form_pg_trigger) GETSTRUCT(tup))->tgenabled != TRIGGER_DISABLED;
		systable_endscan(scan);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("change capture of job " INT64_FORMAT " is not on for %s",
							job->job_id, job->source_name),
					 errdetail("Its trigger \"%s\" is %s.", name,
							   HeapTupleIsValid(tup) ? "disabled" : "missing"),
					 errhint("Enable the trigger (the next run then rebuilds the sessions), or drop the job with sessionize.drop_job(" INT64_FORMAT ") and create it again.  During a restore, the job runs once the restore has created its triggers.",
							 job->job_id)));
	}
	table_close(rel, AccessShareLock);
}

/*
 * Check that the caller may use the job (a member of its owner, or a
 * superuser) and, with "lock", lock it (as the extension owner); then read
 * what we need of it and check it against the live relations.  The source
 * is locked ACCESS SHARE (no TRUNCATE can commit until we are done), the
 * target ROW EXCLUSIVE with "lock", ACCESS SHARE otherwise.  Caller holds
 * an SPI connection.
 */
void
sessionize_read_job(int64 job_id, bool lock, JobInfo *job)
{
	JobRecord	rec;
	Oid			usertype;
	TypeCacheEntry *typentry;
	Oid			source;

	/* a catalog of 0.1.0, before ALTER EXTENSION UPDATE: no lock, no run */
	sessionize_catalog_check_version();

	/* check (and lock: this waits for a run in progress to finish) */
	source = lock ? sessionize_catalog_lock_job(job_id, GetUserId())
		: sessionize_catalog_check_caller(job_id, GetUserId());

	/*
	 * No TRUNCATE or ALTER TABLE of the source can commit until we are done;
	 * one that committed while we waited is seen by the reads below.
	 */
	LockRelationOid(source, AccessShareLock);

	/*
	 * Then read the job with a new snapshot, which (in READ COMMITTED) sees
	 * what the run we may have waited for, and DDL on the source, committed.  In REPEATABLE READ or
	 * SERIALIZABLE, the lock above already failed if that run committed
	 * after our snapshot was taken.
	 */
	sessionize_catalog_read_job(job_id, &rec);

	job->job_id = job_id;
	job->source = rec.source;
	job->user_column = rec.user_column;
	job->time_column = rec.time_column;
	job->time_type = rec.time_type;
	job->gap = rec.gap;
	job->target = rec.target;
	job->owner = rec.owner;
	job->needs_rebuild = rec.needs_rebuild;
	job->have_max_event_time = rec.have_max_event_time;
	job->max_event_time = rec.max_event_time;
	job->have_watermark = rec.have_watermark;
	job->watermark = rec.watermark;
	job->log_name = sessionize_job_log_qualified(job_id);
	job->target_user_column = rec.target_user_column;
	job->user_type_oid = rec.user_type;
	job->notify_channel = rec.notify_channel;

	/*
	 * The gap and the lateness in job time units: for timestamps pure
	 * microseconds, a day being 24 hours.
	 */
	switch (job->time_type)
	{
		case TIMESTAMPTZOID:
			job->time_type_sql = "pg_catalog.timestamptz";
			break;
		case TIMESTAMPOID:
			job->time_type_sql = "pg_catalog.\"timestamp\"";
			break;
		case INT8OID:
			job->time_type_sql = "pg_catalog.int8";
			break;
		default:
			elog(ERROR, "job " INT64_FORMAT " has times of type %u", job_id, job->time_type);
	}
	if (job->time_type == INT8OID)
	{
		job->gap_ticks = session_check_positive_bigint(rec.integer_gap, "gap");
		job->lateness_ticks = Max(rec.integer_allowed_lateness, 0);
	}
	else
	{
		job->gap_ticks = session_interval_to_usec(job->gap, "gap");
		job->exact_gap = palloc0(sizeof(Interval));
		job->exact_gap->time = job->gap_ticks;
		job->lateness_ticks = interval_usec_nonnegative(rec.allowed_lateness);
	}

	/* the relations as they are now, locked so that they stay so */
	LockRelationOid(job->source, AccessShareLock);
	LockRelationOid(job->target, lock ? RowExclusiveLock : AccessShareLock);
	job->source_name = job_relation_name(job_id, job->source, "source");
	job->target_name = job_relation_name(job_id, job->target, "target");
	job->user_ident = pstrdup(quote_identifier(job->user_column));
	job->time_ident = pstrdup(quote_identifier(job->time_column));
	job->target_user_ident = pstrdup(quote_identifier(job->target_user_column));

	usertype = job_column_type(job_id, job->source, job->source_name, job->user_column,
							   "its user column", job->user_type_oid, false);
	(void) job_column_type(job_id, job->source, job->source_name, job->time_column,
						   "its time column", job->time_type, false);
	(void) job_column_type(job_id, job->target, job->target_name, job->target_user_column,
						   "the user column of its sessions", usertype, true);
	(void) job_column_type(job_id, job->target, job->target_name, "session_start",
						   "a column of its sessions", job->time_type, true);
	(void) job_column_type(job_id, job->target, job->target_name, "last_event_at",
						   "a column of its sessions", job->time_type, true);
	(void) job_column_type(job_id, job->target, job->target_name, "session_end",
						   "a column of its sessions", job->time_type, true);
	(void) job_column_type(job_id, job->target, job->target_name, "event_count",
						   "a column of its sessions", INT8OID, true);
	(void) job_column_type(job_id, job->target, job->target_name, "closed",
						   "a column of its sessions", BOOLOID, true);
	job->measures = sessionize_catalog_read_measures(job_id);
	check_measure_columns(job);
	(void) sessionize_measures_problem(job_id, job->source, job->owner, job->measures, true);
	if (lock)
		check_capture_installed(job);

	job->user_type = format_type_be_qualified(usertype);
	typentry = lookup_type_cache(usertype, TYPECACHE_EQ_OPR);
	if (!OidIsValid(typentry->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an equality operator for type %s",
						format_type_be(usertype))));
	job->user_eq = psprintf("OPERATOR(%s.=)",
							quote_identifier(get_namespace_name(operator_namespace(typentry->eq_opr))));
}

/*
 * Parameters shared by the pass's statements, typed for the job's times
 * (the statements' text is the same for every time type).  Every sum or
 * difference of timestamps in them saturates: a time whose session_end
 * (time + gap) is past the timestamp range reaches +infinity, a watermark
 * before it -infinity, so that no event a writer can insert makes a run
 * fail (and every run after it, as its log entry stays).  Bigint times
 * have no infinities: a watermark below the least bigint is that bigint,
 * and a session_end past the largest one is an error, as in sessionize()
 * (README, Semantics).  SQL_PLUS_GAP(x) and SQL_WATERMARK are those sums
 * in SQL.
 */
#define RUN_NPARAMS 8
#define SQL_PLUS_GAP(x) \
	"(CASE WHEN " x " > $5 THEN $8 ELSE " x " + $1 END)"
#define SQL_WATERMARK \
	"greatest($4, CASE WHEN max_ts < $6 THEN $7 ELSE max_ts - $3 END)"

/* The latest time t of a job whose t + gap is in range, and infinity. */
static int64
plus_gap_limit(const JobInfo *job)
{
	return job->time_type == INT8OID ? PG_INT64_MAX : END_TIMESTAMP - 1 - job->gap_ticks;
}

static void
run_params(const JobInfo *job, Oid *types, Datum *values, char *nulls)
{
	Oid			t = job->time_type;
	int64		floor = t == INT8OID ? PG_INT64_MIN : MIN_TIMESTAMP;
	int64		earliest;

	if (pg_add_s64_overflow(floor, job->lateness_ticks, &earliest))
		earliest = PG_INT64_MAX;

	memset(nulls, ' ', RUN_NPARAMS);
	if (t == INT8OID)
	{
		types[0] = INT8OID;		/* $1 gap */
		values[0] = Int64GetDatum(job->gap_ticks);
		types[2] = INT8OID;		/* $3 allowed lateness */
		values[2] = Int64GetDatum(job->lateness_ticks);
	}
	else
	{
		Interval   *lateness = palloc0(sizeof(Interval));

		lateness->time = job->lateness_ticks;
		types[0] = INTERVALOID; /* $1 exact gap */
		values[0] = IntervalPGetDatum(job->exact_gap);
		types[2] = INTERVALOID; /* $3 exact allowed lateness */
		values[2] = IntervalPGetDatum(lateness);
	}
	types[1] = t;				/* $2 max event time so far */
	values[1] = Int64GetDatum(job->max_event_time);
	nulls[1] = job->have_max_event_time ? ' ' : 'n';
	types[3] = t;				/* $4 watermark so far */
	values[3] = Int64GetDatum(job->watermark);
	nulls[3] = job->have_watermark ? ' ' : 'n';
	types[4] = t;				/* $5 the latest time t with t + gap in range */
	values[4] = Int64GetDatum(plus_gap_limit(job));
	types[5] = t;				/* $6 the earliest t with t - lateness in range */
	values[5] = Int64GetDatum(earliest);
	types[6] = t;				/* $7 -infinity, or the least bigint */
	values[6] = Int64GetDatum(PG_INT64_MIN);
	types[7] = t;				/* $8 infinity, or the largest bigint */
	values[7] = Int64GetDatum(PG_INT64_MAX);
}

/*
 * The statement that rebuilds the target from the whole source, with the
 * sessions (columns u, session_start, last_event_at, session_end,
 * event_count, m1, m2, ...) of sessionize() when the job has no measures;
 * else from built, the name of a registered tuplestore of the sessions and
 * their measures (measures_build.c), or if NULL grouped in one statement.
 * From built, it reads the tuplestore once: the build counted the events
 * and sessions, and $2 is already the new max event time
 * (run_native_build()); the statement's counts are 0.
 */
static char *
rebuild_sql(const JobInfo *job, const char *built)
{
	StringInfoData q;

	initStringInfo(&q);
	appendStringInfo(&q, "WITH ch AS (DELETE FROM %s RETURNING kind, n, late), ", job->log_name);
	if (built != NULL)
		appendStringInfoString(&q, "wm AS (SELECT $2 AS max_ts), ");
	else
		appendStringInfo(&q,
						 "srf AS MATERIALIZED (%s), "
						 "wm AS (SELECT greatest($2, (SELECT max(last_event_at) FROM srf)) AS max_ts), ",
						 job->measures != NIL ? grouped_sessions_sql(job, 1, 5, 8) :
						 psprintf("SELECT * FROM sessionize.sessionize(%s, %s, %s, $1) "
								  "AS s(u %s, session_start %s, last_event_at %s, "
								  "     session_end %s, event_count bigint)",
								  quote_literal_cstr(job->source_name),
								  quote_literal_cstr(job->user_column),
								  quote_literal_cstr(job->time_column),
								  job->user_type, job->time_type_sql, job->time_type_sql,
								  job->time_type_sql));
	appendStringInfo(&q,
					 "wm2 AS (SELECT max_ts, " SQL_WATERMARK " AS watermark FROM wm), "
					 "ins AS (INSERT INTO %s (%s, session_start, last_event_at, session_end, event_count, closed%s) "
					 "        SELECT s.u, s.session_start, s.last_event_at, s.session_end, s.event_count, "
					 "               coalesce(s.session_end <= w.watermark, false)%s "
					 "        FROM %s s, wm2 w%s) "
					 "SELECT %s, 0::bigint, %s, 0::bigint, "
					 "       (SELECT coalesce(sum(l), 0) FROM ch, unnest(ch.late) l)::bigint, w.max_ts, w.watermark, 0::bigint "
					 "FROM wm2 w",
					 job->target_name, job->target_user_ident, sessionize_measure_columns(job),
					 measure_values(job, "s"),
					 built != NULL ? built : "srf",
					 built != NULL ? "" : " RETURNING event_count",
					 built != NULL ? "0::bigint" : "(SELECT coalesce(sum(event_count), 0) FROM ins)::bigint",
					 built != NULL ? "0::bigint" : "(SELECT count(*) FROM ins)");
	return q.data;
}

/*
 * The stored sessions that the changes of chk rows touch: those that start
 * at most a gap after the change's last time and end (last event + gap) at
 * or after its first time.  same_user matches target rows t to the change
 * c; for_change filters the changes.
 *
 * For each change, one backward index scan finds f, the latest session
 * that starts by hi + gap.  When f starts at or before lo (what an append
 * finds: the change lands in or after the user's latest session), f is the
 * only candidate.  Only when f starts after lo (an earlier event) are the
 * sessions starting in (lo, f) and the latest one starting by lo read too;
 * the planner turns the test on f into a one-time filter, so appends pay
 * for one index probe each.
 */
static char *
touched_branch(const JobInfo *job, const char *same_user, const char *for_change)
{
	const char *T = job->target_name;
	const char *U = job->target_user_ident;
	char	   *cols_t = psprintf("t.ctid AS tid, t.%s AS u, t.session_start, t.last_event_at, t.event_count, t.session_end", U);

	return psprintf("SELECT y.*, c.recompute FROM chk c "
					"CROSS JOIN LATERAL (SELECT %1$s FROM %2$s t WHERE %3$s AND t.session_start <= " SQL_PLUS_GAP("c.hi") " "
					"                    ORDER BY t.session_start DESC LIMIT 1) f "
					"CROSS JOIN LATERAL ("
					"  SELECT f.tid, f.u, f.session_start, f.last_event_at, f.event_count, f.session_end "
					"  UNION ALL "
					"  (SELECT %1$s FROM %2$s t WHERE f.session_start > c.lo AND %3$s "
					"   AND t.session_start > c.lo AND t.session_start < f.session_start) "
					"  UNION ALL "
					"  (SELECT %1$s FROM %2$s t WHERE f.session_start > c.lo AND %3$s AND t.session_start <= c.lo "
					"   ORDER BY t.session_start DESC LIMIT 1)"
					") y WHERE %4$s AND y.session_end >= c.lo",
					cols_t, T, same_user, for_change);
}

/*
 * The incremental statement.  Names: ch = the consumed log; recompute =
 * the user has deleted rows, so its spans are re-read from the source;
 * touched = stored sessions that a change may join (the one starting at or
 * before the change, if it reaches it, and those starting within the change
 * plus the gap: both found by index on (user, session_start), so the cost
 * follows the change, not the user's history); merged = new sessions of
 * users with inserts only, from touched sessions and the inserted sessions,
 * without reading events; spans and reread = new sessions of the other
 * users, re-read from the source.  A new session that keeps the start of a
 * touched one updates that row in place (usually a HOT update: an append
 * that extends a user's latest session); the other touched rows are
 * deleted and the other new sessions inserted, so no key is ever deleted
 * and inserted in the same statement.
 */
static char *
incremental_sql(const JobInfo *job)
{
	StringInfoData q;
	const char *T = job->target_name;
	const char *U = job->user_ident;
	const char *TU = job->target_user_ident;
	const char *EQ = job->user_eq;
	char	   *same_user = psprintf("(%%1$s.u %s %%2$s.u OR (%%1$s.u IS NULL AND %%2$s.u IS NULL))", EQ);
	char	   *same_user_tf = psprintf(same_user, "t", "f");
	char	   *same_user_mf = psprintf(same_user, "m", "f");
	char	   *touched_nn;
	char	   *touched_null;

	touched_nn = touched_branch(job, psprintf("t.%s %s c.u", TU, EQ), "c.u IS NOT NULL");
	touched_null = touched_branch(job, psprintf("t.%s IS NULL", TU), "c.u IS NULL");

	initStringInfo(&q);
	appendStringInfo(&q,
					 "WITH dl AS (DELETE FROM %s RETURNING kind, u, lo, hi, n, late), "
					 "ch AS (SELECT dl.kind, x.* FROM dl, unnest(dl.u, dl.lo, dl.hi, dl.n, dl.late) AS x(u, lo, hi, n, late)), "
					 "chk AS (SELECT c.*, bool_or(c.kind = 'd') OVER (PARTITION BY c.u) AS recompute "
					 "        FROM ch c WHERE c.kind IN ('i', 'd')), "
					 "wm AS (SELECT greatest($2, (SELECT max(hi) FROM ch WHERE kind = 'i')) AS max_ts), "
					 "wm2 AS (SELECT max_ts, " SQL_WATERMARK " AS watermark FROM wm), ",
					 job->log_name);
	appendStringInfo(&q,
					 "touched AS (SELECT DISTINCT ON (x.tid) x.tid, x.u, x.session_start, x.last_event_at, x.event_count, x.recompute "
					 "  FROM (%1$s UNION ALL %2$s) x "
					 "  ORDER BY x.tid, x.recompute DESC), ",
					 touched_nn, touched_null);

	appendStringInfo(&q,
					 "merged AS (SELECT x.u, sessionize.merge_sessions(x.lo, x.hi, x.n, $1) AS ss FROM ("
					 "    SELECT u, lo, hi, n FROM chk WHERE kind = 'i' AND NOT recompute "
					 "    UNION ALL SELECT u, session_start, last_event_at, event_count FROM touched WHERE NOT recompute) x "
					 "  GROUP BY x.u), "
					 "spans AS (SELECT x.u, s.session_start AS a, s.last_event_at AS b FROM ("
					 "    SELECT y.u, sessionize.merge_sessions(y.lo, y.hi, CASE WHEN y.lo = y.hi THEN 1 ELSE 2 END, $1) AS ss "
					 "    FROM (SELECT u, lo, hi FROM chk WHERE recompute "
					 "          UNION ALL SELECT u, session_start, last_event_at FROM touched WHERE recompute) y "
					 "    GROUP BY y.u) x, unnest(x.ss) s), ");
	appendStringInfo(&q,
					 "reread AS ("
					 "  SELECT p.u, sessionize.sessions(e.%1$s, $1) AS ss "
					 "  FROM spans p JOIN %2$s e ON e.%3$s %4$s p.u AND e.%1$s >= p.a AND e.%1$s <= p.b GROUP BY p.u, p.a "
					 "  UNION ALL "
					 "  SELECT p.u, sessionize.sessions(e.%1$s, $1) "
					 "  FROM spans p JOIN %2$s e ON p.u IS NULL AND e.%3$s IS NULL AND e.%1$s >= p.a AND e.%1$s <= p.b GROUP BY p.u, p.a), ",
					 job->time_ident, job->source_name, U, EQ);
	appendStringInfo(&q,
					 "fresh AS (SELECT m.u, s.* FROM merged m, unnest(m.ss) s "
					 "          UNION ALL SELECT r.u, s.* FROM reread r, unnest(r.ss) s), "
					 "matched AS (SELECT t.tid, f.* FROM fresh f JOIN touched t "
					 "            ON t.session_start = f.session_start AND %2$s), "
					 "upd AS (UPDATE %1$s t SET last_event_at = m.last_event_at, session_end = m.session_end, "
					 "        event_count = m.event_count, closed = coalesce(m.session_end <= w.watermark, false)%5$s "
					 "        FROM matched m %6$s, wm2 w WHERE t.ctid = m.tid RETURNING 1), "
					 "del AS (DELETE FROM %1$s t WHERE t.ctid IN (SELECT tid FROM touched EXCEPT ALL SELECT tid FROM matched) "
					 "        RETURNING 1), "
					 "ins AS (INSERT INTO %1$s (%4$s, session_start, last_event_at, session_end, event_count, closed%7$s) "
					 "        SELECT f.u, f.session_start, f.last_event_at, f.session_end, f.event_count, "
					 "               coalesce(f.session_end <= w.watermark, false)%8$s "
					 "        FROM fresh f %9$s, wm2 w "
					 "        WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.session_start = f.session_start AND %3$s) "
					 "        RETURNING 1) "
					 "SELECT (SELECT coalesce(sum(n), 0) FROM ch WHERE kind = 'i')::bigint, "
					 "       (SELECT coalesce(sum(n), 0) FROM ch WHERE kind = 'd')::bigint, "
					 "       (SELECT count(*) FROM ins), (SELECT count(*) FROM del), "
					 "       (SELECT coalesce(sum(late), 0) FROM ch)::bigint, w.max_ts, w.watermark, "
					 "       (SELECT count(*) FROM upd) "
					 "FROM wm2 w",
					 T, same_user_tf, same_user_mf, TU,
					 measure_assignments(job), job->measures ? measures_lateral(job, "m") : "",
					 sessionize_measure_columns(job), measure_values(job, "x"),
					 job->measures ? measures_lateral(job, "f") : "");
	return q.data;
}

/*
 * verify()'s statement: the target's rows that a recomputation from the
 * source does not give ('unexpected') and those it gives that the target
 * lacks ('missing'), the user as text, the measures as the text of one
 * row of them (NULL without measures), the times as text.  Parameters: $1
 * source, $2 user column, $3 time column, $4 gap, $5 job id, $6 the latest
 * time t with t + gap in range, $7 the exact gap, $8 infinity (see
 * run_params()).  The watermark is read in the same statement as the
 * target, hence in the same snapshot.
 */
static char *
verify_sql(const JobInfo *job)
{
	StringInfoData q;
	StringInfoData tm;

	/* the measures, as one text each side */
	initStringInfo(&tm);
	if (job->measures == NIL)
		appendStringInfoString(&tm, "NULL::pg_catalog.text");
	else
	{
		ListCell   *lc;

		appendStringInfoString(&tm, "ROW(");
		foreach(lc, job->measures)
			appendStringInfo(&tm, "%st.%s", foreach_current_index(lc) > 0 ? ", " : "",
							 quote_identifier(((JobMeasure *) lfirst(lc))->name));
		appendStringInfoString(&tm, ")::pg_catalog.text");
	}

	initStringInfo(&q);
	appendStringInfo(&q,
					 "WITH wm AS MATERIALIZED (SELECT sessionize._job_time(s.watermark, NULL::%4$s) AS watermark "
					 "                         FROM sessionize.job_state s WHERE s.job_id = $5), "
					 "tr AS MATERIALIZED (SELECT t.%1$s::pg_catalog.text AS u, t.session_start, t.last_event_at, "
					 "                           t.session_end, t.event_count, t.closed, %3$s AS measures FROM %2$s t), ",
					 job->target_user_ident, job->target_name, tm.data, job->time_type_sql);
	if (job->measures == NIL)
		appendStringInfo(&q,
						 "ex AS MATERIALIZED (SELECT s.u::pg_catalog.text AS u, s.session_start, s.last_event_at, "
						 "                           s.session_end, s.event_count, "
						 "                           coalesce(s.session_end <= (SELECT watermark FROM wm), false) AS closed, "
						 "                           NULL::pg_catalog.text AS measures "
						 "  FROM sessionize.sessionize($1, $2, $3, $4) "
						 "  AS s(u %s, session_start %s, last_event_at %s, "
						 "       session_end %s, event_count bigint)) ",
						 job->user_type, job->time_type_sql, job->time_type_sql, job->time_type_sql);
	else
		appendStringInfo(&q,
						 "ex AS MATERIALIZED (SELECT s.u::pg_catalog.text AS u, s.session_start, s.last_event_at, "
						 "                           s.session_end, s.event_count, "
						 "                           coalesce(s.session_end <= (SELECT watermark FROM wm), false) AS closed, "
						 "                           ROW(%s)::pg_catalog.text AS measures "
						 "  FROM (%s) s) ",
						 measure_values(job, "s") + 2, grouped_sessions_sql(job, 7, 6, 8));
	appendStringInfoString(&q,
						   "SELECT d.difference, d.u, d.session_start::pg_catalog.text, "
						   "       d.last_event_at::pg_catalog.text, d.session_end::pg_catalog.text, "
						   "       d.event_count, d.closed, d.measures "
						   "FROM ((SELECT 'unexpected'::pg_catalog.text AS difference, d.* "
						   "       FROM (TABLE tr EXCEPT ALL TABLE ex) d) "
						   "      UNION ALL (SELECT 'missing'::pg_catalog.text, d.* "
						   "                 FROM (TABLE ex EXCEPT ALL TABLE tr) d)) d "
						   "ORDER BY d.u, d.session_start, d.difference");
	return q.data;
}

/* Rows verify() fetches at a time. */
#define VERIFY_BATCH_ROWS	10000

/*
 * verify() of job_id: put the rows where its target differs from a
 * recomputation into "result" (of verify()'s row type "desc").  The caller
 * must be a member of the job's owner, or a superuser, as for run_job();
 * the job is not locked.  Everything that reads the source or the target
 * runs as the job owner, restricted, with a pinned search_path: the cast of
 * the user column to text and its comparisons may be code of the job
 * owner's choosing, which must never run as whoever calls verify().
 */
void
sessionize_verify_job(int64 job_id, Tuplestorestate *result, TupleDesc desc)
{
	JobInfo		job;
	Oid			types[8] = {REGCLASSOID, NAMEOID, NAMEOID, INTERVALOID, INT8OID,
	InvalidOid, INTERVALOID, InvalidOid};
	Datum		values[8];
	SessionizeIdentity saved;
	Portal		portal;
	char	   *sql;

	Assert(desc->natts == 8);
	memset(&job, 0, sizeof(job));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sessionize_read_job(job_id, false, &job);
	sql = verify_sql(&job);

	values[0] = ObjectIdGetDatum(job.source);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(job.user_column));
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(job.time_column));
	values[4] = Int64GetDatum(job.job_id);
	types[5] = job.time_type;
	values[5] = Int64GetDatum(plus_gap_limit(&job));
	types[7] = job.time_type;
	values[7] = Int64GetDatum(PG_INT64_MAX);
	if (job.time_type == INT8OID)
	{
		types[3] = types[6] = INT8OID;
		values[3] = values[6] = Int64GetDatum(job.gap_ticks);
	}
	else
	{
		values[3] = IntervalPGetDatum(job.gap);
		values[6] = IntervalPGetDatum(job.exact_gap);
	}

	sessionize_become(job.owner, true, &saved);
	if (job.measures != NIL)
	{
		/* the recomputation reads the source as a full build does */
		(void) set_config_option("enable_indexscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	portal = SPI_cursor_open_with_args(NULL, sql, 8, types, values, NULL, false, 0);
	sessionize_restore(&saved);
	for (;;)
	{
		uint64		row;

		sessionize_become(job.owner, true, &saved);
		SPI_cursor_fetch(portal, true, VERIFY_BATCH_ROWS);
		sessionize_restore(&saved);
		if (SPI_processed == 0)
			break;
		for (row = 0; row < SPI_processed; row++)
		{
			Datum		cols[8];
			bool		nulls[8];
			int			k;

			for (k = 0; k < 8; k++)
				cols[k] = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
										k + 1, &nulls[k]);
			tuplestore_putvalues(result, desc, cols, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	sessionize_become(job.owner, true, &saved);
	SPI_cursor_close(portal);
	sessionize_restore(&saved);
	SPI_finish();
}

/* Run one of the pass's statements as the job owner; it returns one row. */
static void
run_as_owner(const JobInfo *job, const char *sql, int expected, bool full_scan,
			 Snapshot snapshot, RunResult *res)
{
	Oid			types[RUN_NPARAMS];
	Datum		values[RUN_NPARAMS];
	char		nulls[RUN_NPARAMS];
	SessionizeIdentity saved;
	int			ret;

	run_params(job, types, values, nulls);
	sessionize_become(job->owner, true, &saved);

	/*
	 * The planner's estimates for these statements are far off (it cannot
	 * know how many changes the log holds), and JIT compiling them would
	 * cost more than running them.
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * A full build with measures reads the whole source in (user, time)
	 * order.  Events are written in time order, so the (user, time) index
	 * visits the heap at random: a sequential scan and a sort take a good
	 * third less (measured with test/bench/measures.sh).
	 */
	if (full_scan)
	{
		(void) set_config_option("enable_indexscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (snapshot == InvalidSnapshot)
		ret = SPI_execute_with_args(sql, RUN_NPARAMS, types, values, nulls, false, 0);
	else
	{
		SPIPlanPtr	plan = SPI_prepare(sql, RUN_NPARAMS, types);

		if (plan == NULL)
			elog(ERROR, "job " INT64_FORMAT " could not prepare its statement: %s",
				 job->job_id, SPI_result_code_string(SPI_result));
		ret = SPI_execute_snapshot(plan, values, nulls, snapshot, InvalidSnapshot,
								   false, true, 0);
		SPI_freeplan(plan);
	}
	sessionize_restore(&saved);
	if (ret != expected)
		elog(ERROR, "job " INT64_FORMAT " statement failed: %s",
			 job->job_id, SPI_result_code_string(ret));

	if (res != NULL)
	{
		if (SPI_processed != 1)
			elog(ERROR, "job " INT64_FORMAT " statement returned " UINT64_FORMAT " rows",
				 job->job_id, SPI_processed);
		res->events_inserted += spi_int64(0, 1);
		res->events_deleted += spi_int64(0, 2);
		res->sessions_inserted += spi_int64(0, 3);
		res->sessions_deleted += spi_int64(0, 4);
		res->late_events += spi_int64(0, 5);
		res->have_max_event_time = spi_time(0, 6, &res->max_event_time);
		res->have_watermark = spi_time(0, 7, &res->watermark);
		res->sessions_updated += spi_int64(0, 8);
	}
}

/* The name under which a native build's sessions are read. */
#define BUILT_SESSIONS "sessionize_built_sessions"

/*
 * The full build of a job with measures, natively (measures_build.c): the
 * sessions and their measures computed in one pass as the job owner,
 * restricted, then written by rebuild_sql() from that tuplestore, which the
 * statement reads as a named relation.  The pass and the statement (which
 * also empties the change log) share one snapshot, so that no change is
 * both missed by the pass and taken from the log.  False (nothing done)
 * when that build does not apply to the job or gave up.
 */
static bool
run_native_build(const JobInfo *job, RunResult *res, char **why)
{
	Snapshot	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	SessionizeIdentity saved;
	Tuplestorestate *built;
	TupleDesc	desc;
	BuildTotals totals;
	JobInfo		after;
	EphemeralNamedRelation enr;

	sessionize_become(job->owner, true, &saved);
	PushActiveSnapshot(snapshot);
	built = sessionize_build_measures(job->source, job->source_name, job->user_column,
									  job->time_column, sessionize_job_time_kind(job),
									  job->gap_ticks, job->measures, &desc, &totals, why);
	PopActiveSnapshot();
	sessionize_restore(&saved);
	if (built == NULL)
	{
		UnregisterSnapshot(snapshot);
		return false;
	}

	enr = palloc0(sizeof(EphemeralNamedRelationData));
	enr->md.name = BUILT_SESSIONS;
	enr->md.reliddesc = InvalidOid;
	enr->md.tupdesc = desc;
	enr->md.enrtype = ENR_NAMED_TUPLESTORE;
	enr->md.enrtuples = tuplestore_tuple_count(built);
	enr->reldata = built;
	if (SPI_register_relation(enr) != SPI_OK_REL_REGISTER)
		elog(ERROR, "could not register the sessions of job " INT64_FORMAT, job->job_id);
	/* (the statement's $2, the max event time, with the build's) */
	after = *job;
	if (totals.have_max_time &&
		(!after.have_max_event_time || totals.max_time > after.max_event_time))
	{
		after.have_max_event_time = true;
		after.max_event_time = totals.max_time;
	}
	run_as_owner(&after, rebuild_sql(job, BUILT_SESSIONS), SPI_OK_SELECT, false, snapshot, res);
	res->events_inserted += totals.events;
	res->sessions_inserted += totals.sessions;
	if (totals.numeric_values > 0)
		ereport(DEBUG1,
				(errmsg_internal("job " INT64_FORMAT ": the one-pass build read " INT64_FORMAT
								 " numeric values and summed or compared " INT64_FORMAT " of them as scaled integers",
								 job->job_id, totals.numeric_values, totals.numeric_scaled)));
	if (SPI_unregister_relation(BUILT_SESSIONS) != SPI_OK_REL_UNREGISTER)
		elog(ERROR, "could not unregister the sessions of job " INT64_FORMAT, job->job_id);
	tuplestore_end(built);
	UnregisterSnapshot(snapshot);
	return true;
}

/*
 * The full build, with sessionize() reporting its progress meanwhile.  For
 * a job with measures, returns how they were computed (a sentence for the
 * build's NOTICE); else NULL.
 */
static char *
run_full_build(const JobInfo *job, RunResult *res)
{
	char	   *sql;
	char	   *why = NULL;

	if (job->measures != NIL && run_native_build(job, res, &why))
		return "Its measures were computed in the same pass over the source.";
	sql = rebuild_sql(job, NULL);

	sessionize_report_progress(job->job_id, BUILD_PROGRESS_ROWS);
	PG_TRY();
	{
		run_as_owner(job, sql, SPI_OK_SELECT, job->measures != NIL, InvalidSnapshot, res);
	}
	PG_CATCH();
	{
		sessionize_report_progress(0, 0);
		PG_RE_THROW();
	}
	PG_END_TRY();
	sessionize_report_progress(0, 0);
	if (job->measures == NIL)
		return NULL;
	return psprintf("Its measures were computed with SQL, since %s.", why);
}

/*
 * Has the target no index at all?  Then it is one that create_job() made,
 * which gets no index until its first full build has loaded it, or one
 * whose indexes were dropped: either way the full build loads it first and
 * builds the job's two indexes afterwards (index_target()), about twice as
 * fast as maintaining them row by row (test/bench/jobs.sh).  A target with
 * any index keeps what it has.  Reads the catalog only.
 */
static bool
target_has_no_index(const JobInfo *job)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(job->target)};
	bool		isnull;
	bool		result;

	if (SPI_execute_with_args("SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index "
							  "WHERE indrelid OPERATOR(pg_catalog.=) $1)",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the indexes of the target of job " INT64_FORMAT, job->job_id);
	result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return result && !isnull;
}

/*
 * The job's two indexes on a target just loaded, as the job owner (who owns
 * the target), restricted: the unique session key (user, session_start),
 * which run_job() looks sessions up by, and the open sessions, which it
 * closes as the watermark passes them.  The statements are those of
 * _create_job(), which makes them on a reused target.  CREATE INDEX blocks
 * writers to the target (the job is its only one), not its readers.
 */
static void
index_target(const JobInfo *job)
{
	SessionizeIdentity saved;
	bool		ok;

	sessionize_become(job->owner, true, &saved);
	ok = SPI_execute(psprintf("CREATE UNIQUE INDEX ON %s (%s, session_start)",
							  job->target_name, job->target_user_ident), false, 0) == SPI_OK_UTILITY &&
		SPI_execute(psprintf("CREATE INDEX ON %s (session_start) WHERE NOT closed",
							 job->target_name), false, 0) == SPI_OK_UTILITY;
	sessionize_restore(&saved);
	if (!ok)
		elog(ERROR, "could not index the target of job " INT64_FORMAT, job->job_id);
}

/* Does the log hold a row that meets condition? */
static bool
log_has(const JobInfo *job, const char *condition)
{
	SessionizeIdentity saved;
	char	   *sql = psprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE %s)", job->log_name, condition);
	int			ret;
	bool		isnull;
	bool		result;

	sessionize_become(job->owner, true, &saved);
	ret = SPI_execute(sql, false, 1);
	sessionize_restore(&saved);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the change log of job " INT64_FORMAT, job->job_id);
	result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return result && !isnull;
}

/*
 * Close the sessions that the new watermark passed, as the job owner, and
 * count them with their time range (for the NOTIFY payload and history).
 */
static void
close_sessions(const JobInfo *job, RunResult *res)
{
	Oid			types[1] = {job->time_type};
	Datum		wm[1] = {Int64GetDatum(res->watermark)};
	SessionizeIdentity saved;
	int			ret;
	bool		isnull;
	Datum		d;

	sessionize_become(job->owner, true, &saved);
	ret = SPI_execute_with_args(psprintf("WITH c AS (UPDATE %s SET closed = true "
										 "WHERE NOT closed AND session_end <= $1 "
										 "RETURNING session_start, session_end) "
										 "SELECT count(*), min(session_start), max(session_end) FROM c",
										 job->target_name),
								1, types, wm, NULL, false, 0);
	sessionize_restore(&saved);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not close the sessions of job " INT64_FORMAT, job->job_id);
	res->sessions_closed = spi_int64(0, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
		res->closed_first_start = DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (!isnull)
		res->closed_last_end = DatumGetInt64(d);
}

/* A time of the job's type as JSON: a string for timestamps, a number for bigint. */
static void
json_time(StringInfo buf, const JobInfo *job, const char *key, bool have, int64 value)
{
	char		ts[MAXDATELEN + 1];

	appendStringInfo(buf, ", \"%s\": ", key);
	if (!have)
		appendStringInfoString(buf, "null");
	else if (job->time_type == INT8OID)
		appendStringInfo(buf, INT64_FORMAT, value);
	else
		appendStringInfo(buf, "\"%s\"",
						 JsonEncodeDateTime(ts, Int64GetDatum(value), job->time_type, NULL));
}

/*
 * After a run that opened, changed or closed sessions, a NOTIFY on the
 * job's channel, which PostgreSQL delivers when (and if) the transaction
 * commits.  The payload is JSON: the job, the run's counts, the time range
 * of the sessions it closed (first start, last end) and the watermark.
 */
static void
notify_run(const JobInfo *job, const RunResult *res)
{
	StringInfoData buf;

	if (job->notify_channel == NULL ||
		res->sessions_inserted + res->sessions_updated + res->sessions_deleted +
		res->sessions_closed == 0)
		return;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"job_id\": " INT64_FORMAT, job->job_id);
	appendStringInfo(&buf, ", \"events_inserted\": " INT64_FORMAT, res->events_inserted);
	appendStringInfo(&buf, ", \"events_deleted\": " INT64_FORMAT, res->events_deleted);
	appendStringInfo(&buf, ", \"late_events\": " INT64_FORMAT, res->late_events);
	appendStringInfo(&buf, ", \"sessions_inserted\": " INT64_FORMAT, res->sessions_inserted);
	appendStringInfo(&buf, ", \"sessions_updated\": " INT64_FORMAT, res->sessions_updated);
	appendStringInfo(&buf, ", \"sessions_deleted\": " INT64_FORMAT, res->sessions_deleted);
	appendStringInfo(&buf, ", \"sessions_closed\": " INT64_FORMAT, res->sessions_closed);
	json_time(&buf, job, "closed_first_start", res->sessions_closed > 0, res->closed_first_start);
	json_time(&buf, job, "closed_last_end", res->sessions_closed > 0, res->closed_last_end);
	json_time(&buf, job, "watermark", res->have_watermark, res->watermark);
	appendStringInfo(&buf, ", \"full_rebuild\": %s}", res->full_rebuild ? "true" : "false");
	Async_Notify(job->notify_channel, buf.data);
}

/*
 * The run core: see the file header.  Runs in the caller's transaction,
 * for the current user (who must be a member of the job's owner).
 */
void
sessionize_run(int64 job_id, RunResult *res)
{
	TimestampTz started = GetCurrentTimestamp();
	JobInfo		job;
	bool		had_watermark;
	int64		old_watermark;

	memset(&job, 0, sizeof(job));
	memset(res, 0, sizeof(*res));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	sessionize_read_job(job_id, true, &job);
	res->time_type = job.time_type;

	had_watermark = job.have_watermark;
	old_watermark = job.watermark;

	/*
	 * A TRUNCATE, a change capture could not log, or entries summarised with
	 * another gap than the job's (written by a transaction that read the
	 * catalog before alter_job() changed it) make the run rebuild.
	 */
	res->full_rebuild = job.needs_rebuild ||
		log_has(&job, psprintf("kind = 't' OR gap IS DISTINCT FROM " INT64_FORMAT,
							   job.gap_ticks));
	if (res->full_rebuild)
	{
		SessionizeIdentity saved;
		int			ret;
		bool		index_after = target_has_no_index(&job);
		char	   *how;

		/* empty the target first: new sessions may reuse old keys */
		sessionize_become(job.owner, true, &saved);
		ret = SPI_execute(psprintf("DELETE FROM %s", job.target_name), false, 0);
		sessionize_restore(&saved);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "could not empty the target of job " INT64_FORMAT, job.job_id);
		res->sessions_deleted = SPI_processed;
		how = run_full_build(&job, res);
		if (index_after)
			index_target(&job);
		ereport(NOTICE,
				(errmsg("job " INT64_FORMAT ": built %s from %s: " INT64_FORMAT " events in " INT64_FORMAT " sessions",
						job.job_id, job.target_name, job.source_name,
						res->events_inserted, res->sessions_inserted),
				 how != NULL ? errdetail_internal("%s", how) : 0));
	}
	else
	{
		/*
		 * Inserted events first, on the fast path when it applies; then, in
		 * SQL, whatever is left in the log (deletes and updates, or all of it
		 * when the fast path does not apply).  Both compute the measures of
		 * the sessions they write in the snapshot in which they read the
		 * log.
		 */
		if (!sessionize_apply_inserts(&job, res) || log_has(&job, "true"))
			run_as_owner(&job, incremental_sql(&job), SPI_OK_SELECT, false, InvalidSnapshot, res);
	}

	/* sessions that the watermark passed are closed */
	if (res->have_watermark &&
		(!had_watermark || res->watermark > old_watermark))
		close_sessions(&job, res);

	sessionize_catalog_record_run(job.job_id, res, started);
	notify_run(&job, res);
	SPI_finish();
}
