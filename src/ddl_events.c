/*-------------------------------------------------------------------------
 *
 * ddl_events.c
 *	  sessionize._on_ddl_end(): the event trigger that keeps jobs in step
 *	  with DDL on their sources.
 *
 * Jobs name their columns, not their column numbers, so that a restored
 * table (which numbers columns anew, without dropped ones) or a partition
 * (which may number them differently) is read right.  This trigger
 * follows what DDL does to those names and to the source's partitions:
 *
 *	- ALTER TABLE ... RENAME COLUMN of a job's user or time column (or of
 *	  its target's user column) renames it in the job catalog too;
 *	- after CREATE TABLE and ALTER TABLE, each job whose source (or one of
 *	  its partitions) the command touched is reconciled by
 *	  sessionize._reconcile_capture(): partitions created or attached get
 *	  capture triggers, detached ones lose them, rows that came or went
 *	  make the next run rebuild, and a user or time column that is gone or
 *	  changed type marks the job broken (last_error) while writers carry on.
 *
 * The parse tree is read here, in C, because only it tells a rename's old
 * name from its new one.
 *
 * Who may call it: only the event trigger manager, for DDL by any role.  As
 * whom it runs: names in the parse tree are resolved as the DDL's role,
 * with its search_path, as the command itself resolved them; the catalog
 * work then runs as the extension owner with a pinned search_path, and
 * executes no code of the tables' owners.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/ddl_events.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "security.h"

PG_FUNCTION_INFO_V1(sessionize_on_ddl_end);

/* The jobs whose source or captured relations the command touched. */
static const char *const reconcile_sql =
"SELECT sessionize._reconcile_capture(x.job_id) "
"FROM (SELECT DISTINCT j.job_id "
"      FROM sessionize.jobs j "
"      JOIN pg_catalog.pg_event_trigger_ddl_commands() c "
"        ON c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
"       AND (c.objid OPERATOR(pg_catalog.=) j.source "
"            OR c.objid IN (SELECT r.rel FROM sessionize.job_relations r "
"                           WHERE r.job_id OPERATOR(pg_catalog.=) j.job_id) "
"            OR j.source IN (SELECT pg_catalog.pg_partition_ancestors(c.objid)))) x "
"ORDER BY x.job_id";

/* A column rename, followed by the jobs that name the column. */
static const char *const rename_sql =
"UPDATE sessionize.jobs SET "
"  user_column = CASE WHEN source OPERATOR(pg_catalog.=) $1 AND user_column OPERATOR(pg_catalog.=) $2 "
"                     THEN $3 ELSE user_column END, "
"  time_column = CASE WHEN source OPERATOR(pg_catalog.=) $1 AND time_column OPERATOR(pg_catalog.=) $2 "
"                     THEN $3 ELSE time_column END, "
"  target_user_column = CASE WHEN target OPERATOR(pg_catalog.=) $1 "
"                            AND target_user_column OPERATOR(pg_catalog.=) $2 "
"                            THEN $3 ELSE target_user_column END "
"WHERE (source OPERATOR(pg_catalog.=) $1 AND (user_column OPERATOR(pg_catalog.=) $2 "
"                                             OR time_column OPERATOR(pg_catalog.=) $2)) "
"   OR (target OPERATOR(pg_catalog.=) $1 AND target_user_column OPERATOR(pg_catalog.=) $2)";

/*
 * sessionize._on_ddl_end() RETURNS event_trigger, on ddl_command_end for
 * CREATE TABLE and ALTER TABLE.
 */
Datum
sessionize_on_ddl_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Oid			renamed_rel = InvalidOid;
	RenameStmt *rename = NULL;
	SessionizeIdentity saved;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize._on_ddl_end() was not called by the event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;

	/* our own DDL while the extension is being created or updated */
	if (creating_extension)
		PG_RETURN_VOID();

	if (IsA(trigdata->parsetree, RenameStmt))
	{
		rename = (RenameStmt *) trigdata->parsetree;
		if (rename->renameType == OBJECT_COLUMN && rename->relation != NULL)
			renamed_rel = RangeVarGetRelid(rename->relation, NoLock, true);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sessionize_become(sessionize_extension_owner(), false, &saved);

	if (OidIsValid(renamed_rel))
	{
		Oid			types[3] = {OIDOID, NAMEOID, NAMEOID};
		Datum		values[3];

		values[0] = ObjectIdGetDatum(renamed_rel);
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(rename->subname));
		values[2] = DirectFunctionCall1(namein, CStringGetDatum(rename->newname));
		if (SPI_execute_with_args(rename_sql, 3, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not follow a column rename in the sessionize job catalog");
	}

	if (SPI_execute(reconcile_sql, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not reconcile sessionize jobs with a DDL command");

	sessionize_restore(&saved);
	SPI_finish();
	PG_RETURN_VOID();
}
