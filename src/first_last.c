/*-------------------------------------------------------------------------
 *
 * first_last.c
 *	  first(value, at) and last(value, at): grouping aggregates that return
 *	  the value at the group's smallest or largest time, and their parallel
 *	  support (combine, serialize, deserialize).  A job's measures rewrite
 *	  first(expr) and last(expr) to them.
 *
 * The time is timestamptz, timestamp or bigint: all three are int64 Datums,
 * so the SQL overloads share these functions.  Rows whose time is NULL are
 * skipped (a job never passes one: sessions skip NULL times); a NULL value
 * is a value like any other and can be the answer.
 *
 * Ties between equal times are broken by the value, under its type's
 * default btree ordering and the collation of the call, with NULL larger
 * than any value: first() keeps the smallest, last() the largest, which is
 * what (array_agg(value ORDER BY at, value))[1] and
 * (array_agg(value ORDER BY at DESC, value DESC))[1] give.  Values that the
 * ordering finds equal but that differ in their bytes (numeric 1.0 and
 * 1.00) are ordered by their bytes, so the answer never depends on the
 * order of the input rows or on how a parallel plan splits them.  A type
 * with no default btree ordering is an error on the first row, whether or
 * not a tie needs it, so that a query fails or succeeds whatever its data.
 *
 * Who may call them: everyone (EXECUTE is PUBLIC, as for any aggregate).
 * They run as the caller, with no rights of their own; the only code they
 * run besides their own is the value type's btree comparison function, as
 * ORDER BY would, and, to pass partial states between processes, its
 * binary send and receive functions (a type without them is an error in a
 * parallel plan, SQLSTATE 42883).
 *
 * The transition state lives in the aggregate memory context: the best
 * (time, value) so far, the value copied (detoasted) there.  It is NULL
 * until a row with a time arrives, so the serialize and deserialize
 * functions, which are strict, never see an empty state.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/first_last.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "first_last.h"

PG_FUNCTION_INFO_V1(first_trans);
PG_FUNCTION_INFO_V1(last_trans);
PG_FUNCTION_INFO_V1(first_combine);
PG_FUNCTION_INFO_V1(last_combine);
PG_FUNCTION_INFO_V1(first_last_serialize);
PG_FUNCTION_INFO_V1(first_last_deserialize);
PG_FUNCTION_INFO_V1(first_last_final);

/* Version byte of the serialized state; bump when the format changes. */
#define FIRST_LAST_STATE_VERSION	1
/* version, flags, time, type oid */
#define FIRST_LAST_STATE_HEADER		(1 + 1 + 8 + 4)
/* flags: bit 0 = the value is NULL */
#define FIRST_LAST_VALUE_NULL		1

typedef struct FirstLastState
{
	int64		at;				/* time of the best row */
	Datum		value;			/* its value, in the aggregate context */
	bool		isnull;			/* the value is NULL */
	bool		typbyval;
	int16		typlen;
	Oid			typid;			/* type of the value */
} FirstLastState;

/* The value type's ordering, cached in fn_extra of trans and combine. */
typedef struct FirstLastOrdering
{
	Oid			typid;
	Oid			collation;
	TypeCacheEntry *typentry;
} FirstLastOrdering;

/* The value type's send or receive function, cached in fn_extra. */
typedef struct FirstLastIO
{
	Oid			typid;
	Oid			typioparam;		/* receive only */
	int16		typlen;
	bool		typbyval;
	FmgrInfo	proc;
} FirstLastIO;

static MemoryContext
first_last_aggcontext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/*
 * The default btree ordering of typid under the call's collation, looked up
 * once per call site.  A type without one is an error.
 */
static const FirstLastOrdering *
first_last_ordering(FunctionCallInfo fcinfo, Oid typid)
{
	FirstLastOrdering *ord = (FirstLastOrdering *) fcinfo->flinfo->fn_extra;

	if (likely(ord != NULL && ord->typid == typid))
		return ord;

	if (ord == NULL)
	{
		ord = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FirstLastOrdering));
		fcinfo->flinfo->fn_extra = ord;
	}
	ord->typentry = lookup_type_cache(typid, TYPECACHE_CMP_PROC_FINFO);
	if (!OidIsValid(ord->typentry->cmp_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify a comparison function for type %s",
						format_type_be(typid)),
				 errhint("sessionize.first() and sessionize.last() break ties between equal times by the value's default btree ordering; "
						 "cast the value to a type that has one, for example text.")));
	ord->typid = typid;
	ord->collation = PG_GET_COLLATION();
	return ord;
}

/*
 * Order two values that the type's ordering finds equal by their bytes: any
 * fixed, total order will do, as long as it does not depend on the input.
 * Varlena values are compared detoasted (in the current, short-lived
 * context), so a compressed and a plain copy of one value are equal.
 */
static int
first_last_image_cmp(Datum a, Datum b, int16 typlen, bool typbyval)
{
	if (typbyval)
		return (a > b) - (a < b);
	if (typlen > 0)
		return memcmp(DatumGetPointer(a), DatumGetPointer(b), typlen);
	if (typlen == -1)
	{
		struct varlena *va = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(a));
		struct varlena *vb = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(b));
		Size		la = VARSIZE_ANY_EXHDR(va);
		Size		lb = VARSIZE_ANY_EXHDR(vb);
		int			c = memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), Min(la, lb));

		if (c != 0)
			return c;
		return (la > lb) - (la < lb);
	}
	/* cstring */
	return strcmp(DatumGetCString(a), DatumGetCString(b));
}

/*
 * Compare the rows (at1, value1) and (at2, value2) of one value type, as
 * first() and last() order them: times first, then values under cmp (the
 * type's default btree comparison) and collation, NULL larger than any
 * value, then the values' bytes: < 0, 0 or > 0.  Also the order of a job's
 * full build (measures_build.c).
 */
int
sessionize_first_last_compare(FmgrInfo *cmp, Oid collation, int16 typlen, bool typbyval,
							  int64 at1, Datum value1, bool isnull1,
							  int64 at2, Datum value2, bool isnull2)
{
	int32		c;

	if (at1 != at2)
		return at1 < at2 ? -1 : 1;
	if (isnull1 || isnull2)
		return (int) isnull1 - (int) isnull2;
	c = DatumGetInt32(FunctionCall2Coll(cmp, collation, value1, value2));
	if (c != 0)
		return c;
	return first_last_image_cmp(value1, value2, typlen, typbyval);
}

/* Compare (at1, value1) with the state's best row. */
static int
first_last_cmp(const FirstLastOrdering *ord, int64 at1, Datum value1,
			   bool isnull1, const FirstLastState *st)
{
	return sessionize_first_last_compare(&ord->typentry->cmp_proc_finfo, ord->collation,
										 st->typlen, st->typbyval, at1, value1, isnull1,
										 st->at, st->value, st->isnull);
}

/*
 * Make (at, value) the state's best row, its value copied into aggcxt.  The
 * value it replaces is freed: the aggregate context lives as long as the
 * query, and last() over rows in time order replaces it on every row.
 */
static void
first_last_take(FirstLastState *st, int64 at, Datum value, bool isnull,
				MemoryContext aggcxt)
{
	Datum		copy = (Datum) 0;

	if (!isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		if (st->typlen == -1)
			copy = PointerGetDatum(PG_DETOAST_DATUM_COPY(value));
		else
			copy = datumCopy(value, st->typbyval, st->typlen);
		MemoryContextSwitchTo(old);
	}
	if (!st->typbyval && !st->isnull)
		pfree(DatumGetPointer(st->value));
	st->at = at;
	st->value = copy;
	st->isnull = isnull;
}

static FirstLastState *
first_last_state_create(MemoryContext aggcxt, Oid typid, int16 typlen, bool typbyval)
{
	FirstLastState *st;

	st = (FirstLastState *) MemoryContextAllocZero(aggcxt, sizeof(FirstLastState));
	st->typid = typid;
	st->typlen = typlen;
	st->typbyval = typbyval;
	st->isnull = true;
	return st;
}

/*
 * first_trans(state internal, value anyelement, at <time type>)
 * last_trans(state internal, value anyelement, at <time type>)
 *
 * Not strict: a NULL value is a candidate, a NULL time is skipped.  want is
 * -1 for first (the smallest row wins), 1 for last.
 */
static Datum
first_last_trans(FunctionCallInfo fcinfo, int want, const char *fname)
{
	MemoryContext aggcxt = first_last_aggcontext(fcinfo, fname);
	FirstLastState *st = PG_ARGISNULL(0) ? NULL : (FirstLastState *) PG_GETARG_POINTER(0);
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 1);
	const FirstLastOrdering *ord;
	int64		at;
	Datum		value;
	bool		isnull;

	if (!OidIsValid(typid))
		elog(ERROR, "%s: could not determine the value's type", fname);
	/* checked on every row, so also before the first row with a time */
	ord = first_last_ordering(fcinfo, typid);

	if (PG_ARGISNULL(2))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	at = PG_GETARG_INT64(2);
	isnull = PG_ARGISNULL(1);
	value = isnull ? (Datum) 0 : PG_GETARG_DATUM(1);

	if (st == NULL)
	{
		st = first_last_state_create(aggcxt, typid, ord->typentry->typlen,
									 ord->typentry->typbyval);
		first_last_take(st, at, value, isnull, aggcxt);
	}
	else if (first_last_cmp(ord, at, value, isnull, st) * want > 0)
		first_last_take(st, at, value, isnull, aggcxt);

	PG_RETURN_POINTER(st);
}

Datum
first_trans(PG_FUNCTION_ARGS)
{
	return first_last_trans(fcinfo, -1, "first_trans");
}

Datum
last_trans(PG_FUNCTION_ARGS)
{
	return first_last_trans(fcinfo, 1, "last_trans");
}

/*
 * first_combine(state1 internal, state2 internal)
 * last_combine(state1 internal, state2 internal)
 *
 * The better of two partial states.  The executor passes the aggregate's
 * collation, as to the transition function.
 */
static Datum
first_last_combine(FunctionCallInfo fcinfo, int want, const char *fname)
{
	MemoryContext aggcxt = first_last_aggcontext(fcinfo, fname);
	FirstLastState *st1;
	FirstLastState *st2;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	st2 = (FirstLastState *) PG_GETARG_POINTER(1);

	if (PG_ARGISNULL(0))
	{
		/* copy: the second state may live in a shorter-lived context */
		st1 = first_last_state_create(aggcxt, st2->typid, st2->typlen, st2->typbyval);
		first_last_take(st1, st2->at, st2->value, st2->isnull, aggcxt);
		PG_RETURN_POINTER(st1);
	}
	st1 = (FirstLastState *) PG_GETARG_POINTER(0);

	if (st1->typid != st2->typid)
		elog(ERROR, "%s: states of types %u and %u", fname, st1->typid, st2->typid);
	if (first_last_cmp(first_last_ordering(fcinfo, st1->typid),
					   st2->at, st2->value, st2->isnull, st1) * want > 0)
		first_last_take(st1, st2->at, st2->value, st2->isnull, aggcxt);
	PG_RETURN_POINTER(st1);
}

Datum
first_combine(PG_FUNCTION_ARGS)
{
	return first_last_combine(fcinfo, -1, "first_combine");
}

Datum
last_combine(PG_FUNCTION_ARGS)
{
	return first_last_combine(fcinfo, 1, "last_combine");
}

/*
 * first_last_serialize(state internal) returns bytea
 *
 * Layout, integers in network byte order: version (1 byte), flags (1 byte:
 * bit 0 = the value is NULL), the time (int64), the value's type (uint32
 * oid), then, unless the value is NULL, its length (int32) and the bytes of
 * its type's send function.  The state is never NULL here (strict).
 */
Datum
first_last_serialize(PG_FUNCTION_ARGS)
{
	FirstLastState *st;
	FirstLastIO *io;
	StringInfoData buf;

	(void) first_last_aggcontext(fcinfo, "first_last_serialize");
	st = (FirstLastState *) PG_GETARG_POINTER(0);

	io = (FirstLastIO *) fcinfo->flinfo->fn_extra;
	if (io == NULL || io->typid != st->typid)
	{
		Oid			sendfn;
		bool		isvarlena;

		if (io == NULL)
		{
			io = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FirstLastIO));
			fcinfo->flinfo->fn_extra = io;
		}
		io->typid = InvalidOid;
		/* ERRCODE_UNDEFINED_FUNCTION for a type without one */
		getTypeBinaryOutputInfo(st->typid, &sendfn, &isvarlena);
		fmgr_info_cxt(sendfn, &io->proc, fcinfo->flinfo->fn_mcxt);
		io->typid = st->typid;
	}

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, FIRST_LAST_STATE_VERSION);
	pq_sendbyte(&buf, st->isnull ? FIRST_LAST_VALUE_NULL : 0);
	pq_sendint64(&buf, st->at);
	pq_sendint32(&buf, st->typid);
	if (!st->isnull)
	{
		bytea	   *bytes = SendFunctionCall(&io->proc, st->value);

		pq_sendint32(&buf, VARSIZE(bytes) - VARHDRSZ);
		pq_sendbytes(&buf, VARDATA(bytes), VARSIZE(bytes) - VARHDRSZ);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
reject_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid sessionize.first() or sessionize.last() aggregate state"),
			 errdetail_internal("%s", detail)));
}

/*
 * first_last_deserialize(bytes bytea, internal) returns internal
 *
 * Only the executor calls it (internal argument), with bytes that
 * first_last_serialize() wrote, but every field is checked all the same: a
 * malformed state is an ERROR (SQLSTATE 22P03), never a crash.  The value's
 * bytes must be exactly what its type's receive function consumes.
 */
Datum
first_last_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes;
	StringInfoData buf;
	StringInfoData vbuf;
	FirstLastState *st;
	FirstLastIO *io;
	int			flags;
	int64		at;
	Oid			typid;
	int32		vlen;

	(void) first_last_aggcontext(fcinfo, "first_last_deserialize");
	bytes = PG_GETARG_BYTEA_PP(0);
	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (buf.len < FIRST_LAST_STATE_HEADER)
		reject_state("The state is too short.");
	if (pq_getmsgbyte(&buf) != FIRST_LAST_STATE_VERSION)
		reject_state("Unknown state version.");
	flags = pq_getmsgbyte(&buf);
	if ((flags & ~FIRST_LAST_VALUE_NULL) != 0)
		reject_state("Unknown flags.");
	at = pq_getmsgint64(&buf);
	typid = (Oid) pq_getmsgint(&buf, 4);

	io = (FirstLastIO *) fcinfo->flinfo->fn_extra;
	if (io == NULL || io->typid != typid)
	{
		Oid			recvfn;

		if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typid)))
			reject_state("Unknown value type.");
		if (io == NULL)
		{
			io = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FirstLastIO));
			fcinfo->flinfo->fn_extra = io;
		}
		io->typid = InvalidOid;
		/* ERRCODE_UNDEFINED_FUNCTION for a type without one */
		getTypeBinaryInputInfo(typid, &recvfn, &io->typioparam);
		fmgr_info_cxt(recvfn, &io->proc, fcinfo->flinfo->fn_mcxt);
		get_typlenbyval(typid, &io->typlen, &io->typbyval);
		io->typid = typid;
	}

	/* the state, in the current (per-call) context: combine copies it */
	st = first_last_state_create(CurrentMemoryContext, typid, io->typlen, io->typbyval);
	st->at = at;
	if (flags & FIRST_LAST_VALUE_NULL)
	{
		if (buf.cursor != buf.len)
			reject_state("A NULL value has bytes.");
		PG_RETURN_POINTER(st);
	}

	if (buf.len - buf.cursor < 4)
		reject_state("The value's length is missing.");
	vlen = (int32) pq_getmsgint(&buf, 4);
	if (vlen < 0 || vlen != buf.len - buf.cursor)
		reject_state("The value's length does not match the state's length.");

	/* the receive function wants a null-terminated buffer of its own */
	initStringInfo(&vbuf);
	appendBinaryStringInfo(&vbuf, buf.data + buf.cursor, vlen);
	st->value = ReceiveFunctionCall(&io->proc, &vbuf, io->typioparam, -1);
	if (vbuf.cursor != vbuf.len)
		reject_state("The value has bytes its type does not read.");
	st->isnull = false;
	PG_RETURN_POINTER(st);
}

/*
 * first_last_final(state internal, value anyelement, at <time type>)
 * returns anyelement
 *
 * The extra arguments are always NULL: they only give the result its type.
 */
Datum
first_last_final(PG_FUNCTION_ARGS)
{
	FirstLastState *st;

	(void) first_last_aggcontext(fcinfo, "first_last_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (FirstLastState *) PG_GETARG_POINTER(0);
	if (st->isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(datumCopy(st->value, st->typbyval, st->typlen));
}
