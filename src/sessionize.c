/*-------------------------------------------------------------------------
 *
 * sessionize.c
 *	  Library entry point: module magic, settings, the background worker.
 *
 * The SQL functions work in any backend, whether or not the library is in
 * shared_preload_libraries; _PG_init must therefore never fail when it is
 * loaded late.  The settings are defined in every backend (run_due_jobs()
 * reads the retry and history ones); the background worker (launcher.c),
 * its shared memory (worker_shmem.c) and the hook that frees a database of
 * its scheduler for DROP DATABASE and friends exist only when the library
 * is preloaded.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/sessionize.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "compat.h"
#include "job_runner.h"
#include "launcher.h"
#include "worker_shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static const struct config_enum_entry log_level_options[] = {
	{"debug5", DEBUG5, false},
	{"debug4", DEBUG4, false},
	{"debug3", DEBUG3, false},
	{"debug2", DEBUG2, false},
	{"debug1", DEBUG1, false},
	{"debug", DEBUG2, true},
	{"info", INFO, false},
	{"notice", NOTICE, false},
	{"warning", WARNING, false},
	{"log", LOG, false},
	{NULL, 0, false}
};

/* sessionize.databases: a list of database names, as in a GUC list */
static bool
check_databases(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitGUCList(raw, ',', &names);

	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	list_free(names);
	pfree(raw);
	return ok;
}

/*
 * The database a utility command needs without other sessions: the one it
 * drops, renames, moves to another tablespace, or copies as a template.
 */
static const char *
database_needed_alone(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			return ((DropdbStmt *) parsetree)->dbname;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				return ((RenameStmt *) parsetree)->subname;
			return NULL;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
			{
				if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
					return ((AlterDatabaseStmt *) parsetree)->dbname;
			}
			return NULL;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) parsetree)->options)
			{
				DefElem    *d = (DefElem *) lfirst(lc);

				if (strcmp(d->defname, "template") == 0 && d->arg != NULL)
					return defGetString(d);
			}
			return NULL;
		default:
			return NULL;
	}
}

/*
 * Before such a command, stop the database's scheduler (and keep it away
 * for a few seconds), so that the command does not fail with "database is
 * being accessed by other users".  Only for a role that owns the database
 * (the command needs that, or is refused anyway).
 */
static void
sessionize_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						  ProcessUtilityContext context, ParamListInfo params,
						  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	const char *dbname = database_needed_alone(pstmt->utilityStmt);

	if (dbname != NULL)
	{
		Oid			dboid = get_database_oid(dbname, true);

		if (OidIsValid(dboid) && sessionize_database_ownercheck(dboid, GetUserId()))
			sessionize_release_database(dboid);
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

static void
define_settings(void)
{
	DefineCustomBoolVariable("sessionize.enabled",
							 "Whether the background worker runs jobs.",
							 "When off, the launcher stops the schedulers and starts none; "
							 "run_job() and run_due_jobs() still work.",
							 &sessionize_enabled, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("sessionize.naptime",
							"Longest sleep of a scheduler between looks at its jobs.",
							"Schedulers wake when a job is due or jobs change; this also sets how "
							"often the launcher reads pg_database and how soon it restarts a "
							"scheduler that stopped.",
							&sessionize_naptime, 5000, 100, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("sessionize.run_timeout",
							"Longest run of a job by the background worker (0: no limit).",
							"A run that takes longer is cancelled and recorded as failed (SQLSTATE 57014).",
							&sessionize_run_timeout, 0, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("sessionize.log_level",
							 "Level of the server log message the background worker writes for each successful run.",
							 "Failed runs are always logged, at LOG.",
							 &sessionize_log_level, DEBUG1, log_level_options, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("sessionize.databases",
							   "Databases whose jobs the background worker runs (empty: every database where sessionize is installed).",
							   "A comma-separated list of database names.",
							   &sessionize_databases, "", PGC_SIGHUP, GUC_LIST_INPUT,
							   check_databases, NULL, NULL);
	DefineCustomIntVariable("sessionize.history_retention",
							"How long sessionize.job_run_details keeps a run (-1: for ever).",
							NULL,
							&sessionize_history_retention, 7 * 24 * 3600, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("sessionize.max_retry_backoff",
							"Longest wait before a failed job is tried again.",
							"A failed job waits schedule_interval * 2^consecutive_failures, at most this.",
							&sessionize_max_retry_backoff, 300, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("sessionize.max_schedulers",
								"How many databases' schedulers may run at once (and so job runs).",
								"Each is a background worker: max_worker_processes must leave room "
								"for them and the launcher.",
								&sessionize_max_schedulers, 8, 1, 1024, PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
}

void
_PG_init(void)
{
	define_settings();

	/* settings named sessionize.* belong to us, even before we define them */
	MarkGUCPrefixReserved("sessionize");

	if (!process_shared_preload_libraries_in_progress)
		return;
	/* pg_upgrade's servers run no jobs */
	if (IsBinaryUpgrade)
		return;

	sessionize_shmem_request();
	sessionize_shmem_startup();
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = sessionize_ProcessUtility;
	sessionize_launcher_register();
}
