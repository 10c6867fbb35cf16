/*-------------------------------------------------------------------------
 *
 * apply_inserts.c
 *	  run_job()'s path for inserted events: merge them into the stored
 *	  sessions they touch, probing the target's (user, session_start) index
 *	  directly instead of through SQL.
 *
 * Inserted events never need old events: a stored session and the events
 * that reach it merge into one summary (start, last event, count), and
 * events landing between two sessions may bridge them.  So for the log's
 * insert entries ('i' rows, each a run of one user's events that join one
 * another) this path:
 *	1. deletes them from the log and reads them (one statement);
 *	2. sorts them by user and time and, per entry, walks the target's index
 *	   backwards from (user, last time + gap): the first session found is,
 *	   for an append, the only one the entry can touch; an earlier entry
 *	   keeps walking while sessions start after its first time;
 *	3. merges each user's entries into the sessions they touch, in memory,
 *	   with the same code as merge_sessions();
 *	4. writes the difference with three set-based statements: the sessions
 *	   that changed, the ones that were absorbed by a bridge, the new ones.
 * The measures of the sessions written (of a job with measures) go into
 * those statements as arrays, computed here before each: a session that
 * grows by events after its last one merges the stored values with those
 * of the new events, when all the job's measures merge; any other is
 * recomputed from all its events.  The events are read through the
 * source's (user, time) index, as the job owner (measures_build.c's spans:
 * the measures' code is the owner's); where that does not apply (no such
 * index, a measure it does not compute, row-level security, ...), each
 * statement computes them in SQL from the same events instead.
 * The general statement of refresh.c then handles what is left in the log
 * (deletes, updates), if anything.  Taking the inserts first is safe: they
 * move the target to the sessions of the events it had plus the inserted
 * ones, whatever else happened; a delete that follows recomputes the spans
 * it touches from the source, which has the inserted events too.
 *
 * The path is taken when the target is a plain table without row-level
 * security, with a valid btree index whose first two keys are the user
 * column (default operator class) and session_start (ascending), and the
 * job owner may read it and the source.  Otherwise run_job() does all of
 * it in SQL.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/apply_inserts.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "measures_build.h"
#include "refresh.h"
#include "security.h"
#include "session_srf.h"
#include "session_state.h"

/* One insert entry of the log: a run of one user's events. */
typedef struct InsertEntry
{
	Datum		user;
	bool		user_null;
	SessionSummary s;
} InsertEntry;

/* A stored session that an entry touches. */
typedef struct StoredSession
{
	ItemPointerData tid;
	SessionSummary s;
	bool		kept;			/* a merged session has its start */
} StoredSession;

/* A change to the target. */
typedef struct TargetChange
{
	char		kind;			/* 'u'pdate, 'd'elete, 'i'nsert */
	ItemPointerData tid;		/* for 'u' and 'd' */
	const InsertEntry *user;	/* for 'u' and 'i': an entry of the user */
	SessionSummary s;			/* for 'u' and 'i' */
	/* measures, for 'u': merge the stored ones with those of the events from */
	bool		merge;			/* read_from on (else: recompute from start) */
	int64		read_from;
} TargetChange;

/* What the path needs of the target and its index. */
typedef struct TargetIndex
{
	Relation	heap;
	Relation	index;
	AttrNumber	att_start;
	AttrNumber	att_last;
	AttrNumber	att_count;
	Oid			user_opcintype;
	Oid			user_collation;
	RegProcedure user_eqproc;
	FmgrInfo	user_cmp;
	RegProcedure start_leproc;
	Oid			time_type;		/* the job's: see job_catalog.h */
} TargetIndex;

/*
 * Open the target and find an index the path can probe; false (nothing
 * kept open) if there is none or the path does not apply.
 */
static bool
open_target_index(const JobInfo *job, TargetIndex *ti)
{
	Relation	heap;
	AttrNumber	att_user;
	AttrNumber	att_start;
	Oid			user_opfamily;
	Oid			time_opfamily;
	Oid			opclass;
	Oid			user_type = InvalidOid;
	int32		user_typmod;
	Oid			user_collation = InvalidOid;
	Relation	index;

	/*
	 * The owner must be able to read the target, and the source too: the
	 * log holds what the source held, and an owner who lost SELECT on it
	 * gets the general statement's permission error.  (Column privileges
	 * only also mean the general statement.)
	 */
	if (pg_class_aclcheck(job->target, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(job->source, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;

	opclass = GetDefaultOpClass(job->user_type_oid, BTREE_AM_OID);
	if (!OidIsValid(opclass) || !OidIsValid(get_array_type(job->user_type_oid)))
		return false;
	user_opfamily = get_opclass_family(opclass);
	time_opfamily = get_opclass_family(GetDefaultOpClass(job->time_type, BTREE_AM_OID));

	heap = table_open(job->target, AccessShareLock);
	if (heap->rd_rel->relkind != RELKIND_RELATION || heap->rd_rel->relrowsecurity)
	{
		table_close(heap, NoLock);
		return false;
	}
	att_user = get_attnum(job->target, job->target_user_column);
	att_start = get_attnum(job->target, "session_start");
	if (att_user != InvalidAttrNumber)
		get_atttypetypmodcoll(job->target, att_user, &user_type, &user_typmod,
							  &user_collation);
	if (att_user == InvalidAttrNumber || att_start == InvalidAttrNumber ||
		user_type != job->user_type_oid ||
		get_atttype(job->target, att_start) != job->time_type)
	{
		table_close(heap, NoLock);
		return false;
	}

	index = sessionize_open_btree_index(heap, att_user, job->user_type_oid, user_collation,
										att_start, job->time_type, true);
	if (index != NULL)
	{
		Oid			eqopr = get_opfamily_member(user_opfamily,
												index->rd_opcintype[0],
												index->rd_opcintype[0],
												BTEqualStrategyNumber);
		Oid			leopr = get_opfamily_member(time_opfamily,
												job->time_type, job->time_type,
												BTLessEqualStrategyNumber);
		Oid			cmpproc = get_opfamily_proc(user_opfamily,
												index->rd_opcintype[0],
												index->rd_opcintype[0],
												BTORDER_PROC);

		if (OidIsValid(eqopr) && OidIsValid(leopr) && OidIsValid(cmpproc))
		{
			ti->heap = heap;
			ti->index = index;
			ti->att_start = att_start;
			ti->att_last = get_attnum(job->target, "last_event_at");
			ti->att_count = get_attnum(job->target, "event_count");
			ti->user_opcintype = index->rd_opcintype[0];
			ti->user_collation = index->rd_indcollation[0];
			ti->user_eqproc = get_opcode(eqopr);
			ti->start_leproc = get_opcode(leopr);
			ti->time_type = job->time_type;
			fmgr_info(cmpproc, &ti->user_cmp);
			if (ti->att_last != InvalidAttrNumber &&
				ti->att_count != InvalidAttrNumber &&
				get_atttype(job->target, ti->att_last) == job->time_type &&
				get_atttype(job->target, ti->att_count) == INT8OID)
				return true;
		}
		index_close(index, AccessShareLock);
	}
	table_close(heap, NoLock);
	return false;
}

/* Order users as the index does, NULL last. */
static int
compare_users(TargetIndex *ti, const InsertEntry *a, const InsertEntry *b)
{
	if (a->user_null || b->user_null)
		return (int) a->user_null - (int) b->user_null;
	return DatumGetInt32(FunctionCall2Coll(&ti->user_cmp, ti->user_collation,
										   a->user, b->user));
}

/* Order entries by user, then by first time (qsort_arg; arg: TargetIndex). */
static int
compare_entries(const void *a, const void *b, void *arg)
{
	const InsertEntry *ea = (const InsertEntry *) a;
	const InsertEntry *eb = (const InsertEntry *) b;
	int			c = compare_users((TargetIndex *) arg, ea, eb);

	if (c != 0)
		return c;
	if (ea->s.start != eb->s.start)
		return ea->s.start < eb->s.start ? -1 : 1;
	return 0;
}

/*
 * Delete the log's insert entries and read them, in "snapshot" (in which
 * the measures of the sessions they change are computed afterwards).
 * Returns how many; sums their events and late events, and their latest
 * time.
 */
static int
read_insert_entries(const JobInfo *job, Snapshot snapshot, InsertEntry **entries_out,
					int64 *events, int64 *late, bool *have_max, int64 *max_ts)
{
	SPIPlanPtr	plan;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			nentries = 0;
	int			capacity = 64;
	InsertEntry *entries = palloc(sizeof(InsertEntry) * capacity);
	uint64		row;
	int			ret;

	plan = SPI_prepare(psprintf("DELETE FROM %s WHERE kind = 'i' RETURNING u, lo, hi, n, late",
								job->log_name), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the log read of job " INT64_FORMAT, job->job_id);
	ret = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot, false, true, 0);
	if (ret != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not read the change log of job " INT64_FORMAT, job->job_id);

	get_typlenbyvalalign(job->user_type_oid, &typlen, &typbyval, &typalign);
	for (row = 0; row < SPI_processed; row++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[row];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		arrays[5];
		Datum	   *u,
				   *lo,
				   *hi,
				   *n,
				   *lt;
		bool	   *unull,
				   *lonull,
				   *hinull,
				   *nnull,
				   *ltnull;
		int			nu,
					nlo,
					nhi,
					nn,
					nlt;
		int			k;

		for (k = 0; k < 5; k++)
		{
			bool		isnull;

			arrays[k] = SPI_getbinval(tuple, desc, k + 1, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("change log %s of job " INT64_FORMAT " has an entry with a null array",
								job->log_name, job->job_id)));
		}
		deconstruct_array(DatumGetArrayTypeP(arrays[0]), job->user_type_oid,
						  typlen, typbyval, typalign, &u, &unull, &nu);
		deconstruct_array(DatumGetArrayTypeP(arrays[1]), job->time_type,
						  sizeof(int64), true, TYPALIGN_DOUBLE, &lo, &lonull, &nlo);
		deconstruct_array(DatumGetArrayTypeP(arrays[2]), job->time_type,
						  sizeof(int64), true, TYPALIGN_DOUBLE, &hi, &hinull, &nhi);
		deconstruct_array(DatumGetArrayTypeP(arrays[3]), INT8OID,
						  sizeof(int64), true, TYPALIGN_DOUBLE, &n, &nnull, &nn);
		deconstruct_array(DatumGetArrayTypeP(arrays[4]), INT8OID,
						  sizeof(int64), true, TYPALIGN_DOUBLE, &lt, &ltnull, &nlt);
		if (nlo != nu || nhi != nu || nn != nu || nlt != nu)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("change log %s of job " INT64_FORMAT " has an entry whose arrays differ in length",
							job->log_name, job->job_id)));

		for (k = 0; k < nu; k++)
		{
			InsertEntry *e;

			/* a run without times is no session (as in merge_sessions()) */
			if (lonull[k] || hinull[k] || nnull[k])
				continue;
			if (nentries == capacity)
			{
				capacity *= 2;
				entries = repalloc_huge(entries, sizeof(InsertEntry) * capacity);
			}
			e = &entries[nentries];
			e->user = u[k];
			e->user_null = unull[k];
			e->s.start = DatumGetInt64(lo[k]);
			e->s.last = DatumGetInt64(hi[k]);
			e->s.count = DatumGetInt64(n[k]);
			if (e->s.start > e->s.last || e->s.count < 1 ||
				(e->s.start != e->s.last && e->s.count < 2))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("change log %s of job " INT64_FORMAT " has an invalid entry",
								job->log_name, job->job_id),
						 errdetail("An entry needs lo <= hi and at least one event, two if it spans time.")));
			*events = session_count_add(*events, e->s.count);
			if (!ltnull[k])
				*late += DatumGetInt64(lt[k]);
			if (!*have_max || e->s.last > *max_ts)
			{
				*have_max = true;
				*max_ts = e->s.last;
			}
			nentries++;
		}
	}
	*entries_out = entries;
	return nentries;
}

/*
 * Add to *touched the stored sessions of e's user that e touches: walking
 * the index backwards from (user, e.last + gap), every session that starts
 * after e.start, then the one before if it reaches e.start.
 */
static void
probe(const TargetIndex *ti, IndexScanDesc scan, TupleTableSlot *slot,
	  const InsertEntry *e, int64 gap, StoredSession **touched,
	  int *ntouched, int *captouched)
{
	ScanKeyData keys[2];

	if (e->user_null)
		ScanKeyEntryInitialize(&keys[0], SK_ISNULL | SK_SEARCHNULL, 1,
							   InvalidStrategy, InvalidOid, InvalidOid,
							   InvalidOid, (Datum) 0);
	else
		ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber,
							   ti->user_opcintype, ti->user_collation,
							   ti->user_eqproc, e->user);
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTLessEqualStrategyNumber,
						   ti->time_type, InvalidOid, ti->start_leproc,
						   Int64GetDatum(session_add_sat(e->s.last, gap)));
	index_rescan(scan, keys, 2, NULL, 0);

	while (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		SessionSummary s;
		bool		isnull[3];
		int			k;

		s.start = DatumGetInt64(slot_getattr(slot, ti->att_start, &isnull[0]));
		s.last = DatumGetInt64(slot_getattr(slot, ti->att_last, &isnull[1]));
		s.count = DatumGetInt64(slot_getattr(slot, ti->att_count, &isnull[2]));
		if (isnull[0] || isnull[1] || isnull[2] || s.start > s.last || s.count < 1)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("table %s holds an invalid session",
							RelationGetRelationName(ti->heap)),
					 errdetail("A session needs session_start <= last_event_at and a positive event_count."),
					 errhint("Drop the job with sessionize.drop_job() and create it again to rebuild the table from the source.")));

		if (s.start <= e->s.start && e->s.start > session_add_sat(s.last, gap))
			break;				/* ends before e begins: so do all before it */

		for (k = 0; k < *ntouched; k++)
			if (ItemPointerEquals(&(*touched)[k].tid, &slot->tts_tid))
				break;
		if (k == *ntouched)
		{
			if (*ntouched == *captouched)
			{
				*captouched *= 2;
				*touched = repalloc(*touched, sizeof(StoredSession) * *captouched);
			}
			(*touched)[k].tid = slot->tts_tid;
			(*touched)[k].s = s;
			(*touched)[k].kept = false;
			(*ntouched)++;
		}
		if (s.start <= e->s.start)
			break;				/* the earliest one it can touch */
	}
}

static int
compare_stored(const void *a, const void *b)
{
	const StoredSession *sa = (const StoredSession *) a;
	const StoredSession *sb = (const StoredSession *) b;

	if (sa->s.start != sb->s.start)
		return sa->s.start < sb->s.start ? -1 : 1;
	return 0;
}

static void
add_change(TargetChange **changes, int *nchanges, int *capacity,
		   char kind, const ItemPointerData *tid, const InsertEntry *user,
		   const SessionSummary *s)
{
	TargetChange *c;

	if (*nchanges == *capacity)
	{
		*capacity *= 2;
		*changes = repalloc_huge(*changes, sizeof(TargetChange) * *capacity);
	}
	c = &(*changes)[(*nchanges)++];
	c->kind = kind;
	if (tid != NULL)
		c->tid = *tid;
	else
		ItemPointerSetInvalid(&c->tid);
	c->user = user;
	if (s != NULL)
		c->s = *s;
	c->merge = false;
	c->read_from = s != NULL ? s->start : 0;
}

/*
 * Run a statement that writes the target, in the snapshot the log was read
 * in (with the command id moved on, so that it sees this run's own
 * writes); returns the rows it wrote.
 */
static uint64
write_target(const JobInfo *job, const char *sql, int nargs, Oid *types,
			 Datum *values, int expected, Snapshot snapshot)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);
	int			ret;

	if (plan == NULL)
		elog(ERROR, "job " INT64_FORMAT " could not prepare a write of its target: %s",
			 job->job_id, SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, values, NULL, snapshot, InvalidSnapshot, false, true, 0);
	SPI_freeplan(plan);

	if (ret != expected)
		elog(ERROR, "job " INT64_FORMAT " could not write its target: %s",
			 job->job_id, SPI_result_code_string(ret));
	return SPI_processed;
}

/* Append an array of n elements to a statement's arguments. */
static void
add_array_arg(Oid *types, Datum *values, int *nargs, Datum *elems, bool *nulls,
			  int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	types[*nargs] = get_array_type(elemtype);
	values[*nargs] = PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
														elemtype, typlen, typbyval,
														typalign));
	(*nargs)++;
}

/*
 * The rows of one statement that writes the target: at most
 * WRITE_BATCH_ROWS, so that its arrays stay far below the 1 GB limit of a
 * value however far behind a job is.
 */
#ifdef USE_ASSERT_CHECKING
#define WRITE_BATCH_ROWS	7	/* so that the test suites cross batches */
#else
#define WRITE_BATCH_ROWS	(1024 * 1024)
#endif

/*
 * A statement's arguments at most: arrays that unnest() reads, one a column
 * (six, then one per measure computed here), and it takes FUNC_MAX_ARGS.
 */
#define WRITE_MAX_ARGS	FUNC_MAX_ARGS

/* "$1, $2, ..., $n" */
static char *
param_list(int n)
{
	StringInfoData list;

	initStringInfo(&list);
	for (int k = 1; k <= n; k++)
		appendStringInfo(&list, "%s$%d", k > 1 ? ", " : "", k);
	return list.data;
}

typedef struct WriteBatch
{
	char		kind;			/* 'd', 'u' or 'i' */
	int			n;
	Datum	   *tids;
	Datum	   *users;
	bool	   *user_nulls;
	Datum	   *starts;
	Datum	   *lasts;
	Datum	   *ends;
	Datum	   *counts;
	Datum	   *closed;
	Datum	   *merges;			/* measures: merge ('u' only) */
	Datum	   *read_from;		/* measures: events read from ('u' only) */
	Snapshot	snapshot;		/* the one the log was read in */
	/* measures computed here (NULL: by the statement, in SQL) */
	SpanMeasures *spans;
	Datum	  **mvalues;		/* [measure][row] */
	bool	  **mnulls;
	int16	   *mtyplen;		/* [measure] */
	bool	   *mtypbyval;
	Datum	   *row_values;		/* one row's, as computed */
	bool	   *row_nulls;
	MemoryContext mcxt;			/* their values, emptied after each batch */
	Size		mbytes;			/* the bytes of those values */
	Size		max_mbytes;		/* more, and the batch is written */
	bool		in_sql;			/* a span gave up: the statement computes them */
} WriteBatch;

/*
 * A measure's new value: with m.merge, the stored one (old) merged with
 * that of the new events (<alias>.m<k>) as the measure's merge says;
 * otherwise <alias>.m<k>, recomputed from all of the session's events.
 */
static char *
merged_value(const JobMeasure *m, const char *alias, int k, const char *old)
{
	const char *x = psprintf("%s.m%d", alias, k);
	const char *merged;

	if (m->merge == NULL)
		return (char *) x;
	if (strcmp(m->merge, "sum") == 0)
		merged = psprintf("CASE WHEN %1$s IS NULL THEN %2$s WHEN %2$s IS NULL THEN %1$s "
						  "ELSE %1$s OPERATOR(pg_catalog.+) %2$s END", old, x);
	else if (strcmp(m->merge, "count") == 0)
		merged = psprintf("%s OPERATOR(pg_catalog.+) %s", old, x);
	else if (strcmp(m->merge, "min") == 0)
		merged = psprintf("LEAST(%s, %s)", old, x);
	else if (strcmp(m->merge, "max") == 0)
		merged = psprintf("GREATEST(%s, %s)", old, x);
	else if (strcmp(m->merge, "and") == 0)
		merged = psprintf("CASE WHEN %1$s IS NULL THEN %2$s WHEN %2$s IS NULL THEN %1$s "
						  "ELSE %1$s AND %2$s END", old, x);
	else if (strcmp(m->merge, "or") == 0)
		merged = psprintf("CASE WHEN %1$s IS NULL THEN %2$s WHEN %2$s IS NULL THEN %1$s "
						  "ELSE %1$s OR %2$s END", old, x);
	else if (strcmp(m->merge, "first") == 0)
		merged = old;
	else if (strcmp(m->merge, "last") == 0)
		merged = x;
	else
		elog(ERROR, "unknown merge \"%s\" of a measure", m->merge);
	return psprintf("CASE WHEN m.merge THEN %s ELSE %s END", merged, x);
}

/*
 * The measures of the batch's row r (just filled in), computed here
 * (b->spans) into b->mvalues and b->mnulls: for an update, those of the
 * user's events from read_from (after the stored session's last event when
 * it merges, else from its start); for an insert, those of all the
 * session's events.  Once a span gives up (the hash memory limit), the
 * batch's statement computes them all in SQL instead (b->in_sql).
 */
static void
compute_row_measures(const JobInfo *job, WriteBatch *b, int r)
{
	int			nmeasures = list_length(job->measures);
	MemoryContext oldcxt;
	int64		from = DatumGetInt64(b->kind == 'u' ? b->read_from[r] : b->starts[r]);

	if (b->in_sql)
		return;
	oldcxt = MemoryContextSwitchTo(b->mcxt);
	if (!sessionize_span_measures(b->spans, b->users[r], b->user_nulls[r], from,
								  DatumGetInt64(b->lasts[r]), b->row_values, b->row_nulls))
	{
		b->in_sql = true;
		ereport(DEBUG1,
				(errmsg_internal("job " INT64_FORMAT ": the measures of a session would pass the hash memory limit: its batch's are computed with SQL",
								 job->job_id)));
	}
	else
		for (int k = 0; k < nmeasures; k++)
		{
			b->mvalues[k][r] = b->row_values[k];
			b->mnulls[k][r] = b->row_nulls[k];
			if (!b->row_nulls[k] && !b->mtypbyval[k])
				b->mbytes += datumGetSize(b->row_values[k], false, b->mtyplen[k]);
		}
	MemoryContextSwitchTo(oldcxt);
}

/* The arrays of a batch's measures, as a statement's arguments. */
static void
add_measure_args(const JobInfo *job, WriteBatch *b, Oid *types, Datum *values, int *nargs)
{
	for (int k = 0; k < list_length(job->measures); k++)
		add_array_arg(types, values, nargs, b->mvalues[k], b->mnulls[k], b->n,
					  sessionize_span_measures_type(b->spans, k));
}

/* ", m<k>" for each measure: the names of their arrays' columns. */
static char *
measure_names(const JobInfo *job)
{
	StringInfoData names;

	initStringInfo(&names);
	for (int k = 1; k <= list_length(job->measures); k++)
		appendStringInfo(&names, ", m%d", k);
	return names.data;
}

/* Write a batch with one statement, and count what it wrote. */
static void
write_batch(const JobInfo *job, WriteBatch *b, RunResult *res)
{
	Oid			types[WRITE_MAX_ARGS];
	Datum		values[WRITE_MAX_ARGS];
	int			nargs = 0;
	bool		native = b->spans != NULL && !b->in_sql;

	if (b->n == 0)
		return;
	if (b->kind == 'd')
	{
		add_array_arg(types, values, &nargs, b->tids, NULL, b->n, TIDOID);
		res->sessions_deleted +=
			write_target(job, psprintf("DELETE FROM %s WHERE ctid = ANY ($1)", job->target_name),
						 nargs, types, values, SPI_OK_DELETE, b->snapshot);
		b->n = 0;
		return;
	}
	if (b->kind == 'u')
		add_array_arg(types, values, &nargs, b->tids, NULL, b->n, TIDOID);
	else
	{
		add_array_arg(types, values, &nargs, b->users, b->user_nulls, b->n, job->user_type_oid);
		add_array_arg(types, values, &nargs, b->starts, NULL, b->n, job->time_type);
	}
	add_array_arg(types, values, &nargs, b->lasts, NULL, b->n, job->time_type);
	add_array_arg(types, values, &nargs, b->ends, NULL, b->n, job->time_type);
	add_array_arg(types, values, &nargs, b->counts, NULL, b->n, INT8OID);
	add_array_arg(types, values, &nargs, b->closed, NULL, b->n, BOOLOID);
	if (b->kind == 'u' && job->measures == NIL)
		res->sessions_updated +=
			write_target(job,
						 psprintf("UPDATE %s t SET last_event_at = m.l, session_end = m.e, "
								  "event_count = m.c, closed = m.x "
								  "FROM unnest($1, $2, $3, $4, $5) AS m(tid, l, e, c, x) "
								  "WHERE t.ctid = ANY ($1) AND t.ctid = m.tid",
								  job->target_name),
						 nargs, types, values, SPI_OK_UPDATE, b->snapshot);
	else if (b->kind == 'u' && native)
	{
		StringInfoData sets;
		ListCell   *lc;

		/* the measures, merged with the stored ones or taken as they are */
		add_array_arg(types, values, &nargs, b->merges, NULL, b->n, BOOLOID);
		add_measure_args(job, b, types, values, &nargs);
		initStringInfo(&sets);
		foreach(lc, job->measures)
		{
			JobMeasure *m = lfirst(lc);
			const char *col = quote_identifier(m->name);

			appendStringInfo(&sets, ", %s = %s", col,
							 merged_value(m, "m", foreach_current_index(lc) + 1,
										  psprintf("t.%s", col)));
		}
		res->sessions_updated +=
			write_target(job,
						 psprintf("UPDATE %s t SET last_event_at = m.l, session_end = m.e, "
								  "event_count = m.c, closed = m.x%s "
								  "FROM unnest(%s) AS m(tid, l, e, c, x, merge%s) "
								  "WHERE t.ctid = ANY ($1) AND t.ctid = m.tid",
								  job->target_name, sets.data, param_list(nargs),
								  measure_names(job)),
						 nargs, types, values, SPI_OK_UPDATE, b->snapshot);
	}
	else if (b->kind == 'u')
	{
		StringInfoData cols;
		StringInfoData vals;
		ListCell   *lc;

		/* the measures too, merged or recomputed (see merged_value()) */
		add_array_arg(types, values, &nargs, b->merges, NULL, b->n, BOOLOID);
		add_array_arg(types, values, &nargs, b->read_from, NULL, b->n, job->time_type);
		initStringInfo(&cols);
		initStringInfo(&vals);
		foreach(lc, job->measures)
		{
			JobMeasure *m = lfirst(lc);
			const char *col = quote_identifier(m->name);

			appendStringInfo(&cols, "%s%s", foreach_current_index(lc) > 0 ? ", " : "", col);
			appendStringInfo(&vals, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
							 merged_value(m, "x", foreach_current_index(lc) + 1, psprintf("t.%s", col)));
		}
		res->sessions_updated +=
			write_target(job,
						 psprintf("UPDATE %s t SET last_event_at = m.l, session_end = m.e, "
								  "event_count = m.c, closed = m.x, "
								  "(%s) = (SELECT %s FROM (%s) x) "
								  "FROM unnest($1, $2, $3, $4, $5, $6, $7) AS m(tid, l, e, c, x, merge, rf) "
								  "WHERE t.ctid = ANY ($1) AND t.ctid = m.tid",
								  job->target_name, cols.data, vals.data,
								  sessionize_measures_sql(job, psprintf("t.%s", job->target_user_ident),
														  "m.rf", "m.l")),
						 nargs, types, values, SPI_OK_UPDATE, b->snapshot);
	}
	else if (job->measures == NIL)
		res->sessions_inserted +=
			write_target(job,
						 psprintf("INSERT INTO %s (%s, session_start, last_event_at, session_end, "
								  "event_count, closed) "
								  "SELECT * FROM unnest($1, $2, $3, $4, $5, $6)",
								  job->target_name, job->target_user_ident),
						 nargs, types, values, SPI_OK_INSERT, b->snapshot);
	else if (native)
	{
		add_measure_args(job, b, types, values, &nargs);
		res->sessions_inserted +=
			write_target(job,
						 psprintf("INSERT INTO %s (%s, session_start, last_event_at, session_end, "
								  "event_count, closed%s) "
								  "SELECT * FROM unnest(%s)",
								  job->target_name, job->target_user_ident,
								  sessionize_measure_columns(job), param_list(nargs)),
						 nargs, types, values, SPI_OK_INSERT, b->snapshot);
	}
	else
		res->sessions_inserted +=
			write_target(job,
						 psprintf("INSERT INTO %s (%s, session_start, last_event_at, session_end, "
								  "event_count, closed%s) "
								  "SELECT k.*, x.* FROM unnest($1, $2, $3, $4, $5, $6) AS k(u, s, l, e, c, x) "
								  "CROSS JOIN LATERAL (%s) x",
								  job->target_name, job->target_user_ident,
								  sessionize_measure_columns(job),
								  sessionize_measures_sql(job, "k.u", "k.s", "k.l")),
						 nargs, types, values, SPI_OK_INSERT, b->snapshot);
	b->n = 0;
	if (b->spans != NULL)
	{
		MemoryContextReset(b->mcxt);
		b->mbytes = 0;
		b->in_sql = false;
	}
}

/*
 * Write the changes: absorbed sessions are deleted, then grown ones
 * updated, then new ones inserted (no new session can have the key of one
 * that stays, so the order only keeps each statement to one kind).
 */
static void
write_changes(const JobInfo *job, const TargetChange *changes, int nchanges,
			  bool have_watermark, int64 watermark, int64 gap,
			  Snapshot snapshot, RunResult *res)
{
	static const char kinds[3] = {'d', 'u', 'i'};
	int			size = Max(Min(nchanges, WRITE_BATCH_ROWS), 1);
	WriteBatch	b;
	int			k;
	char	   *why = NULL;

	b.n = 0;
	b.tids = palloc(sizeof(Datum) * size);
	b.users = palloc(sizeof(Datum) * size);
	b.user_nulls = palloc(sizeof(bool) * size);
	b.starts = palloc(sizeof(Datum) * size);
	b.lasts = palloc(sizeof(Datum) * size);
	b.ends = palloc(sizeof(Datum) * size);
	b.counts = palloc(sizeof(Datum) * size);
	b.closed = palloc(sizeof(Datum) * size);
	b.merges = palloc(sizeof(Datum) * size);
	b.read_from = palloc(sizeof(Datum) * size);
	b.snapshot = snapshot;

	/*
	 * The measures of the sessions written are computed here, reading the
	 * events through the source's (user, time) index, when that applies
	 * (measures_build.c); otherwise each statement computes them in SQL.
	 */
	b.spans = NULL;
	if (job->measures != NIL && nchanges > 0)
	{
		if (list_length(job->measures) + 6 > WRITE_MAX_ARGS)
			why = "the job has too many measures for one statement's arrays";
		else
			b.spans = sessionize_span_measures_begin(job->source, job->source_name,
													 job->user_column, job->time_column,
													 job->measures, snapshot, &why);
	}
	if (b.spans != NULL)
	{
		int			nmeasures = list_length(job->measures);

		b.mcxt = AllocSetContextCreate(CurrentMemoryContext, "sessionize measures of a batch",
									   ALLOCSET_DEFAULT_SIZES);
		b.mvalues = palloc(sizeof(Datum *) * nmeasures);
		b.mnulls = palloc(sizeof(bool *) * nmeasures);
		b.mtyplen = palloc(sizeof(int16) * nmeasures);
		b.mtypbyval = palloc(sizeof(bool) * nmeasures);
		b.row_values = palloc(sizeof(Datum) * nmeasures);
		b.row_nulls = palloc(sizeof(bool) * nmeasures);
		for (k = 0; k < nmeasures; k++)
		{
			b.mvalues[k] = palloc(sizeof(Datum) * size);
			b.mnulls[k] = palloc(sizeof(bool) * size);
			get_typlenbyval(sessionize_span_measures_type(b.spans, k), &b.mtyplen[k],
							&b.mtypbyval[k]);
		}
		b.mbytes = 0;
		b.in_sql = false;

		/*
		 * The values of a batch are held twice (as computed, then in the
		 * statement's arrays): a batch is written once they pass the hash
		 * memory limit, so that wide values (a landing page's URL) keep
		 * memory bounded and each array far below the 1 GB of a value.
		 */
		b.max_mbytes = get_hash_memory_limit();
	}

	for (k = 0; k < 3; k++)
	{
		int			j;

		b.kind = kinds[k];
		for (j = 0; j < nchanges; j++)
		{
			const TargetChange *c = &changes[j];
			int64		end;

			if (c->kind != b.kind)
				continue;
			b.tids[b.n] = PointerGetDatum(&c->tid);
			if (c->kind != 'd')
			{
				end = session_end_time(sessionize_job_time_kind(job), c->s.last, gap);
				b.users[b.n] = c->user->user;
				b.user_nulls[b.n] = c->user->user_null;
				b.starts[b.n] = Int64GetDatum(c->s.start);
				b.lasts[b.n] = Int64GetDatum(c->s.last);
				b.ends[b.n] = Int64GetDatum(end);
				b.counts[b.n] = Int64GetDatum(c->s.count);
				b.closed[b.n] = BoolGetDatum(have_watermark && end <= watermark);
				b.merges[b.n] = BoolGetDatum(c->merge);
				b.read_from[b.n] = Int64GetDatum(c->merge ? c->read_from : c->s.start);
				if (b.spans != NULL)
					compute_row_measures(job, &b, b.n);
			}
			if (++b.n == size || (b.spans != NULL && b.mbytes > b.max_mbytes))
				write_batch(job, &b, res);
		}
		write_batch(job, &b, res);
	}

	if (b.spans != NULL)
	{
		int64		spans;
		int64		rows;

		sessionize_span_measures_counts(b.spans, &spans, &rows);
		ereport(DEBUG1,
				(errmsg_internal("job " INT64_FORMAT ": measures of " INT64_FORMAT " sessions computed from " INT64_FORMAT " events read through index %s",
								 job->job_id, spans, rows, sessionize_span_measures_index(b.spans))));
		sessionize_span_measures_end(b.spans);
		MemoryContextDelete(b.mcxt);
	}
	else if (job->measures != NIL && nchanges > 0)
		ereport(DEBUG1,
				(errmsg_internal("job " INT64_FORMAT ": measures computed with SQL, since %s",
								 job->job_id, why)));
}

/*
 * Can the measures of change c, which grows the stored session kept, be
 * merged from the stored ones and those of the new events alone?  Only if
 * no other stored session joined it and every entry of the user that lands
 * in it comes after the stored session's last event: then the events after
 * that are exactly the new ones, and the stored session's are the old ones.
 * (A stored session whose last event is at infinity never merges: no entry
 * comes after it.)
 */
static void
set_merge(TargetChange *c, const StoredSession *kept, const StoredSession *touched,
		  int ntouched, const InsertEntry *entries, int nentries)
{
	int			k;

	for (k = 0; k < ntouched; k++)
		if (&touched[k] != kept && touched[k].s.start >= c->s.start &&
			touched[k].s.start <= c->s.last)
			return;
	for (k = 0; k < nentries; k++)
		if (entries[k].s.last >= c->s.start && entries[k].s.start <= c->s.last &&
			entries[k].s.start <= kept->s.last)
			return;
	c->merge = true;
	c->read_from = kept->s.last + 1;
}

/*
 * Apply the log's insert entries to the target, as the job owner.  False if
 * the path does not apply to this job (nothing was done); otherwise adds to
 * *res and moves job's max event time and watermark on, so that the general
 * statement continues from them.
 */
bool
sessionize_apply_inserts(JobInfo *job, RunResult *res)
{
	SessionizeIdentity saved;
	TargetIndex ti;
	InsertEntry *entries;
	int			nentries;
	int64		events = 0;
	int64		late = 0;
	bool		have_max = job->have_max_event_time;
	int64		max_ts = job->max_event_time;
	bool		have_watermark = job->have_watermark;
	int64		watermark = job->watermark;
	SessionRule rule;
	TargetChange *changes;
	int			nchanges = 0;
	int			capchanges = 64;
	StoredSession *touched;
	int			captouched = 8;
	Snapshot	snapshot;
	Snapshot	logsnap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	int			first;
	bool		all_merge = job->measures != NIL;
	ListCell   *lc;

	foreach(lc, job->measures)
		if (((JobMeasure *) lfirst(lc))->merge == NULL)
			all_merge = false;

	sessionize_become(job->owner, true, &saved);
	if (!open_target_index(job, &ti))
	{
		sessionize_restore(&saved);
		return false;
	}

	/* the log is read, and the measures computed, in one snapshot */
	logsnap = RegisterSnapshot(GetTransactionSnapshot());
	nentries = read_insert_entries(job, logsnap, &entries, &events, &late, &have_max, &max_ts);
	if (have_max)
	{
		int64		candidate = sessionize_watermark_after(max_ts, job->lateness_ticks,
															   job->time_type == INT8OID);

		if (!have_watermark || candidate > watermark)
			watermark = candidate;
		have_watermark = true;
	}

	rule.gap = job->gap_ticks;
	rule.infinite_times = job->time_type != INT8OID;

	qsort_arg(entries, nentries, sizeof(InsertEntry), compare_entries, &ti);

	changes = palloc(sizeof(TargetChange) * capchanges);
	touched = palloc(sizeof(StoredSession) * captouched);

	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(ti.heap, NULL);
	scan = sessionize_index_beginscan(ti.heap, ti.index, snapshot, 2, 0);

	/* user by user */
	for (first = 0; first < nentries;)
	{
		int			end = first + 1;
		int			ntouched = 0;
		SessionRun	run;
		int			k;
		int			t;

		CHECK_FOR_INTERRUPTS();
		while (end < nentries && compare_users(&ti, &entries[first], &entries[end]) == 0)
			end++;

		for (k = first; k < end; k++)
			probe(&ti, scan, slot, &entries[k], rule.gap, &touched, &ntouched, &captouched);

		/* the sessions they touch, in time order, then the entries */
		qsort(touched, ntouched, sizeof(StoredSession), compare_stored);
		session_run_init(&run, ntouched + (end - first), CurrentMemoryContext);
		for (t = 0; t < ntouched; t++)
			session_run_append(&run, touched[t].s.start, touched[t].s.last,
							   touched[t].s.count, CurrentMemoryContext);
		for (k = first; k < end; k++)
			session_run_add_summary(&run, &rule, &entries[k].s, CurrentMemoryContext);

		/* the difference: both lists are in time order */
		t = 0;
		for (k = 0; k < run.nsessions; k++)
		{
			const SessionSummary *s = &run.items[k];

			while (t < ntouched && touched[t].s.start < s->start)
				t++;
			if (t < ntouched && touched[t].s.start == s->start)
			{
				touched[t].kept = true;
				if (touched[t].s.last != s->last || touched[t].s.count != s->count)
				{
					add_change(&changes, &nchanges, &capchanges, 'u',
							   &touched[t].tid, &entries[first], s);
					if (all_merge)
						set_merge(&changes[nchanges - 1], &touched[t], touched, ntouched,
								  &entries[first], end - first);
				}
			}
			else
				add_change(&changes, &nchanges, &capchanges, 'i',
						   NULL, &entries[first], s);
		}
		for (t = 0; t < ntouched; t++)
			if (!touched[t].kept)
				add_change(&changes, &nchanges, &capchanges, 'd',
						   &touched[t].tid, NULL, NULL);
		pfree(run.items);
		first = end;
	}

	ereport(DEBUG1,
			(errmsg_internal("job " INT64_FORMAT ": %d entries of inserted events merged through index %s: %d changes to %s",
							 job->job_id, nentries, RelationGetRelationName(ti.index),
							 nchanges, RelationGetRelationName(ti.heap))));
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(ti.index, NoLock);
	table_close(ti.heap, NoLock);

	/*
	 * The statements that write the target find its rows by TID.  With
	 * thousands of them, the planner would rather scan the whole target and
	 * hash the TIDs, which makes the cost follow the target's size instead
	 * of the change.  (Reverted with the rest at sessionize_restore().)
	 */
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	write_changes(job, changes, nchanges, have_watermark, watermark, rule.gap, logsnap, res);
	sessionize_restore(&saved);
	UnregisterSnapshot(logsnap);

	res->events_inserted += events;
	res->late_events += late;
	res->have_max_event_time = have_max;
	res->max_event_time = max_ts;
	res->have_watermark = have_watermark;
	res->watermark = watermark;
	job->have_max_event_time = have_max;
	job->max_event_time = max_ts;
	job->have_watermark = have_watermark;
	job->watermark = watermark;
	return true;
}
