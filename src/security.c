/*-------------------------------------------------------------------------
 *
 * security.c
 *	  Switching the current user and pinning search_path for job work.
 *
 * Modelled on what PostgreSQL does for maintenance commands run as a table
 * owner: SetUserIdAndSecContext() plus a new GUC nest level in which
 * search_path is "pg_catalog, pg_temp", so nothing the session has set can
 * redirect the names in our statements.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/security.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "security.h"

/* The role that owns the sessionize extension (a superuser). */
Oid
sessionize_extension_owner(void)
{
	Oid			extoid = get_extension_oid("sessionize", false);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "could not find extension sessionize");
	owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return owner;
}

/*
 * Become "role" until sessionize_restore().  "restricted" adds
 * SECURITY_RESTRICTED_OPERATION, for running as a job owner: that role's
 * code may then not change the session (SET ROLE, temporary objects, ...).
 */
void
sessionize_become(Oid role, bool restricted, SessionizeIdentity *saved)
{
	int			context;

	GetUserIdAndSecContext(&saved->saved_userid, &saved->saved_sec_context);
	context = saved->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE;
	if (restricted)
		context |= SECURITY_RESTRICTED_OPERATION;
	SetUserIdAndSecContext(role, context);

	saved->guc_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
sessionize_restore(const SessionizeIdentity *saved)
{
	AtEOXact_GUC(false, saved->guc_nestlevel);
	SetUserIdAndSecContext(saved->saved_userid, saved->saved_sec_context);
}
