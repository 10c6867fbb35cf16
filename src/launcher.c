/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher of the background worker: one scheduler per database.
 *
 * Registered by _PG_init when the library is in shared_preload_libraries,
 * it starts when the server accepts writes (BgWorkerStart_RecoveryFinished:
 * never on a standby, at once on a standby that is promoted), connects to
 * no database, and reads pg_database every sessionize.naptime.  For each
 * database that allows connections, is not a template and is listed in
 * sessionize.databases (empty: all), it keeps a scheduler (scheduler.c)
 * running, at most sessionize.max_schedulers at once.  It cannot see
 * which databases have the extension: a scheduler that finds none exits,
 * and the launcher looks again when a backend asks for one (a job was
 * created there, see worker_shmem.c) or after PROBE_INTERVAL.  A scheduler
 * stopped to free its database for a command (DROP DATABASE, ...) is
 * started again when the database's hold ends, if it is still there; one
 * that stopped for another reason (pg_terminate_backend(), an error) is
 * started again after sessionize.naptime; the launcher restarts
 * schedulers itself (they never restart on their own) because only it
 * knows whether their database still exists.
 *
 * With sessionize.enabled off it stops the schedulers and starts none.
 * Signals: SIGHUP reloads the settings, SIGTERM ends it (and its
 * schedulers) cleanly; the postmaster starts it again after
 * LAUNCHER_RESTART_SECONDS.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "compat.h"
#include "launcher.h"
#include "worker_shmem.h"

/* seconds before the postmaster starts a launcher that died */
#define LAUNCHER_RESTART_SECONDS	10
/* how often a database without the extension is looked at again, in ms */
#define PROBE_INTERVAL_MS			(60 * 1000)

bool		sessionize_enabled = true;
int			sessionize_naptime = 5000;
int			sessionize_run_timeout = 0;
int			sessionize_log_level = DEBUG1;
char	   *sessionize_databases = NULL;

/* The launcher's view of one database. */
typedef struct DatabaseEntry
{
	Oid			dboid;			/* hash key */
	char		name[NAMEDATALEN];
	BackgroundWorkerHandle *handle; /* its scheduler, or NULL */
	int			slot;			/* the scheduler's slot in shared memory */
	TimestampTz start_after;	/* no scheduler before then */
	bool		wanted;			/* should have a scheduler, as of the last look */
} DatabaseEntry;

static HTAB *databases = NULL;
static bool slots_full_reported = false;
static bool workers_full_reported = false;

void
sessionize_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = LAUNCHER_RESTART_SECONDS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "sessionize");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "sessionize_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "sessionize launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "sessionize launcher");
	RegisterBackgroundWorker(&worker);
}

/* Is the database named in sessionize.databases (or is the list empty)? */
static bool
database_listed(const char *name)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	bool		listed = false;

	if (sessionize_databases == NULL || sessionize_databases[0] == '\0')
		return true;
	raw = pstrdup(sessionize_databases);
	if (!SplitGUCList(raw, ',', &names))
		return false;			/* (the check hook refuses such a value) */
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), name) == 0)
			listed = true;
	}
	list_free(names);
	pfree(raw);
	return listed;
}

/* Mark, in the hash, the databases that should have a scheduler now. */
static void
read_databases(void)
{
	HASH_SEQ_STATUS seq;
	DatabaseEntry *entry;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	hash_seq_init(&seq, databases);
	while ((entry = hash_seq_search(&seq)) != NULL)
		entry->wanted = false;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		bool		found;

		if (!db->datallowconn || db->datistemplate || sessionize_database_is_invalid(db) ||
			!database_listed(NameStr(db->datname)))
			continue;
		entry = hash_search(databases, &db->oid, HASH_ENTER, &found);
		if (!found)
		{
			entry->handle = NULL;
			entry->slot = -1;
			entry->start_after = 0;
		}
		strlcpy(entry->name, NameStr(db->datname), NAMEDATALEN);
		entry->wanted = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static void
start_scheduler(DatabaseEntry *entry, TimestampTz now)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	int			slot = sessionize_slot_claim(entry->dboid);

	if (slot < 0)
	{
		if (!slots_full_reported)
			ereport(LOG,
					(errmsg("sessionize: no scheduler for database \"%s\": sessionize.max_schedulers (%d) are running",
							entry->name, sessionize_max_schedulers),
					 errhint("Raise sessionize.max_schedulers, or list the databases to serve in sessionize.databases.")));
		slots_full_reported = true;
		return;
	}

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	/* the launcher restarts it, knowing whether the database still exists */
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "sessionize");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "sessionize_scheduler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "sessionize scheduler for database \"%s\"", entry->name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "sessionize scheduler");
	worker.bgw_main_arg = Int32GetDatum(slot);
	memcpy(worker.bgw_extra, &entry->dboid, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		bool		ignored;

		MemoryContextSwitchTo(old);
		sessionize_slot_release(slot, &ignored);
		if (!workers_full_reported)
			ereport(LOG,
					(errmsg("sessionize: could not start a scheduler for database \"%s\": no background worker slot free",
							entry->name),
					 errhint("Raise max_worker_processes.")));
		workers_full_reported = true;
		entry->start_after = TimestampTzPlusMilliseconds(now, sessionize_naptime);
		return;
	}
	MemoryContextSwitchTo(old);
	entry->handle = handle;
	entry->slot = slot;
	slots_full_reported = false;
	workers_full_reported = false;
	elog(DEBUG1, "sessionize: started a scheduler for database \"%s\"", entry->name);
}

/*
 * Free the slots of schedulers that stopped, and decide when their
 * databases get one again.
 */
static void
reap_schedulers(TimestampTz now)
{
	HASH_SEQ_STATUS seq;
	DatabaseEntry *entry;

	hash_seq_init(&seq, databases);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		pid_t		pid;
		bool		no_extension;
		TimestampTz held_until;

		if (entry->handle == NULL ||
			GetBackgroundWorkerPid(entry->handle, &pid) != BGWH_STOPPED)
			continue;
		sessionize_slot_release(entry->slot, &no_extension);
		pfree(entry->handle);
		entry->handle = NULL;
		entry->slot = -1;
		entry->start_after = TimestampTzPlusMilliseconds(now, no_extension ? PROBE_INTERVAL_MS
														 : sessionize_naptime);

		/*
		 * One stopped to free its database for a command (DROP DATABASE,
		 * ...) comes back when the hold ends, whatever sessionize.naptime:
		 * if the database is still there then, the command was refused or
		 * rolled back, or only renamed it.
		 */
		if (!no_extension && sessionize_database_held(entry->dboid, now, &held_until))
			entry->start_after = held_until;
	}
}

static void
stop_scheduler(DatabaseEntry *entry)
{
	if (entry->handle != NULL)
		TerminateBackgroundWorker(entry->handle);
}

/* At exit: a launcher that comes back starts with no scheduler running. */
static void
stop_all_schedulers(int code, Datum arg)
{
	HASH_SEQ_STATUS seq;
	DatabaseEntry *entry;

	if (databases == NULL)
		return;
	hash_seq_init(&seq, databases);
	while ((entry = hash_seq_search(&seq)) != NULL)
		stop_scheduler(entry);
}

/* One look at the databases; returns how long to sleep, in ms. */
static long
launcher_look(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz wake = TimestampTzPlusMilliseconds(now, sessionize_naptime);
	HASH_SEQ_STATUS seq;
	DatabaseEntry *entry;
	Oid			asked[64];
	bool		all;
	int			nasked;
	int			i;

	reap_schedulers(now);
	if (!sessionize_enabled || RecoveryInProgress())
	{
		hash_seq_init(&seq, databases);
		while ((entry = hash_seq_search(&seq)) != NULL)
			stop_scheduler(entry);
		return sessionize_naptime;
	}

	read_databases();

	/* databases where a job was created: look there now */
	nasked = sessionize_take_wake_requests(asked, lengthof(asked), &all);
	hash_seq_init(&seq, databases);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		bool		asked_for = all;

		for (i = 0; i < nasked && !asked_for; i++)
			asked_for = (asked[i] == entry->dboid);
		if (asked_for && entry->handle == NULL)
			entry->start_after = 0;
	}

	hash_seq_init(&seq, databases);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		TimestampTz held_until;

		if (!entry->wanted)
		{
			/* dropped, or no longer listed */
			if (entry->handle != NULL)
				stop_scheduler(entry);
			else
				(void) hash_search(databases, &entry->dboid, HASH_REMOVE, NULL);
			continue;
		}
		if (entry->handle != NULL)
			continue;
		if (sessionize_database_held(entry->dboid, now, &held_until))
		{
			wake = Min(wake, held_until);
			continue;
		}
		if (entry->start_after > now)
		{
			wake = Min(wake, entry->start_after);
			continue;
		}
		start_scheduler(entry, now);
	}

	return Max(10, (long) ((wake - now) / 1000));
}

/*
 * A launcher that died (not in a crash, which resets shared memory) had
 * its schedulers stopped: wait for them to be gone (stopping any that is
 * not), then free all slots.
 */
static void
clear_slots_of_earlier_launcher(void)
{
	int			i;
	int			tries;

	for (tries = 0; tries < 100; tries++)
	{
		bool		running = false;

		for (i = 0; i < sessionize_max_schedulers; i++)
		{
			pid_t		pid = sessionize_slot_pid(i);

			if (pid != 0)
			{
				running = true;
				(void) kill(pid, SIGTERM);
			}
		}
		if (!running)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	for (i = 0; i < sessionize_max_schedulers; i++)
	{
		bool		ignored;

		sessionize_slot_release(i, &ignored);
	}
}

void
sessionize_launcher_main(Datum main_arg)
{
	HASHCTL		ctl;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: only shared catalogs (pg_database) */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	SetConfigOption("application_name", "sessionize launcher", PGC_USERSET, PGC_S_SESSION);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(DatabaseEntry);
	databases = hash_create("sessionize databases", 16, &ctl, HASH_ELEM | HASH_BLOBS);

	clear_slots_of_earlier_launcher();
	sessionize_launcher_attach();
	before_shmem_exit(stop_all_schedulers, (Datum) 0);
	elog(DEBUG1, "sessionize launcher started");

	for (;;)
	{
		long		timeout;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		timeout = launcher_look();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
