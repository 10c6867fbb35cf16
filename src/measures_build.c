/*-------------------------------------------------------------------------
 *
 * measures_build.c
 *	  A job's full build with measures in one pass over its source, with
 *	  no sort: each user's current session and its measures' states kept
 *	  in a hash table, the measures computed natively.
 *
 * PostgreSQL's own aggregation of a job's measures costs, on the measures
 * benchmark, more than twice a whole build without measures even over
 * rows already grouped by session (test/bench/measures.sh, "floor"); the
 * SQL build also sorts the source for the window function that finds the
 * sessions.  This build reads the source once, in storage order, as
 * sessionize() does, and updates each session's measures as its events
 * come, for the aggregates it knows:
 *
 *	count(*), count(x), count(DISTINCT x): counted (distinct values kept
 *		per session and told apart at its end by hash, then by the type's
 *		default equality under the call's collation, as DISTINCT compares
 *		them);
 *	sum(x) of smallint, integer (a bigint), bigint and numeric (a numeric):
 *		added exactly, as PostgreSQL's sum() adds them;
 *	an aggregate with a sort operator (min, max, and any aggregate declared
 *		with SORTOP, which by definition returns the first value in that
 *		operator's order): the value kept that the operator puts first;
 *	bool_and, every, bool_or;
 *	sessionize.first(x, at) and last(x, at): the row that
 *		sessionize_first_last_compare() puts first or last;
 *
 * each with or without FILTER, over any arguments (evaluated with the
 * executor's expressions, as the job owner).  A list with any other
 * measure, an expression around an aggregate, an ORDER BY inside one, is
 * built with SQL instead (refresh.c); so is a source that is not one plain
 * table read directly (partitions, views, row-level security, ...).
 *
 * A session is complete when its user's next event is more than a gap
 * later, so each user's events must come in time order; event logs are
 * written so.  A sweep also writes the sessions that the latest time read
 * is more than a gap past, so that memory holds the open sessions (and one
 * entry per user), not every user's last one.  The first event that comes
 * out of order, or that would join a session a sweep wrote, or a table
 * that outgrows the hash memory limit (work_mem times
 * hash_mem_multiplier), ends the pass: NULL is returned and the caller
 * builds with SQL, whose result is the same.  Memory therefore stays
 * within the limit whatever the source.  So does a job owner without
 * SELECT on a column the pass would read, or under row-level security:
 * the pass reads the heap directly, and the SQL build applies (and
 * reports) what the executor checks.
 *
 * Runs as the current user: the caller has made the job owner current,
 * restricted, with search_path pinned, since the measures' arguments and
 * filters are code the owner wrote.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/measures_build.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "first_last.h"
#include "job_catalog.h"
#include "measures.h"
#include "measures_build.h"
#include "numeric_scaled.h"
#include "session_srf.h"
#include "user_sessions.h"

/* The table's memory is measured every so many rows. */
#define BUILD_MEMORY_EVERY	1024
/* Its blocks are no larger, so that what is allocated is about what is used. */
#define BUILD_MAX_BLOCK		(256 * 1024)
/* The users' states are carved from blocks of this size. */
#define BUILD_ARENA_BLOCK	(64 * 1024)
/* count(DISTINCT): a session's values are kept once while no more than these. */
#define BUILD_DISTINCT_SCAN	16

/* The aggregates this build computes. */
typedef enum BuildKind
{
	BUILD_COUNT,				/* count(*), count(x) */
	BUILD_COUNT_DISTINCT,		/* count(DISTINCT x) */
	BUILD_SUM_INT,				/* sum(smallint), sum(integer): bigint */
	BUILD_SUM_INT8,				/* sum(bigint): numeric */
	BUILD_SUM_NUMERIC,			/* sum(numeric) */
	BUILD_SORTOP,				/* min, max: the value the sort operator puts first */
	BUILD_AND,					/* bool_and, every */
	BUILD_OR,					/* bool_or */
	BUILD_FIRST,				/* sessionize.first(x, at) */
	BUILD_LAST					/* sessionize.last(x, at) */
} BuildKind;

/* One measure: what it computes, over what. */
typedef struct BuildMeasure
{
	BuildKind	kind;
	ExprState  *arg;			/* NULL for count(*) */
	AttrNumber	arg_attno;		/* > 0: arg is that column, read directly */
	ExprState  *at;				/* first, last: the time */
	AttrNumber	at_attno;		/* > 0: at is that column, read directly */
	ExprState  *filter;			/* NULL: none */
	Oid			argtype;
	int16		typlen;
	bool		typbyval;
	Oid			collation;		/* the call's input collation */
	FmgrInfo	cmp;			/* SORTOP, COUNT_DISTINCT: the sort or equality
								 * operator (bool); FIRST, LAST: the btree
								 * comparison (int) */
	FmgrInfo	hash;			/* COUNT_DISTINCT: the hash function */
	int			numeric_order;	/* SORTOP: 1 if cmp is numeric's >, -1 if <,
								 * else 0 */
} BuildMeasure;

/* count(DISTINCT x): a value kept, with its hash. */
typedef struct BuildDistinct
{
	uint32		hash;
	uint32		offset;			/* of its bytes in the set's */
} BuildDistinct;

/*
 * count(DISTINCT x): a session's values, in one allocation (not one per
 * value, and one array): this header, maxvals BuildDistinct, then size
 * bytes holding the values (a by-value one as its Datum, another as its
 * bytes, a varlena with the header it was read with), each at a MAXALIGN'ed
 * offset.  Freed when the session is written.
 */
typedef struct BuildDistinctSet
{
	int32		nvals;
	int32		maxvals;
	uint32		used;
	uint32		size;
} BuildDistinctSet;

#define BUILD_DISTINCT_VALS(set) ((BuildDistinct *) ((char *) (set) + MAXALIGN(sizeof(BuildDistinctSet))))
#define BUILD_DISTINCT_BYTES(set) \
	((char *) BUILD_DISTINCT_VALS(set) + MAXALIGN((set)->maxvals * sizeof(BuildDistinct)))

/* A measure's state in one session: as small as it can be, one per user. */
typedef struct BuildState
{
	union
	{
		int64		n;			/* COUNT; SUM_INT's sum */
#ifdef HAVE_INT128
		int128		sum;		/* SUM_INT8 */
#endif
		Datum		value;		/* SUM_NUMERIC, SORTOP, AND, OR, FIRST, LAST */
		BuildDistinctSet *set;	/* COUNT_DISTINCT: the values so far */
	}			u;
	int64		at;				/* FIRST, LAST: the value's time; SORTOP, if
								 * scaled: the value kept times 10^scale */
	int16		scale;
	bool		scaled;			/* SUM_NUMERIC: the sum is u.sum / 10^scale;
								 * SORTOP: at is the value kept, scaled */
	bool		empty;			/* no input yet */
	bool		valnull;		/* FIRST, LAST: the value is NULL */
} BuildState;

/* One user: its current session, and that session's measures' states. */
typedef struct BuildUser
{
	Datum		key;
	uint32		hash;
	char		status;			/* simplehash's */
	int64		start;
	int64		last;
	int64		count;
	BuildState *states;
} BuildUser;

typedef struct Build Build;

static inline uint32 build_user_hash(Build *b, Datum key);
static inline bool build_user_equal(Build *b, Datum x, Datum y);

#define SH_PREFIX builduser
#define SH_ELEMENT_TYPE BuildUser
#define SH_KEY_TYPE Datum
#define SH_KEY key
#define SH_HASH_KEY(tb, k) build_user_hash((Build *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) build_user_equal((Build *) (tb)->private_data, a, b)
#define SH_SCOPE static inline
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) (a)->hash
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

/* Everything one build works with. */
struct Build
{
	MemoryContext buildcxt;		/* everything of the build */
	int			nmeasures;
	BuildMeasure *measures;
	SessionTimeKind kind;
	SessionRule rule;
	/* the user: how to copy, hash and compare it */
	int16		user_typlen;
	bool		user_byval;
	UserKeyOps	keys;
	/* the table, and everything the sessions keep */
	MemoryContext cxt;
	builduser_hash *users;
	BuildUser	null_user;
	bool		null_user_seen;
	size_t		memory_limit;
	bool		over_limit;		/* one allocation would pass memory_limit */
	char	   *arena;			/* where the next user's states go */
	Size		arena_left;
	int64		max_time;		/* the latest time read so far */
	ExprContext *econtext;
	/* the result, and what it holds */
	BuildTotals totals;
	TupleDesc	desc;
	Tuplestorestate *result;
	Datum	   *values;
	bool	   *nulls;
};

static inline uint32
build_user_hash(Build *b, Datum key)
{
	return user_key_hash(&b->keys, key);
}

static inline bool
build_user_equal(Build *b, Datum x, Datum y)
{
	return user_key_equal(&b->keys, x, y);
}

/* ----------------------------------------------------------------------
 * The measures
 * ----------------------------------------------------------------------
 */

/* A value kept in the build's context; a varlena detoasted. */
static Datum
build_copy(Build *b, const BuildMeasure *m, Datum value)
{
	MemoryContext old = MemoryContextSwitchTo(b->cxt);
	Datum		copy;

	if (m->typlen == -1)
		copy = PointerGetDatum(PG_DETOAST_DATUM_COPY(value));
	else
		copy = datumCopy(value, m->typbyval, m->typlen);
	MemoryContextSwitchTo(old);
	return copy;
}

static void
build_free(const BuildMeasure *m, Datum value)
{
	if (!m->typbyval)
		pfree(DatumGetPointer(value));
}

/* The column a plain reference to one of the source's columns reads, or 0. */
static AttrNumber
build_plain_column(Expr *expr)
{
	if (IsA(expr, Var) && ((Var *) expr)->varno == 1 && ((Var *) expr)->varlevelsup == 0 &&
		((Var *) expr)->varattno > 0)
		return ((Var *) expr)->varattno;
	return 0;
}

/* An argument's value for the row in the econtext's scan tuple. */
static inline Datum
build_eval(ExprState *state, AttrNumber attno, ExprContext *econtext, bool *isnull)
{
	if (attno > 0)
		return slot_getattr(econtext->ecxt_scantuple, attno, isnull);
	return ExecEvalExprSwitchContext(state, econtext, isnull);
}

/*
 * Replace a kept value (old; none if had_old is false) by value: in old's
 * memory when value fits there (last() replaces its value on nearly every
 * row), else in a new copy.
 */
static Datum
build_replace(Build *b, const BuildMeasure *m, Datum old, bool had_old, Datum value)
{
	if (had_old && !m->typbyval)
	{
		if (m->typlen > 0)
		{
			memcpy(DatumGetPointer(old), DatumGetPointer(value), m->typlen);
			return old;
		}
		if (m->typlen == -1)
		{
			struct varlena *src = PG_DETOAST_DATUM_PACKED(value);
			Size		len = VARSIZE_ANY_EXHDR(src);
			struct varlena *dst = (struct varlena *) DatumGetPointer(old);

			if (len + VARHDRSZ <= VARSIZE(dst))
			{
				SET_VARSIZE(dst, len + VARHDRSZ);
				memcpy(VARDATA(dst), VARDATA_ANY(src), len);
				if ((Pointer) src != DatumGetPointer(value))
					pfree(src);
				return old;
			}
			if ((Pointer) src != DatumGetPointer(value))
				pfree(src);
		}
	}
	if (had_old)
		build_free(m, old);
	return build_copy(b, m, value);
}

/*
 * Can this build compute the measure whose analyzed expression is expr?
 * If so, fill *m (expressions prepared in the current memory context).
 */
static bool
build_prepare_measure(Expr *expr, Oid sessionize_schema, BuildMeasure *m)
{
	Aggref	   *agg;
	int			nargs;
	HeapTuple	tup;
	Oid			sortop;
	char	   *name;
	Expr	   *arg = NULL;

	if (!IsA(expr, Aggref))
		return false;
	agg = (Aggref *) expr;
	if (agg->aggorder != NIL || agg->aggkind != AGGKIND_NORMAL || agg->aggvariadic ||
		agg->agglevelsup != 0 || agg->aggdirectargs != NIL)
		return false;
	nargs = list_length(agg->args);
	if (nargs >= 1)
		arg = linitial_node(TargetEntry, agg->args)->expr;

	memset(m, 0, sizeof(BuildMeasure));
	m->collation = agg->inputcollid;
	if (agg->aggdistinct != NIL)
	{
		TypeCacheEntry *tc;

		if (agg->aggfnoid != F_COUNT_ANY || nargs != 1)
			return false;
		m->kind = BUILD_COUNT_DISTINCT;
		m->argtype = exprType((Node *) arg);

		/*
		 * DISTINCT compares with the type's default btree equality; the
		 * values are told apart by hash first, so the hash operator class
		 * must have that same equality.
		 */
		tc = lookup_type_cache(m->argtype, TYPECACHE_EQ_OPR | TYPECACHE_HASH_PROC_FINFO |
							   TYPECACHE_HASH_OPFAMILY | TYPECACHE_BTREE_OPFAMILY);
		if (!OidIsValid(tc->eq_opr) || !OidIsValid(tc->btree_opf) ||
			!OidIsValid(tc->hash_proc_finfo.fn_oid) || !OidIsValid(tc->hash_opf) ||
			get_opfamily_member(tc->hash_opf, m->argtype, m->argtype,
								HTEqualStrategyNumber) != tc->eq_opr)
			return false;
		fmgr_info(get_opcode(tc->eq_opr), &m->cmp);
		fmgr_info_copy(&m->hash, &tc->hash_proc_finfo, CurrentMemoryContext);
	}
	else
	{
		switch (agg->aggfnoid)
		{
			case F_COUNT_:
				m->kind = BUILD_COUNT;
				arg = NULL;
				break;
			case F_COUNT_ANY:
				m->kind = BUILD_COUNT;
				break;
			case F_SUM_INT2:
			case F_SUM_INT4:
				m->kind = BUILD_SUM_INT;
				break;
#ifdef HAVE_INT128
			case F_SUM_INT8:
				m->kind = BUILD_SUM_INT8;
				break;
#endif
			case F_SUM_NUMERIC:
				m->kind = BUILD_SUM_NUMERIC;
				break;
			case F_BOOL_AND:
			case F_EVERY:
				m->kind = BUILD_AND;
				break;
			case F_BOOL_OR:
				m->kind = BUILD_OR;
				break;
			default:
				tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(agg->aggfnoid));
				if (!HeapTupleIsValid(tup))
					return false;
				sortop = ((Form_pg_aggregate) GETSTRUCT(tup))->aggsortop;
				ReleaseSysCache(tup);
				if (OidIsValid(sortop) && nargs == 1)
				{
					m->kind = BUILD_SORTOP;
					fmgr_info(get_opcode(sortop), &m->cmp);
					m->numeric_order = m->cmp.fn_oid == F_NUMERIC_GT ? 1 :
						m->cmp.fn_oid == F_NUMERIC_LT ? -1 : 0;
				}
				else if (nargs == 2 && get_func_namespace(agg->aggfnoid) == sessionize_schema &&
						 (strcmp(name = get_func_name(agg->aggfnoid), "first") == 0 ||
						  strcmp(name, "last") == 0))
				{
					TypeCacheEntry *tc;

					m->kind = strcmp(name, "first") == 0 ? BUILD_FIRST : BUILD_LAST;
					tc = lookup_type_cache(exprType((Node *) arg), TYPECACHE_CMP_PROC_FINFO);
					if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
						return false;
					fmgr_info_copy(&m->cmp, &tc->cmp_proc_finfo, CurrentMemoryContext);
					m->at = ExecInitExpr(expression_planner(lsecond_node(TargetEntry, agg->args)->expr),
										 NULL);
					m->at_attno = build_plain_column(lsecond_node(TargetEntry, agg->args)->expr);
				}
				else
					return false;
				break;
		}
		if (m->kind != BUILD_COUNT && arg == NULL)
			return false;
		m->argtype = exprType((Node *) arg);	/* (InvalidOid for count(*)) */
	}
	if (arg != NULL)
	{
		get_typlenbyval(m->argtype, &m->typlen, &m->typbyval);
		m->arg = ExecInitExpr(expression_planner(arg), NULL);
		m->arg_attno = build_plain_column(arg);
	}
	if (agg->aggfilter != NULL)
		m->filter = ExecInitExpr(expression_planner(agg->aggfilter), NULL);
	return true;
}

/* count(DISTINCT x): order two kept values by hash. */
static int
build_distinct_hash_cmp(const void *a, const void *b)
{
	uint32		ha = ((const BuildDistinct *) a)->hash;
	uint32		hb = ((const BuildDistinct *) b)->hash;

	return (ha > hb) - (ha < hb);
}

/* count(DISTINCT x): a kept value. */
static inline Datum
build_distinct_value(const BuildMeasure *m, BuildDistinctSet *set, const BuildDistinct *v)
{
	char	   *bytes = BUILD_DISTINCT_BYTES(set) + v->offset;

	if (m->typbyval)
	{
		Datum		d;

		memcpy(&d, bytes, sizeof(Datum));
		return d;
	}
	return PointerGetDatum(bytes);
}

/*
 * count(DISTINCT x): keep value d of hash h in the state's set, made or
 * grown (in the build's memory) as needed.  A varlena stored compressed
 * or out of line is kept detoasted; else with its bytes as read.  A set
 * that would pass the hash memory limit at once (a few huge values, which
 * the check every BUILD_MEMORY_EVERY rows would see too late) is not
 * grown: b->over_limit then ends the pass, and SQL builds.
 */
static void
build_distinct_keep(Build *b, const BuildMeasure *m, BuildState *st, uint32 h, Datum d)
{
	BuildDistinctSet *set = st->u.set;
	Size		len;
	Size		need;

	if (!m->typbyval && m->typlen == -1 &&
		(VARATT_IS_EXTERNAL(DatumGetPointer(d)) || VARATT_IS_COMPRESSED(DatumGetPointer(d))))
		d = PointerGetDatum(PG_DETOAST_DATUM_PACKED(d));
	len = m->typbyval ? sizeof(Datum) : datumGetSize(d, false, m->typlen);
	need = MAXALIGN(len);
	if (set == NULL || set->nvals == set->maxvals || set->size - set->used < need)
	{
		int32		maxvals = set == NULL ? 8 : set->nvals == set->maxvals ? set->maxvals * 2 : set->maxvals;
		Size		size = set == NULL ? 0 : set->size;
		Size		total;
		BuildDistinctSet *grown;

		while (size - (set == NULL ? 0 : set->used) < need)
			size = Max(size * 2, 128);
		total = MAXALIGN(sizeof(BuildDistinctSet)) + MAXALIGN((Size) maxvals * sizeof(BuildDistinct)) + size;
		if (total > b->memory_limit || total > MaxAllocSize)
		{
			b->over_limit = true;
			return;
		}
		grown = MemoryContextAlloc(b->cxt, total);
		grown->nvals = set == NULL ? 0 : set->nvals;
		grown->maxvals = maxvals;
		grown->used = set == NULL ? 0 : set->used;
		grown->size = size;
		if (set != NULL)
		{
			memcpy(BUILD_DISTINCT_VALS(grown), BUILD_DISTINCT_VALS(set), set->nvals * sizeof(BuildDistinct));
			memcpy(BUILD_DISTINCT_BYTES(grown), BUILD_DISTINCT_BYTES(set), set->used);
			pfree(set);
		}
		st->u.set = set = grown;
	}
	BUILD_DISTINCT_VALS(set)[set->nvals].hash = h;
	BUILD_DISTINCT_VALS(set)[set->nvals].offset = set->used;
	if (m->typbyval)
		memcpy(BUILD_DISTINCT_BYTES(set) + set->used, &d, sizeof(Datum));
	else
		memcpy(BUILD_DISTINCT_BYTES(set) + set->used, DatumGetPointer(d), len);
	set->used += need;
	set->nvals++;
}

/*
 * count(DISTINCT x) of a session's values: sorted by hash, then, among
 * values of one hash, those equal to none before them.
 */
static int64
build_count_distinct(BuildMeasure *m, BuildDistinctSet *set)
{
	BuildDistinct *vals;
	int			n;
	int64		count = 0;
	int			i = 0;

	if (set == NULL)
		return 0;
	vals = BUILD_DISTINCT_VALS(set);
	n = set->nvals;
	/* (kept once each while they were few: see build_add()) */
	if (n <= BUILD_DISTINCT_SCAN + 1)
		return n;
	qsort(vals, n, sizeof(BuildDistinct), build_distinct_hash_cmp);
	while (i < n)
	{
		int			j = i;

		while (j < n && vals[j].hash == vals[i].hash)
			j++;
		for (int a = i; a < j; a++)
		{
			bool		seen = false;

			for (int c = i; c < a && !seen; c++)
				seen = DatumGetBool(FunctionCall2Coll(&m->cmp, m->collation,
													  build_distinct_value(m, set, &vals[c]),
													  build_distinct_value(m, set, &vals[a])));
			if (!seen)
				count++;
		}
		i = j;
	}
	return count;
}

/*
 * Does a min or max keep the value it has (st) rather than take value?
 * Numeric values that are both scaled integers (numeric_scaled.c: read,
 * with v / 10^scale, for value) compare as such; others by the sort
 * operator.
 */
static inline bool
build_sortop_keeps(BuildMeasure *m, BuildState *st, Datum value, bool read, int64 v, int scale)
{
#ifdef HAVE_INT128
	if (read && st->scaled)
		return numeric_scaled_cmp(st->at, st->scale, v, scale) * m->numeric_order > 0;
#endif
	return DatumGetBool(FunctionCall2Coll(&m->cmp, m->collation, st->u.value, value));
}

/*
 * One row's input to one measure's state (the row is the econtext's scan
 * tuple), in the row's memory: what the state keeps is copied into the
 * build's.
 */
static void
build_add(Build *b, BuildMeasure *m, BuildState *st)
{
	ExprContext *econtext = b->econtext;
	Datum		d = (Datum) 0;
	bool		isnull = false;

	if (m->filter != NULL)
	{
		Datum		f = ExecEvalExprSwitchContext(m->filter, econtext, &isnull);

		if (isnull || !DatumGetBool(f))
			return;
	}
	if (m->arg != NULL)
		d = build_eval(m->arg, m->arg_attno, econtext, &isnull);

	switch (m->kind)
	{
		case BUILD_COUNT:
			if (!isnull)
				st->u.n++;
			break;
		case BUILD_COUNT_DISTINCT:
			{
				uint32		h;

				if (isnull)
					break;
				h = DatumGetUInt32(FunctionCall1Coll(&m->hash, m->collation, d));

				/*
				 * A value kept already is not kept again, while they are few
				 * enough to look through (beyond, build_count_distinct()
				 * still counts each once).
				 */
				if (st->u.set != NULL && st->u.set->nvals <= BUILD_DISTINCT_SCAN)
					for (int i = 0; i < st->u.set->nvals; i++)
						if (BUILD_DISTINCT_VALS(st->u.set)[i].hash == h &&
							DatumGetBool(FunctionCall2Coll(&m->cmp, m->collation,
														   build_distinct_value(m, st->u.set,
																				&BUILD_DISTINCT_VALS(st->u.set)[i]),
														   d)))
							return;
				build_distinct_keep(b, m, st, h, d);
			}
			break;
		case BUILD_SUM_INT:
			if (isnull)
				break;
			if (pg_add_s64_overflow(st->u.n, getBaseType(m->argtype) == INT2OID ?
									(int64) DatumGetInt16(d) : (int64) DatumGetInt32(d),
									&st->u.n))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("bigint out of range")));
			st->empty = false;
			break;
#ifdef HAVE_INT128
		case BUILD_SUM_INT8:
			if (isnull)
				break;
			st->u.sum += DatumGetInt64(d);
			st->empty = false;
			break;
#endif
		case BUILD_SUM_NUMERIC:
			if (isnull)
				break;
			b->totals.numeric_values++;
#ifdef HAVE_INT128
			if (st->empty || st->scaled)
			{
				int64		v;
				int			scale;
				int			sumscale = st->scale;

				if (numeric_scaled_read(d, &v, &scale))
				{
					if (st->empty)
					{
						st->u.sum = v;
						st->scale = scale;
						st->scaled = true;
						st->empty = false;
						b->totals.numeric_scaled++;
						break;
					}
					if (numeric_scaled_add(&st->u.sum, &sumscale, v, scale))
					{
						st->scale = sumscale;
						b->totals.numeric_scaled++;
						break;
					}
				}
				/* (from here on, added as numerics: the sum so far is one) */
				if (!st->empty)
				{
					Datum		sum = numeric_scaled_result(st->u.sum, st->scale);

					st->u.value = build_copy(b, m, sum);
					st->scaled = false;
				}
			}
#endif
			if (st->empty)
				st->u.value = build_copy(b, m, d);
			else
			{
				/* (added in the row's memory, kept in the build's) */
				Datum		sum = DirectFunctionCall2(numeric_add, st->u.value, d);

				st->u.value = build_replace(b, m, st->u.value, true, sum);
			}
			st->empty = false;
			break;
		case BUILD_SORTOP:
			{
				bool		read = false;
				int64		v = 0;
				int			scale = 0;

				if (isnull)
					break;
#ifdef HAVE_INT128
				/* (a numeric kept is also kept as a scaled integer, if it is one) */
				if (m->numeric_order != 0)
				{
					read = numeric_scaled_read(d, &v, &scale);
					b->totals.numeric_values++;
					b->totals.numeric_scaled += read && (st->empty || st->scaled);
				}
#endif
				/* (of equal values the later, as min() and max() take it) */
				if (st->empty || !build_sortop_keeps(m, st, d, read, v, scale))
				{
					st->u.value = build_replace(b, m, st->u.value, !st->empty, d);
					st->scaled = read;
					st->at = v;
					st->scale = scale;
				}
				st->empty = false;
			}
			break;
		case BUILD_AND:
		case BUILD_OR:
			if (isnull)
				break;
			if (st->empty)
				st->u.value = d;
			else if (m->kind == BUILD_AND)
				st->u.value = BoolGetDatum(DatumGetBool(st->u.value) && DatumGetBool(d));
			else
				st->u.value = BoolGetDatum(DatumGetBool(st->u.value) || DatumGetBool(d));
			st->empty = false;
			break;
		case BUILD_FIRST:
		case BUILD_LAST:
			{
				bool		atnull;
				int64		at = DatumGetInt64(build_eval(m->at, m->at_attno, econtext, &atnull));
				int			c;

				if (atnull)
					break;
				c = st->empty ? 0 :
					sessionize_first_last_compare(&m->cmp, m->collation, m->typlen, m->typbyval,
												  at, d, isnull, st->at, st->u.value, st->valnull);
				if (st->empty || (m->kind == BUILD_FIRST ? c < 0 : c > 0))
				{
					if (isnull)
					{
						if (!st->empty && !st->valnull)
							build_free(m, st->u.value);
						st->u.value = (Datum) 0;
					}
					else
						st->u.value = build_replace(b, m, st->u.value,
													!st->empty && !st->valnull, d);
					st->valnull = isnull;
					st->at = at;
				}
				st->empty = false;
			}
			break;
	}
}

/* A measure's value for a session; the state is emptied. */
static Datum
build_final(BuildMeasure *m, BuildState *st, bool *isnull)
{
	Datum		result = (Datum) 0;

	*isnull = false;
	switch (m->kind)
	{
		case BUILD_COUNT:
			result = Int64GetDatum(st->u.n);
			break;
		case BUILD_COUNT_DISTINCT:
			{
				result = Int64GetDatum(build_count_distinct(m, st->u.set));
			}
			break;
		case BUILD_SUM_INT:
			*isnull = st->empty;
			result = Int64GetDatum(st->u.n);
			break;
#ifdef HAVE_INT128
		case BUILD_SUM_INT8:
			*isnull = st->empty;
			if (!st->empty)
				result = numeric_scaled_result(st->u.sum, 0);
			break;
		case BUILD_SUM_NUMERIC:
			*isnull = st->empty;
			if (st->scaled)
				result = numeric_scaled_result(st->u.sum, st->scale);
			else
				result = st->u.value;
			break;
#endif
		case BUILD_FIRST:
		case BUILD_LAST:
			*isnull = st->empty || st->valnull;
			result = st->u.value;
			break;
		default:
			*isnull = st->empty;
			result = st->u.value;
			break;
	}
	return result;
}

/* After a session's values are written: free what its states keep. */
static void
build_reset(BuildMeasure *m, BuildState *st)
{
	switch (m->kind)
	{
		case BUILD_SUM_NUMERIC:
			if (!st->empty && !st->scaled)
				build_free(m, st->u.value);
			break;
		case BUILD_SORTOP:
			if (!st->empty)
				build_free(m, st->u.value);
			break;
		case BUILD_FIRST:
		case BUILD_LAST:
			if (!st->empty && !st->valnull)
				build_free(m, st->u.value);
			break;
		case BUILD_COUNT_DISTINCT:
			if (st->u.set != NULL)
				pfree(st->u.set);
			break;
		default:
			break;
	}
	memset(&st->u, 0, sizeof(st->u));
	st->at = 0;
	st->scale = 0;
	st->scaled = false;
	st->empty = true;
	st->valnull = false;
}

/* Write a user's current session, and empty its states. */
static void
build_emit(Build *b, BuildUser *u, Datum key, bool keynull)
{
	b->values[0] = key;
	b->nulls[0] = keynull;
	b->values[1] = Int64GetDatum(u->start);
	b->values[2] = Int64GetDatum(u->last);
	b->values[3] = Int64GetDatum(session_end_time(b->kind, u->last, b->rule.gap));
	b->values[4] = Int64GetDatum(u->count);
	for (int i = 0; i < b->nmeasures; i++)
		b->values[5 + i] = build_final(&b->measures[i], &u->states[i], &b->nulls[5 + i]);
	tuplestore_putvalues(b->result, b->desc, b->values, b->nulls);
	b->totals.events += u->count;
	b->totals.sessions++;
	/* (the numeric of an integer sum is the only value made for the result alone) */
	for (int i = 0; i < b->nmeasures; i++)
	{
#ifdef HAVE_INT128
		if ((b->measures[i].kind == BUILD_SUM_INT8 ||
			 (b->measures[i].kind == BUILD_SUM_NUMERIC && u->states[i].scaled)) &&
			!b->nulls[5 + i])
			pfree(DatumGetPointer(b->values[5 + i]));
#endif
		build_reset(&b->measures[i], &u->states[i]);
	}
}

/*
 * Write the sessions that the latest time read is already more than a gap
 * past, and free their states: in a source in time order no later event
 * joins them (one that does makes the pass give up, in build_row()).  So
 * the table keeps, besides one entry per user, only the sessions still
 * open, as a stream processor keeps its session windows until the
 * watermark passes them.
 */
static void
build_sweep(Build *b)
{
	builduser_iterator it;
	BuildUser  *u;

	builduser_start_iterate(b->users, &it);
	while ((u = builduser_iterate(b->users, &it)) != NULL)
		if (u->count > 0 && !session_joins(&b->rule, u->last, b->max_time))
		{
			build_emit(b, u, u->key, false);
			u->count = 0;
		}
	if (b->null_user_seen && b->null_user.count > 0 &&
		!session_joins(&b->rule, b->null_user.last, b->max_time))
	{
		build_emit(b, &b->null_user, (Datum) 0, true);
		b->null_user.count = 0;
	}
}

/* A new user's entry: no session yet. */
static void
build_user_init(Build *b, BuildUser *u)
{
	Size		size = MAXALIGN(sizeof(BuildState) * b->nmeasures);

	/* (carved from blocks of the table's context: never freed one by one) */
	if (b->arena_left < size)
	{
		b->arena_left = Max(BUILD_ARENA_BLOCK, size);
		b->arena = MemoryContextAlloc(b->cxt, b->arena_left);
	}
	u->states = (BuildState *) b->arena;
	b->arena += size;
	b->arena_left -= size;
	memset(u->states, 0, size);
	for (int i = 0; i < b->nmeasures; i++)
		u->states[i].empty = true;
	u->count = 0;
}

/*
 * One row, in slot: add it to its user's session.  Returns false when the
 * pass must give up (an event out of time order).
 */
static bool
build_row(Build *b, TupleTableSlot *slot, AttrNumber userattno, AttrNumber timeattno)
{
	bool		timenull;
	bool		keynull;
	Datum		t = slot_getattr(slot, timeattno, &timenull);
	Datum		key;
	BuildUser  *u;
	bool		found;
	int64		ts;
	MemoryContext oldcxt;

	if (timenull)
		return true;
	ts = DatumGetInt64(t);
	key = slot_getattr(slot, userattno, &keynull);
	if (keynull)
	{
		u = &b->null_user;
		found = b->null_user_seen;
		if (!found)
			build_user_init(b, u);
		b->null_user_seen = true;
	}
	else
	{
		u = builduser_insert(b->users, key, &found);
		if (!found)
		{
			MemoryContext old = MemoryContextSwitchTo(b->cxt);

			u->key = datumCopy(key, b->user_byval, b->user_typlen);
			MemoryContextSwitchTo(old);
			build_user_init(b, u);
		}
	}

	if (!found)
		u->start = ts;
	else if (ts < u->last)
		return false;
	else if (u->count == 0)
	{
		/* its session was written by a sweep: this event must not join it */
		if (session_joins(&b->rule, u->last, ts))
			return false;
		u->start = ts;
	}
	else if (!session_joins(&b->rule, u->last, ts))
	{
		build_emit(b, u, keynull ? (Datum) 0 : u->key, keynull);
		u->start = ts;
		u->count = 0;
	}
	u->last = ts;
	if (ts > b->max_time)
		b->max_time = ts;
	if (unlikely(u->count == PG_INT64_MAX))
		session_count_overflow();
	u->count++;

	/* (what the measures allocate for this row alone goes with it) */
	b->econtext->ecxt_scantuple = slot;
	oldcxt = MemoryContextSwitchTo(b->econtext->ecxt_per_tuple_memory);
	for (int i = 0; i < b->nmeasures; i++)
		build_add(b, &b->measures[i], &u->states[i]);
	MemoryContextSwitchTo(oldcxt);
	ResetExprContext(b->econtext);
	return true;
}

/*
 * What a build and a span computation both start with: the build's memory
 * (b->buildcxt, a child of the current context), the measures prepared, checked against the
 * source and the current user's privileges; *exprs the measures' analyzed
 * expressions.  NULL (no context left, the caller's current again) with
 * *why when this code does not apply.
 */
static Build *
build_begin(Oid source, const char *source_name, AttrNumber userattno, AttrNumber timeattno,
			List *measures, Expr ***exprs_out, char **why)
{
	MemoryContext buildcxt;
	MemoryContext oldcxt;
	Build	   *b;
	List	   *leaves;
	Oid			schema = get_namespace_oid("sessionize", false);
	ListCell   *lc;
	Expr	  **exprs;
	int			i;

	/* one plain table, read directly */
	*why = "the source is not one plain table that it reads directly";
	if (get_rel_relkind(source) != RELKIND_RELATION || userattno <= 0 || timeattno <= 0)
		return NULL;
	if (check_enable_rls(source, InvalidOid, false) == RLS_ENABLED)
	{
		*why = "row-level security applies to the job owner";
		return NULL;
	}
	/* (a plain table is its own first member: more are inheritance children) */
	leaves = sessionize_direct_scan_members(source);
	if (list_length(leaves) != 1)
		return NULL;

	buildcxt = AllocSetContextCreate(CurrentMemoryContext, "sessionize measures build",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(buildcxt);
	b = palloc0(sizeof(Build));
	b->buildcxt = buildcxt;
	b->max_time = PG_INT64_MIN;

	/* each measure, if this build knows it */
	b->nmeasures = list_length(measures);
	b->measures = palloc0(sizeof(BuildMeasure) * b->nmeasures);
	exprs = palloc(sizeof(Expr *) * b->nmeasures);
	i = 0;
	foreach(lc, measures)
	{
		JobMeasure *jm = lfirst(lc);

		exprs[i] = sessionize_analyze_measure(source, source_name, jm->definition)->expr;
		if (!build_prepare_measure(exprs[i], schema, &b->measures[i]))
		{
			MemoryContextSwitchTo(oldcxt);
			*why = psprintf("measure \"%s\" is not one it computes", jm->name);
			MemoryContextDelete(buildcxt);
			return NULL;
		}
		i++;
	}

	/*
	 * The columns read need the current user's SELECT, as the statement
	 * that builds with SQL would check it (and then report its lack).
	 */
	if (pg_class_aclcheck(source, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		Bitmapset  *columns = NULL;
		int			k = -1;

		for (i = 0; i < b->nmeasures; i++)
			pull_varattnos((Node *) exprs[i], 1, &columns);
		columns = bms_add_member(columns, userattno - FirstLowInvalidHeapAttributeNumber);
		columns = bms_add_member(columns, timeattno - FirstLowInvalidHeapAttributeNumber);
		while ((k = bms_next_member(columns, k)) >= 0)
			if (k + FirstLowInvalidHeapAttributeNumber <= 0 ||
				pg_attribute_aclcheck(source, k + FirstLowInvalidHeapAttributeNumber,
									  GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			{
				*why = "the job owner may not read the whole source";
				MemoryContextSwitchTo(oldcxt);
				MemoryContextDelete(buildcxt);
				return NULL;
			}
	}
	MemoryContextSwitchTo(oldcxt);
	*exprs_out = exprs;
	return b;
}

Tuplestorestate *
sessionize_build_measures(Oid source, const char *source_name, const char *user_column,
						  const char *time_column, SessionTimeKind kind, int64 gap,
						  List *measures, TupleDesc *desc, BuildTotals *totals, char **why)
{
	MemoryContext buildcxt;
	MemoryContext oldcxt;
	Build	   *b;
	AttrNumber	userattno = get_attnum(source, user_column);
	AttrNumber	timeattno = get_attnum(source, time_column);
	Oid			user_type;
	int32		user_typmod;
	Oid			user_collation;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Expr	  **exprs;
	bool		complete = true;
	int64		rows = 0;
	int64		since_sweep = 0;
	int			i;

	b = build_begin(source, source_name, userattno, timeattno, measures, &exprs, why);
	if (b == NULL)
		return NULL;
	buildcxt = b->buildcxt;
	oldcxt = MemoryContextSwitchTo(buildcxt);
	b->kind = kind;
	b->rule.gap = gap;
	b->rule.infinite_times = (kind != SESSION_TIME_BIGINT);

	/* the user: hashed and compared as the tables of user_sessions.c do */
	get_atttypetypmodcoll(source, userattno, &user_type, &user_typmod, &user_collation);
	get_typlenbyval(user_type, &b->user_typlen, &b->user_byval);
	if (!user_key_ops_init(&b->keys, user_type, user_collation, buildcxt))
	{
		*why = "the user column's type has no hash function";
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(buildcxt);
		return NULL;
	}

	/* the result: u, session_start, last_event_at, session_end, event_count, m1, ... */
	MemoryContextSwitchTo(oldcxt);
	*desc = CreateTemplateTupleDesc(5 + b->nmeasures);
	/* (no collations: the statement that reads it compares none of its columns) */
	TupleDescInitEntry(*desc, 1, "u", user_type, user_typmod, 0);
	TupleDescInitEntry(*desc, 2, "session_start", get_atttype(source, timeattno), -1, 0);
	TupleDescInitEntry(*desc, 3, "last_event_at", get_atttype(source, timeattno), -1, 0);
	TupleDescInitEntry(*desc, 4, "session_end", get_atttype(source, timeattno), -1, 0);
	TupleDescInitEntry(*desc, 5, "event_count", INT8OID, -1, 0);
	for (i = 0; i < b->nmeasures; i++)
	{
		TupleDescInitEntry(*desc, 6 + i, psprintf("m%d", i + 1), exprType((Node *) exprs[i]),
						   exprTypmod((Node *) exprs[i]), 0);
	}
	b->desc = *desc;
	b->result = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(buildcxt);
	b->values = palloc(sizeof(Datum) * (5 + b->nmeasures));
	b->nulls = palloc0(sizeof(bool) * (5 + b->nmeasures));

	/* the table of users, in a context of its own whose size is watched */
	b->cxt = AllocSetContextCreate(buildcxt, "sessionize measures build users",
								   ALLOCSET_DEFAULT_MINSIZE, ALLOCSET_DEFAULT_INITSIZE,
								   BUILD_MAX_BLOCK);
	b->memory_limit = get_hash_memory_limit();
	b->users = builduser_create(b->cxt, 1024, b);
	b->econtext = CreateStandaloneExprContext();

	/* the pass */
	rel = table_open(source, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		if (!build_row(b, slot, userattno, timeattno) || b->over_limit)
		{
			complete = false;
			break;
		}
		/* a sweep every so many rows as there are users: O(1) a row */
		if (++since_sweep >= Max(BUILD_MEMORY_EVERY, b->users->members))
		{
			build_sweep(b);
			since_sweep = 0;
		}
		if (++rows % BUILD_MEMORY_EVERY == 0 &&
			MemoryContextMemAllocated(b->cxt, true) > b->memory_limit)
		{
			complete = false;
			break;
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);

	if (complete)
	{
		builduser_iterator it;
		BuildUser  *u;

		builduser_start_iterate(b->users, &it);
		while ((u = builduser_iterate(b->users, &it)) != NULL)
			if (u->count > 0)
				build_emit(b, u, u->key, false);
		if (b->null_user_seen && b->null_user.count > 0)
			build_emit(b, &b->null_user, (Datum) 0, true);
	}
	FreeExprContext(b->econtext, true);
	MemoryContextSwitchTo(oldcxt);
	if (!complete)
	{
		*why = psprintf("it gave up after " INT64_FORMAT " rows: %s", rows,
						b->over_limit || MemoryContextMemAllocated(b->cxt, true) > b->memory_limit ?
						"the open sessions outgrew the hash memory limit" :
						"an event came out of time order");
		tuplestore_end(b->result);
		MemoryContextDelete(buildcxt);
		return NULL;
	}
	{
		Tuplestorestate *result = b->result;

		*totals = b->totals;
		totals->have_max_time = totals->sessions > 0;
		totals->max_time = b->max_time;
		MemoryContextDelete(buildcxt);
		return result;
	}
}

/* ----------------------------------------------------------------------
 * Spans: the measures of some of a user's events, through an index
 * ----------------------------------------------------------------------
 */

/* A span computation: see sessionize_span_measures_begin(). */
struct SpanMeasures
{
	Build	   *b;				/* the measures; b->cxt: one span's states */
	BuildState *states;
	Oid		   *types;			/* the measures' result types */
	int16	   *typlens;
	bool	   *typbyvals;
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData keys[3];		/* user = $, time >= $, time <= $ */
	ScanKeyData null_key;		/* user IS NULL */
	int64		spans;
	int64		rows;
};

/* The procedure of a btree operator of opfamily for (type, type). */
static RegProcedure
span_operator_proc(Oid opfamily, Oid type, int16 strategy)
{
	Oid			opr = get_opfamily_member(opfamily, type, type, strategy);

	return OidIsValid(opr) ? get_opcode(opr) : InvalidOid;
}

SpanMeasures *
sessionize_span_measures_begin(Oid source, const char *source_name, const char *user_column,
							   const char *time_column, List *measures, Snapshot snapshot,
							   char **why)
{
	AttrNumber	userattno = get_attnum(source, user_column);
	AttrNumber	timeattno = get_attnum(source, time_column);
	Expr	  **exprs;
	Build	   *b;
	SpanMeasures *sm;
	MemoryContext oldcxt;
	Oid			user_type;
	int32		user_typmod;
	Oid			user_collation;
	Oid			time_type;
	RegProcedure eqproc;
	RegProcedure geproc;
	RegProcedure leproc;

	b = build_begin(source, source_name, userattno, timeattno, measures, &exprs, why);
	if (b == NULL)
		return NULL;
	oldcxt = MemoryContextSwitchTo(b->buildcxt);
	sm = palloc0(sizeof(SpanMeasures));
	sm->b = b;
	sm->heap = table_open(source, AccessShareLock);
	get_atttypetypmodcoll(source, userattno, &user_type, &user_typmod, &user_collation);
	time_type = get_atttype(source, timeattno);
	/* (compared as the SQL that reads a span compares: see session_srf.h) */
	sm->index = sessionize_open_btree_index(sm->heap, userattno, user_type, user_collation,
											timeattno, time_type, false);
	if (sm->index == NULL)
	{
		*why = "the source has no index on its user and time columns that it can read";
		MemoryContextSwitchTo(oldcxt);
		sessionize_span_measures_end(sm);
		return NULL;
	}
	eqproc = span_operator_proc(sm->index->rd_opfamily[0], sm->index->rd_opcintype[0],
								BTEqualStrategyNumber);
	geproc = span_operator_proc(sm->index->rd_opfamily[1], time_type,
								BTGreaterEqualStrategyNumber);
	leproc = span_operator_proc(sm->index->rd_opfamily[1], time_type,
								BTLessEqualStrategyNumber);

	/* the results, written into arrays of their types */
	sm->types = palloc(sizeof(Oid) * b->nmeasures);
	sm->typlens = palloc(sizeof(int16) * b->nmeasures);
	sm->typbyvals = palloc(sizeof(bool) * b->nmeasures);
	*why = NULL;
	if (!OidIsValid(eqproc) || !OidIsValid(geproc) || !OidIsValid(leproc))
		*why = "the index has no equality or range operator for its keys";
	for (int i = 0; i < b->nmeasures; i++)
	{
		sm->types[i] = exprType((Node *) exprs[i]);
		get_typlenbyval(sm->types[i], &sm->typlens[i], &sm->typbyvals[i]);
		if (!OidIsValid(get_array_type(sm->types[i])))
			*why = "a measure's type has no array type";
	}
	if (*why != NULL)
	{
		MemoryContextSwitchTo(oldcxt);
		sessionize_span_measures_end(sm);
		return NULL;
	}

	/* the keys: a user (or NULL), from <= time <= to */
	ScanKeyEntryInitialize(&sm->keys[0], 0, 1, BTEqualStrategyNumber,
						   sm->index->rd_opcintype[0], user_collation, eqproc, (Datum) 0);
	ScanKeyEntryInitialize(&sm->keys[1], 0, 2, BTGreaterEqualStrategyNumber,
						   time_type, sm->index->rd_indcollation[1], geproc, (Datum) 0);
	ScanKeyEntryInitialize(&sm->keys[2], 0, 2, BTLessEqualStrategyNumber,
						   time_type, sm->index->rd_indcollation[1], leproc, (Datum) 0);
	ScanKeyEntryInitialize(&sm->null_key, SK_ISNULL | SK_SEARCHNULL, 1, InvalidStrategy,
						   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);

	/* one span's states, in a context emptied after each */
	b->cxt = AllocSetContextCreate(b->buildcxt, "sessionize span measures",
								   ALLOCSET_DEFAULT_SIZES);
	b->memory_limit = get_hash_memory_limit();
	b->econtext = CreateStandaloneExprContext();
	sm->states = palloc0(sizeof(BuildState) * b->nmeasures);
	sm->slot = table_slot_create(sm->heap, NULL);
	sm->scan = sessionize_index_beginscan(sm->heap, sm->index, snapshot, 3, 0);
	MemoryContextSwitchTo(oldcxt);
	return sm;
}

bool
sessionize_span_measures(SpanMeasures *sm, Datum user, bool user_null, int64 from, int64 to,
						 Datum *values, bool *nulls)
{
	Build	   *b = sm->b;
	ScanKeyData keys[3];
	MemoryContext oldcxt;
	int64		rows = 0;
	bool		complete = true;

	for (int i = 0; i < b->nmeasures; i++)
	{
		memset(&sm->states[i], 0, sizeof(BuildState));
		sm->states[i].empty = true;
	}
	memcpy(keys, sm->keys, sizeof(keys));
	if (user_null)
		keys[0] = sm->null_key;
	else
		keys[0].sk_argument = user;
	keys[1].sk_argument = Int64GetDatum(from);
	keys[2].sk_argument = Int64GetDatum(to);
	index_rescan(sm->scan, keys, 3, NULL, 0);

	b->econtext->ecxt_scantuple = sm->slot;
	while (index_getnext_slot(sm->scan, ForwardScanDirection, sm->slot))
	{
		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(b->econtext->ecxt_per_tuple_memory);
		for (int i = 0; i < b->nmeasures; i++)
			build_add(b, &b->measures[i], &sm->states[i]);
		MemoryContextSwitchTo(oldcxt);
		ResetExprContext(b->econtext);
		if (++rows % BUILD_MEMORY_EVERY == 0 &&
			MemoryContextMemAllocated(b->cxt, true) > b->memory_limit)
			b->over_limit = true;
		if (b->over_limit)
		{
			complete = false;
			break;
		}
	}
	sm->spans++;
	sm->rows += rows;
	b->over_limit = false;

	/* the values, copied into the caller's memory; the states' freed */
	if (complete)
		for (int i = 0; i < b->nmeasures; i++)
		{
			Datum		v;

			oldcxt = MemoryContextSwitchTo(b->cxt);
			v = build_final(&b->measures[i], &sm->states[i], &nulls[i]);
			MemoryContextSwitchTo(oldcxt);
			values[i] = nulls[i] ? (Datum) 0 : datumCopy(v, sm->typbyvals[i], sm->typlens[i]);
		}
	MemoryContextReset(b->cxt);
	return complete;
}

void
sessionize_span_measures_end(SpanMeasures *sm)
{
	if (sm->scan != NULL)
		index_endscan(sm->scan);
	if (sm->slot != NULL)
		ExecDropSingleTupleTableSlot(sm->slot);
	if (sm->index != NULL)
		index_close(sm->index, NoLock);
	table_close(sm->heap, NoLock);
	if (sm->b->econtext != NULL)
		FreeExprContext(sm->b->econtext, true);
	MemoryContextDelete(sm->b->buildcxt);
}

/* The result type of measure i (from 0): the element type of its array. */
Oid
sessionize_span_measures_type(SpanMeasures *sm, int i)
{
	return sm->types[i];
}

/* The name of the index the spans are read through. */
const char *
sessionize_span_measures_index(SpanMeasures *sm)
{
	return RelationGetRelationName(sm->index);
}

/* How many spans were computed, and how many events they read. */
void
sessionize_span_measures_counts(SpanMeasures *sm, int64 *spans, int64 *rows)
{
	*spans = sm->spans;
	*rows = sm->rows;
}
