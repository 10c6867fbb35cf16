/*-------------------------------------------------------------------------
 *
 * job_api.c
 *	  create_job(), alter_job() and drop_job(): check the caller, then run
 *	  the job's catalog and DDL work as the extension owner; and verify(),
 *	  which refresh.c runs as the job owner.
 *
 * The bodies are PL/pgSQL functions of the install script (_create_job and
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

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "refresh.h"
#include "security.h"

PG_FUNCTION_INFO_V1(sessionize_create_job);
PG_FUNCTION_INFO_V1(sessionize_can_be_user_type);
PG_FUNCTION_INFO_V1(sessionize_drop_job);
PG_FUNCTION_INFO_V1(sessionize_alter_job);
PG_FUNCTION_INFO_V1(sessionize_verify);

#define MAX_API_ARGS 8

/*
 * Run SELECT <body>(caller, args...) as the extension owner and return its
 * result, which must be of a pass-by-value type (or void).
 */
static Datum
call_body_as_extension_owner(FunctionCallInfo fcinfo, const char *body, bool *isnull)
{
	int			nargs = PG_NARGS();
	Oid			argtypes[MAX_API_ARGS + 1];
	Datum		values[MAX_API_ARGS + 1];
	char		nulls[MAX_API_ARGS + 1];
	StringInfoData query;
	SessionizeIdentity saved;
	Datum		result;
	int			i;
	int			ret;

	Assert(nargs <= MAX_API_ARGS);

	initStringInfo(&query);
	appendStringInfo(&query, "SELECT %s($1", body);
	argtypes[0] = REGROLEOID;
	values[0] = ObjectIdGetDatum(GetUserId());
	nulls[0] = ' ';
	for (i = 0; i < nargs; i++)
	{
		argtypes[i + 1] = get_fn_expr_argtype(fcinfo->flinfo, i);
		values[i + 1] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i + 1] = PG_ARGISNULL(i) ? 'n' : ' ';
		appendStringInfo(&query, ", $%d", i + 2);
	}
	appendStringInfoChar(&query, ')');

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sessionize_become(sessionize_extension_owner(), false, &saved);
	ret = SPI_execute_with_args(query.data, nargs + 1, argtypes, values, nulls,
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
 *			  gap interval, target name, allowed_lateness interval,
 *			  schedule_interval interval) returns bigint
 */
Datum
sessionize_create_job(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		job_id = call_body_as_extension_owner(fcinfo, "sessionize._create_job", &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(job_id);
}

/* drop_job(job_id bigint, drop_target boolean) returns void */
Datum
sessionize_drop_job(PG_FUNCTION_ARGS)
{
	bool		isnull;

	(void) call_body_as_extension_owner(fcinfo, "sessionize._drop_job", &isnull);
	PG_RETURN_VOID();
}

/*
 * alter_job(job_id bigint, gap interval, allowed_lateness interval,
 *			 schedule_interval interval, active boolean) returns void
 */
Datum
sessionize_alter_job(PG_FUNCTION_ARGS)
{
	bool		isnull;

	(void) call_body_as_extension_owner(fcinfo, "sessionize._alter_job", &isnull);
	PG_RETURN_VOID();
}

/*
 * verify(job_id bigint) returns table (difference text, user_key text,
 *		  session_start timestamptz, last_event_at timestamptz,
 *		  session_end timestamptz, event_count bigint, closed boolean)
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
