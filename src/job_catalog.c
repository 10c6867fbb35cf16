/*-------------------------------------------------------------------------
 *
 * job_catalog.c
 *	  Every read and write of the job catalog, with its SQL in one place.
 *
 * Each statement is written here once, with a comment saying what it
 * returns, and its result columns are read by the names below, not by
 * numbers spread over the callers.  All of them run as the extension
 * owner, who owns the catalog, in a non-restricted context (they run no
 * code of job owners: the catalog tables have no user-defined triggers,
 * defaults or policies, and search_path is pinned).  The caller holds an
 * SPI connection.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "job_catalog.h"
#include "security.h"

/*
 * A time in job time units (see job_catalog.h) as text, in the output form
 * of its type: how job_status, run_job(), run_due_jobs() and the run
 * history show a watermark.
 */
Datum
sessionize_job_time_text(Oid timetype, int64 ticks)
{
	Oid			typoutput;
	bool		typisvarlena;

	getTypeOutputInfo(timetype, &typoutput, &typisvarlena);
	return CStringGetTextDatum(OidOutputFunctionCall(typoutput, Int64GetDatum(ticks)));
}

/* Keep in step with sessionize._job_object(job_id, 'log') in the install script. */
char *
sessionize_job_log_name(int64 job_id)
{
	return psprintf("job_" INT64_FORMAT "_log", job_id);
}

char *
sessionize_job_log_qualified(int64 job_id)
{
	return psprintf("sessionize.%s", quote_identifier(sessionize_job_log_name(job_id)));
}

/* Run a statement as the extension owner; returns SPI's result code. */
static int
catalog_execute(const char *sql, int nargs, Oid *types, Datum *values,
				const char *nulls, bool read_only, long count)
{
	SessionizeIdentity saved;
	int			ret;

	sessionize_become(sessionize_extension_owner(), false, &saved);
	ret = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, count);
	sessionize_restore(&saved);
	return ret;
}

static Datum
column(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

static int64
interval_usec(const Interval *iv)
{
	/* months are refused when the interval is stored */
	return iv->time + (int64) iv->day * USECS_PER_DAY;
}

/*
 * Is the job catalog the one of sessionize 0.1.0?  Its sessionize.jobs has
 * no user_type column (0.2.0 added it, with job_relations, job_run_details
 * and the other columns this file reads).  Syscache lookups only: cheap
 * enough for every capture firing.
 */
bool
sessionize_catalog_is_0_1_0(void)
{
	Oid			nsp = get_namespace_oid("sessionize", true);
	Oid			jobs;

	if (!OidIsValid(nsp))
		return false;
	jobs = get_relname_relid("jobs", nsp);
	return OidIsValid(jobs) && get_attnum(jobs, "user_type") == InvalidAttrNumber;
}

/*
 * Refuse to work on the 0.1.0 catalog: between installing this library and
 * ALTER EXTENSION sessionize UPDATE, jobs do not run (their changes are
 * still captured, and the first run after the update applies them).
 */
void
sessionize_catalog_check_version(void)
{
	if (sessionize_catalog_is_0_1_0())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the sessionize job catalog of this database is that of version 0.1.0"),
				 errdetail("The sessionize library installed is of a later version, whose jobs run on its own catalog."),
				 errhint("Run ALTER EXTENSION sessionize UPDATE; changes captured meanwhile are applied by the first run after it.")));
}

/*
 * Run one of the statements below, which check that "caller" may use the
 * job (raising the errors themselves) and return its source; "what" names
 * the action in the error of a statement that returns nothing.
 */
static Oid
job_source_checked(const char *sql, int64 job_id, Oid caller, const char *what)
{
	Oid			types[2] = {REGROLEOID, INT8OID};
	Datum		values[2] = {ObjectIdGetDatum(caller), Int64GetDatum(job_id)};
	bool		isnull;
	Datum		source;

	if (catalog_execute(sql, 2, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not %s job " INT64_FORMAT, what, job_id);
	source = column(0, 1, &isnull);
	Assert(!isnull);
	return DatumGetObjectId(source);
}

/*
 * Check that "caller" may run or change the job and lock it: its job_state
 * row, FOR UPDATE, waiting for a run in progress (sessionize._lock_job(),
 * which raises the errors: no such job, not a member of its owner).
 * Returns the job's source.
 */
Oid
sessionize_catalog_lock_job(int64 job_id, Oid caller)
{
	return job_source_checked("SELECT (sessionize._lock_job($1, $2)).source",
							  job_id, caller, "lock");
}

/*
 * Check that "caller" may use the job (sessionize._check_job_caller(), which
 * raises the errors), without locking it.  Returns the job's source.
 */
Oid
sessionize_catalog_check_caller(int64 job_id, Oid caller)
{
	return job_source_checked("SELECT (sessionize._check_job_caller($1, $2)).source",
							  job_id, caller, "check");
}

/*
 * Lock the job unless another transaction holds it (a run in progress):
 * true when we hold the lock now.  No privilege check: for callers that
 * chose the job by its owner already.
 */
static const char *const try_lock_job_sql =
"SELECT 1 FROM sessionize.job_state WHERE job_id = $1 FOR UPDATE SKIP LOCKED";

bool
sessionize_catalog_try_lock_job(int64 job_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_id)};

	if (catalog_execute(try_lock_job_sql, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not lock job " INT64_FORMAT, job_id);
	return SPI_processed == 1;
}

/* One job and its state.  Columns: */
enum
{
	READ_SOURCE = 1,
	READ_USER_COLUMN,
	READ_TIME_COLUMN,
	READ_USER_TYPE,
	READ_TARGET_USER_COLUMN,
	READ_GAP,
	READ_TARGET,
	READ_ALLOWED_LATENESS,
	READ_OWNER,
	READ_NOTIFY_CHANNEL,
	READ_NEEDS_REBUILD,
	READ_MAX_EVENT_TIME,
	READ_WATERMARK,
	READ_TIME_TYPE,
	READ_INTEGER_GAP,
	READ_INTEGER_ALLOWED_LATENESS
};
static const char *const read_job_sql =
"SELECT j.source, j.user_column::text, j.time_column::text, j.user_type, "
"       j.target_user_column::text, j.gap, j.target, j.allowed_lateness, j.owner, "
"       j.notify_channel, s.needs_rebuild, s.max_event_time, s.watermark, "
"       j.time_type, j.integer_gap, j.integer_allowed_lateness "
"FROM sessionize.jobs j JOIN sessionize.job_state s ON s.job_id = j.job_id "
"WHERE j.job_id = $1";

/*
 * Read a job with a new snapshot of the catalog.  Strings and intervals
 * are allocated in the current memory context (SPI's, when called between
 * SPI_connect and SPI_finish: they live until SPI_finish).
 */
void
sessionize_catalog_read_job(int64 job_id, JobRecord *job)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_id)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	if (catalog_execute(read_job_sql, 1, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read job " INT64_FORMAT, job_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	memset(job, 0, sizeof(*job));
	job->job_id = job_id;
	job->source = DatumGetObjectId(SPI_getbinval(tup, desc, READ_SOURCE, &isnull));
	job->user_column = SPI_getvalue(tup, desc, READ_USER_COLUMN);
	job->time_column = SPI_getvalue(tup, desc, READ_TIME_COLUMN);
	job->user_type = DatumGetObjectId(SPI_getbinval(tup, desc, READ_USER_TYPE, &isnull));
	job->target_user_column = SPI_getvalue(tup, desc, READ_TARGET_USER_COLUMN);
	job->time_type = DatumGetObjectId(SPI_getbinval(tup, desc, READ_TIME_TYPE, &isnull));
	d = SPI_getbinval(tup, desc, READ_GAP, &isnull);
	job->gap = isnull ? NULL : DatumGetIntervalP(datumCopy(d, false, sizeof(Interval)));
	job->target = DatumGetObjectId(SPI_getbinval(tup, desc, READ_TARGET, &isnull));
	d = SPI_getbinval(tup, desc, READ_ALLOWED_LATENESS, &isnull);
	job->allowed_lateness = isnull ? NULL : DatumGetIntervalP(datumCopy(d, false, sizeof(Interval)));
	d = SPI_getbinval(tup, desc, READ_INTEGER_GAP, &isnull);
	job->integer_gap = isnull ? 0 : DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, READ_INTEGER_ALLOWED_LATENESS, &isnull);
	job->integer_allowed_lateness = isnull ? 0 : DatumGetInt64(d);
	/* (the catalog's check says which are set for which time type) */
	if ((job->time_type == INT8OID) != (job->gap == NULL) ||
		(job->gap == NULL) != (job->allowed_lateness == NULL))
		elog(ERROR, "job " INT64_FORMAT " has a gap of another kind than its times", job_id);
	job->owner = DatumGetObjectId(SPI_getbinval(tup, desc, READ_OWNER, &isnull));
	job->notify_channel = SPI_getvalue(tup, desc, READ_NOTIFY_CHANNEL);
	job->needs_rebuild = DatumGetBool(SPI_getbinval(tup, desc, READ_NEEDS_REBUILD, &isnull));
	d = SPI_getbinval(tup, desc, READ_MAX_EVENT_TIME, &isnull);
	job->have_max_event_time = !isnull;
	if (!isnull)
		job->max_event_time = DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, READ_WATERMARK, &isnull);
	job->have_watermark = !isnull;
	if (!isnull)
		job->watermark = DatumGetInt64(d);
}

/* A job's source, the names of its user and time columns, its time type. */
static const char *const read_columns_sql =
"SELECT source::pg_catalog.oid, user_column::pg_catalog.text, time_column::pg_catalog.text, "
"       time_type::pg_catalog.oid "
"FROM sessionize.jobs WHERE job_id OPERATOR(pg_catalog.=) $1";

/*
 * A job's source and the names of its user and time columns, read with a
 * new snapshot of the catalog; false if there is no such job.  The names
 * are allocated in the memory context that was current at SPI_connect()
 * (they outlive SPI_finish()).
 */
bool
sessionize_catalog_job_columns(int64 job_id, Oid *source, char **user_column,
							   char **time_column, Oid *time_type)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_id)};
	bool		isnull;
	char	   *name;

	if (catalog_execute(read_columns_sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read job " INT64_FORMAT, job_id);
	if (SPI_processed != 1)
		return false;
	*source = DatumGetObjectId(column(0, 1, &isnull));
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	*user_column = strcpy(SPI_palloc(strlen(name) + 1), name);
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	*time_column = strcpy(SPI_palloc(strlen(name) + 1), name);
	*time_type = DatumGetObjectId(column(0, 4, &isnull));
	return true;
}

/* A job's measures, in their order: column_name, definition, result_type, merge. */
static const char *const read_measures_sql =
"SELECT column_name::pg_catalog.text, definition, result_type, merge "
"FROM sessionize.job_measures WHERE job_id OPERATOR(pg_catalog.=) $1 ORDER BY position";

/*
 * A job's measures (a List of JobMeasure, NIL for none), read with a new
 * snapshot of the catalog, allocated in the current memory context.
 */
List *
sessionize_catalog_read_measures(int64 job_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_id)};
	List	   *result = NIL;

	if (catalog_execute(read_measures_sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the measures of job " INT64_FORMAT, job_id);
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		HeapTuple	tup = SPI_tuptable->vals[row];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		JobMeasure *m = palloc(sizeof(JobMeasure));

		m->name = SPI_getvalue(tup, desc, 1);
		m->definition = SPI_getvalue(tup, desc, 2);
		m->type = SPI_getvalue(tup, desc, 3);
		m->merge = SPI_getvalue(tup, desc, 4);	/* NULL when null */
		result = lappend(result, m);
	}
	return result;
}

/*
 * Record a successful run in job_state: watermark, counters (a full build
 * counts its events afresh), the schedule (due again schedule_interval
 * after this run's start), and no error.  Caller holds the job lock.
 */
static const char *const record_run_sql =
"UPDATE sessionize.job_state s SET needs_rebuild = false, "
"  max_event_time = $2, watermark = $3, last_run_at = $4, "
"  last_run_duration = $10 - $4, last_successful_finish = $10, "
"  next_start = $4 + j.schedule_interval, "
"  total_runs = s.total_runs + 1, consecutive_failures = 0, "
"  events_inserted = CASE WHEN $11 THEN $5 ELSE s.events_inserted + $5 END, "
"  events_deleted = s.events_deleted + $6, late_events = s.late_events + $7, "
"  sessions_inserted = s.sessions_inserted + $8, "
"  sessions_deleted = s.sessions_deleted + $9, "
"  sessions_updated = s.sessions_updated + $12, "
"  last_error = NULL, last_error_at = NULL "
"FROM sessionize.jobs j "
"WHERE j.job_id = s.job_id AND s.job_id = $1";

void
sessionize_catalog_record_run(int64 job_id, const RunResult *res, TimestampTz started)
{
	Oid			types[12] = {INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID,
		INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, BOOLOID, INT8OID};
	Datum		values[12];
	char		nulls[12] = "            ";

	values[0] = Int64GetDatum(job_id);
	values[1] = Int64GetDatum(res->max_event_time);
	nulls[1] = res->have_max_event_time ? ' ' : 'n';
	values[2] = Int64GetDatum(res->watermark);
	nulls[2] = res->have_watermark ? ' ' : 'n';
	values[3] = TimestampTzGetDatum(started);
	values[4] = Int64GetDatum(res->events_inserted);
	values[5] = Int64GetDatum(res->events_deleted);
	values[6] = Int64GetDatum(res->late_events);
	values[7] = Int64GetDatum(res->sessions_inserted);
	values[8] = Int64GetDatum(res->sessions_deleted);
	values[9] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[10] = BoolGetDatum(res->full_rebuild);
	values[11] = Int64GetDatum(res->sessions_updated);

	if (catalog_execute(record_run_sql, 12, types, values, nulls, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "could not record the run of job " INT64_FORMAT, job_id);
}

/*
 * Record a failed run: the error, the counters, and the next try after an
 * exponential backoff, schedule_interval * 2^consecutive_failures, at most
 * max_backoff_s seconds.  (The exponent stops at 20, so that the product
 * stays an interval even for the longest schedule, 366 days.)  Returns when the job is due again (0 when the job
 * is gone).
 */
static const char *const record_failure_sql =
"UPDATE sessionize.job_state s SET last_run_at = $2, last_run_duration = $3 - $2, "
"  total_runs = s.total_runs + 1, total_failures = s.total_failures + 1, "
"  consecutive_failures = s.consecutive_failures + 1, "
"  last_error = $4, last_error_at = $3, "
"  next_start = $3 + least(j.schedule_interval * pg_catalog.power(2, least(s.consecutive_failures + 1, 20)), "
"                          pg_catalog.make_interval(secs => $5)) "
"FROM sessionize.jobs j "
"WHERE j.job_id = s.job_id AND s.job_id = $1 "
"RETURNING s.next_start";

TimestampTz
sessionize_catalog_record_failure(int64 job_id, TimestampTz started, const char *error,
								  int max_backoff_s)
{
	Oid			types[5] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, FLOAT8OID};
	Datum		values[5];
	bool		isnull;

	values[0] = Int64GetDatum(job_id);
	values[1] = TimestampTzGetDatum(started);
	values[2] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[3] = CStringGetTextDatum(error);
	values[4] = Float8GetDatum((double) max_backoff_s);

	if (catalog_execute(record_failure_sql, 5, types, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not record the failure of job " INT64_FORMAT, job_id);
	if (SPI_processed != 1)
		return 0;
	return DatumGetTimestampTz(column(0, 1, &isnull));
}

/*
 * The active jobs, oldest due first (never run: first): all of them for
 * caller InvalidOid, else those whose owner the caller is a member of;
 * with due_only, those due now.  A job whose owner role is gone is left
 * out.  Columns:
 */
enum
{
	ACTIVE_JOB_ID = 1,
	ACTIVE_OWNER,
	ACTIVE_SCHEDULE,
	ACTIVE_NEXT_START
};
static const char *const active_jobs_sql =
"SELECT j.job_id, j.owner, j.schedule_interval, s.next_start "
"FROM sessionize.jobs j JOIN sessionize.job_state s ON s.job_id = j.job_id "
"WHERE j.active "
"  AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = j.owner) "
"  AND ($1 = 0 OR CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = $1) "
"                      THEN pg_catalog.pg_has_role($1, j.owner, 'USAGE') END) "
"  AND (NOT $2 OR s.next_start IS NULL OR s.next_start <= pg_catalog.statement_timestamp()) "
"ORDER BY s.next_start NULLS FIRST, j.job_id";

/*
 * Returns a List of ScheduledJob *, allocated in the memory context that
 * was current at SPI_connect(), so that it outlives SPI_finish().
 */
List *
sessionize_catalog_active_jobs(Oid caller, bool due_only)
{
	Oid			types[2] = {OIDOID, BOOLOID};
	Datum		values[2] = {ObjectIdGetDatum(caller), BoolGetDatum(due_only)};
	List	   *jobs = NIL;
	uint64		i;

	sessionize_catalog_check_version();
	if (catalog_execute(active_jobs_sql, 2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the sessionize jobs");
	for (i = 0; i < SPI_processed; i++)
	{
		ScheduledJob *job = SPI_palloc(sizeof(ScheduledJob));
		bool		isnull;
		Datum		d;
		MemoryContext old;

		job->job_id = DatumGetInt64(column(i, ACTIVE_JOB_ID, &isnull));
		job->owner = DatumGetObjectId(column(i, ACTIVE_OWNER, &isnull));
		job->schedule_usec = interval_usec(DatumGetIntervalP(column(i, ACTIVE_SCHEDULE, &isnull)));
		d = column(i, ACTIVE_NEXT_START, &isnull);
		job->have_next_start = !isnull;
		job->next_start = isnull ? 0 : DatumGetTimestampTz(d);
		/* the list, too, outlives SPI_finish */
		old = MemoryContextSwitchTo(GetMemoryChunkContext(job));
		jobs = lappend(jobs, job);
		MemoryContextSwitchTo(old);
	}
	return jobs;
}

/*
 * Has the job anything to do: a rebuild pending, or anything in its log?
 * This is the whole cost of looking at a job with nothing to do: one
 * index probe and a scan of an empty (or vacuumed) log, no lock taken
 * beyond ACCESS SHARE, no transaction id spent.
 */
bool
sessionize_catalog_has_work(int64 job_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_id)};
	Oid			nsp = get_namespace_oid("sessionize", false);
	char	   *sql;
	bool		isnull;
	Datum		d;

	/* a job being dropped, or one that lost its log, has nothing to run */
	if (!OidIsValid(get_relname_relid(sessionize_job_log_name(job_id), nsp)))
		return false;
	sql = psprintf("SELECT s.needs_rebuild OR EXISTS (SELECT 1 FROM %s) "
				   "FROM sessionize.job_state s WHERE s.job_id = $1",
				   sessionize_job_log_qualified(job_id));
	if (catalog_execute(sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the change log of job " INT64_FORMAT, job_id);
	if (SPI_processed != 1)
		return false;
	d = column(0, 1, &isnull);
	return !isnull && DatumGetBool(d);
}

/*
 * A run begins: its history row, as 'running' (the scheduler commits it
 * before the run).  Returns its run_id, or 0 when the job is gone.
 */
static const char *const history_start_sql =
"INSERT INTO sessionize.job_run_details (job_id, runner, pid, started_at, status) "
"SELECT $1, $2, pg_catalog.pg_backend_pid(), $3, 'running' "
"WHERE EXISTS (SELECT 1 FROM sessionize.jobs WHERE job_id = $1) "
"RETURNING run_id";

int64
sessionize_catalog_history_start(int64 job_id, const char *runner, TimestampTz started)
{
	Oid			types[3] = {INT8OID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[3];
	bool		isnull;

	values[0] = Int64GetDatum(job_id);
	values[1] = CStringGetTextDatum(runner);
	values[2] = TimestampTzGetDatum(started);
	if (catalog_execute(history_start_sql, 3, types, values, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not record the start of a run of job " INT64_FORMAT, job_id);
	if (SPI_processed != 1)
		return 0;
	return DatumGetInt64(column(0, 1, &isnull));
}

/*
 * A run ends: its history row gets its status, counts (res may be NULL,
 * for a failure) and message; with run_id 0 the whole row is inserted now.
 * A job dropped meanwhile took its row with it: nothing is written.
 */
static const char *const history_finish_sql =
"WITH r(job_id, runner, started_at, status, ev_ins, ev_del, late, s_ins, s_upd, s_del, s_closed, "
"       full_rebuild, watermark, message) AS ("
"  VALUES ($2::bigint, $3::text, $4::timestamptz, $5::text, $6::bigint, $7::bigint, $8::bigint, "
"          $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::boolean, $14::text, $15::text)), "
"upd AS (UPDATE sessionize.job_run_details d SET finished_at = pg_catalog.clock_timestamp(), "
"          status = r.status, events_inserted = r.ev_ins, events_deleted = r.ev_del, late_events = r.late, "
"          sessions_inserted = r.s_ins, sessions_updated = r.s_upd, sessions_deleted = r.s_del, "
"          sessions_closed = r.s_closed, full_rebuild = r.full_rebuild, watermark = r.watermark, "
"          message = r.message "
"        FROM r WHERE d.run_id = $1 RETURNING 1) "
"INSERT INTO sessionize.job_run_details (job_id, runner, pid, started_at, finished_at, status, "
"    events_inserted, events_deleted, late_events, sessions_inserted, sessions_updated, "
"    sessions_deleted, sessions_closed, full_rebuild, watermark, message) "
"SELECT r.job_id, r.runner, pg_catalog.pg_backend_pid(), r.started_at, pg_catalog.clock_timestamp(), "
"       r.status, r.ev_ins, r.ev_del, r.late, r.s_ins, r.s_upd, r.s_del, r.s_closed, r.full_rebuild, "
"       r.watermark, r.message "
"FROM r WHERE $1 = 0 AND EXISTS (SELECT 1 FROM sessionize.jobs j WHERE j.job_id = r.job_id)";

void
sessionize_catalog_history_finish(int64 run_id, int64 job_id, const char *runner,
								  TimestampTz started, const char *status,
								  const RunResult *res, const char *message)
{
	Oid			types[15] = {INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID,
		INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	BOOLOID, TEXTOID, TEXTOID};
	Datum		values[15];
	char		nulls[15];
	int			i;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(run_id);
	values[1] = Int64GetDatum(job_id);
	values[2] = CStringGetTextDatum(runner);
	values[3] = TimestampTzGetDatum(started);
	values[4] = CStringGetTextDatum(status);
	if (res != NULL)
	{
		values[5] = Int64GetDatum(res->events_inserted);
		values[6] = Int64GetDatum(res->events_deleted);
		values[7] = Int64GetDatum(res->late_events);
		values[8] = Int64GetDatum(res->sessions_inserted);
		values[9] = Int64GetDatum(res->sessions_updated);
		values[10] = Int64GetDatum(res->sessions_deleted);
		values[11] = Int64GetDatum(res->sessions_closed);
		values[12] = BoolGetDatum(res->full_rebuild);
		values[13] = res->have_watermark ? sessionize_job_time_text(res->time_type, res->watermark)
			: (Datum) 0;
		nulls[13] = res->have_watermark ? ' ' : 'n';
	}
	else
	{
		for (i = 5; i <= 13; i++)
		{
			values[i] = (Datum) 0;
			nulls[i] = 'n';
		}
	}
	values[14] = message ? CStringGetTextDatum(message) : (Datum) 0;
	nulls[14] = message ? ' ' : 'n';

	if (catalog_execute(history_finish_sql, 15, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the end of a run of job " INT64_FORMAT, job_id);
}

/* Remove the history row of a run that did not happen after all. */
void
sessionize_catalog_history_forget(int64 run_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run_id)};

	if (catalog_execute("DELETE FROM sessionize.job_run_details WHERE run_id = $1",
						1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete run " INT64_FORMAT " from the history", run_id);
}

/*
 * The runs that a scheduler left 'running' (it stopped, or the server
 * crashed, during them) are marked 'crashed', and counted as failures of
 * their jobs, with the same backoff as a failure (a run that crashes the
 * server is not retried at once).  Only the scheduler of a database calls
 * this, when it starts: no other process writes 'running' rows there.
 * Job states locked by a run in progress are left as they are.  Returns
 * how many runs were marked.
 */
static const char *const mark_crashed_sql =
"WITH c AS (UPDATE sessionize.job_run_details "
"           SET status = 'crashed', finished_at = pg_catalog.clock_timestamp(), "
"               message = 'the run was interrupted: the scheduler or the server stopped during it' "
"           WHERE status = 'running' AND runner = 'scheduler' RETURNING job_id, started_at), "
"n AS (SELECT job_id, count(*) AS runs, max(started_at) AS started_at FROM c GROUP BY job_id), "
"st AS (UPDATE sessionize.job_state s "
"       SET total_runs = s.total_runs + n.runs, total_failures = s.total_failures + n.runs, "
"           consecutive_failures = s.consecutive_failures + n.runs::integer, "
"           last_run_at = n.started_at, last_run_duration = NULL, "
"           last_error = 'the run was interrupted: the scheduler or the server stopped during it', "
"           last_error_at = pg_catalog.clock_timestamp(), "
"           next_start = pg_catalog.clock_timestamp() + "
"             least(j.schedule_interval * pg_catalog.power(2, least(s.consecutive_failures + n.runs, 20)), "
"                   pg_catalog.make_interval(secs => $1)) "
"       FROM n, sessionize.jobs j "
"       WHERE s.job_id = n.job_id AND j.job_id = n.job_id "
"         AND s.job_id IN (SELECT x.job_id FROM sessionize.job_state x "
"                          WHERE x.job_id IN (SELECT job_id FROM n) FOR UPDATE SKIP LOCKED) "
"       RETURNING 1) "
"SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM st)";

int
sessionize_catalog_history_mark_crashed(int max_backoff_s)
{
	Oid			types[1] = {FLOAT8OID};
	Datum		values[1] = {Float8GetDatum((double) max_backoff_s)};
	bool		isnull;

	if (catalog_execute(mark_crashed_sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not mark the interrupted runs of sessionize jobs");
	return (int) DatumGetInt64(column(0, 1, &isnull));
}

/* Forget the runs that started more than retention_s seconds ago. */
static const char *const history_prune_sql =
"DELETE FROM sessionize.job_run_details "
"WHERE started_at < pg_catalog.statement_timestamp() - pg_catalog.make_interval(secs => $1) "
"  AND status <> 'running'";

void
sessionize_catalog_history_prune(int retention_s)
{
	Oid			types[1] = {FLOAT8OID};
	Datum		values[1] = {Float8GetDatum((double) retention_s)};

	if (catalog_execute(history_prune_sql, 1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete old sessionize run history");
}
