/*-------------------------------------------------------------------------
 *
 * worker_shmem.c
 *	  Shared memory of the background worker: the launcher's latch and
 *	  wake-up requests, one slot per scheduler, databases held free.
 *
 * Everything here is a hint that makes the worker prompt, never something
 * it depends on to be right: a lost wake-up delays a run by at most
 * sessionize.naptime (or the launcher's probe of a database), a spurious
 * one costs a look at the catalog.  The spinlock guards a few words; no
 * code that can fail runs while it is held.
 *
 * Wake-ups.  A transaction that changes sessionize.jobs (create_job(),
 * alter_job(), drop_job(), a restore) fires the jobs_changed trigger; when
 * it commits, its database's scheduler is told to read the jobs again, or,
 * if the database has none, the launcher is asked to start one.  A
 * scheduler that finds no extension exits; the launcher starts it again
 * only when asked to or after a while, unless a wake-up came after the
 * scheduler had started looking (see sessionize_slot_release()).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/worker_shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "worker_shmem.h"

PG_FUNCTION_INFO_V1(sessionize_jobs_changed);

#define WAKE_QUEUE_SIZE		16
#define HELD_DATABASES		4
/* how long a command that needs a database alone keeps its scheduler away */
#define HOLD_SECONDS		10

int			sessionize_max_schedulers = 8;

typedef struct SchedulerSlot
{
	Oid			dboid;			/* InvalidOid: a free slot */
	pid_t		pid;			/* 0: not running (not yet, or no more) */
	Latch	   *latch;
	bool		jobs_changed;	/* set by backends, taken by the scheduler */
	bool		no_extension;	/* it found no extension, and exited */
} SchedulerSlot;

typedef struct HeldDatabase
{
	Oid			dboid;
	TimestampTz until;
} HeldDatabase;

typedef struct SessionizeShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	int			nwake;
	bool		wake_all;		/* the queue overflowed: look at every database */
	Oid			wake[WAKE_QUEUE_SIZE];
	HeldDatabase held[HELD_DATABASES];
	int			nslots;
	SchedulerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} SessionizeShared;

static SessionizeShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static bool wake_pending = false;
static bool xact_callback_registered = false;

static Size
shared_size(void)
{
	return add_size(offsetof(SessionizeShared, slots),
					mul_size(sizeof(SchedulerSlot), sessionize_max_schedulers));
}

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
}

static void
shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("sessionize", shared_size(), &found);
	if (!found)
	{
		memset(shared, 0, shared_size());
		SpinLockInit(&shared->mutex);
		shared->nslots = sessionize_max_schedulers;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Install the hooks; from _PG_init, when preloading. */
void
sessionize_shmem_request(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
}

void
sessionize_shmem_startup(void)
{
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

bool
sessionize_shmem_available(void)
{
	return shared != NULL;
}

/* ---- the launcher ---- */

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&shared->mutex);
	shared->launcher_latch = NULL;
	SpinLockRelease(&shared->mutex);
}

void
sessionize_launcher_attach(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->launcher_latch = MyLatch;
	SpinLockRelease(&shared->mutex);
	on_shmem_exit(launcher_detach, (Datum) 0);
}

/*
 * Take the databases whose scheduler backends asked for (at most max, into
 * dbs); *all when there were more than the queue holds.
 */
int
sessionize_take_wake_requests(Oid *dbs, int max, bool *all)
{
	int			n;

	SpinLockAcquire(&shared->mutex);
	n = Min(shared->nwake, max);
	memcpy(dbs, shared->wake, n * sizeof(Oid));
	*all = shared->wake_all || shared->nwake > max;
	shared->nwake = 0;
	shared->wake_all = false;
	SpinLockRelease(&shared->mutex);
	return n;
}

/* A slot for a scheduler of dboid that is about to start; -1 if none is free. */
int
sessionize_slot_claim(Oid dboid)
{
	int			i;
	int			slot = -1;

	SpinLockAcquire(&shared->mutex);
	for (i = 0; i < shared->nslots; i++)
	{
		if (!OidIsValid(shared->slots[i].dboid))
		{
			shared->slots[i].dboid = dboid;
			shared->slots[i].pid = 0;
			shared->slots[i].latch = NULL;
			shared->slots[i].jobs_changed = true;
			shared->slots[i].no_extension = false;
			slot = i;
			break;
		}
	}
	SpinLockRelease(&shared->mutex);
	return slot;
}

/*
 * The scheduler of a slot has stopped: free the slot.  *no_extension says
 * whether it found no extension and no wake-up came after it looked (then
 * the database needs no scheduler until one is asked for).
 */
void
sessionize_slot_release(int slot, bool *no_extension)
{
	SchedulerSlot *s = &shared->slots[slot];

	SpinLockAcquire(&shared->mutex);
	*no_extension = s->no_extension && !s->jobs_changed;
	s->dboid = InvalidOid;
	s->pid = 0;
	s->latch = NULL;
	SpinLockRelease(&shared->mutex);
}

/* The pid of a slot's scheduler, 0 when none runs. */
pid_t
sessionize_slot_pid(int slot)
{
	pid_t		pid;

	SpinLockAcquire(&shared->mutex);
	pid = shared->slots[slot].pid;
	SpinLockRelease(&shared->mutex);
	return pid;
}

/* Is dboid held free of a scheduler (until *until)? */
bool
sessionize_database_held(Oid dboid, TimestampTz now, TimestampTz *until)
{
	bool		held = false;
	int			i;

	SpinLockAcquire(&shared->mutex);
	for (i = 0; i < HELD_DATABASES; i++)
	{
		if (shared->held[i].dboid == dboid && shared->held[i].until > now)
		{
			held = true;
			*until = shared->held[i].until;
		}
	}
	SpinLockRelease(&shared->mutex);
	return held;
}

/* ---- a scheduler ---- */

static void
slot_detach(int code, Datum arg)
{
	SchedulerSlot *s = &shared->slots[DatumGetInt32(arg)];

	SpinLockAcquire(&shared->mutex);
	s->pid = 0;
	s->latch = NULL;
	SpinLockRelease(&shared->mutex);
}

void
sessionize_slot_attach(int slot, Oid dboid)
{
	SchedulerSlot *s;

	if (slot < 0 || slot >= shared->nslots)
		elog(FATAL, "sessionize scheduler started with an invalid slot %d", slot);
	s = &shared->slots[slot];
	SpinLockAcquire(&shared->mutex);
	if (s->dboid != dboid)
	{
		SpinLockRelease(&shared->mutex);
		elog(FATAL, "sessionize scheduler slot %d is not for database %u", slot, dboid);
	}
	s->pid = MyProcPid;
	s->latch = MyLatch;
	SpinLockRelease(&shared->mutex);
	on_shmem_exit(slot_detach, Int32GetDatum(slot));
}

void
sessionize_slot_set_no_extension(int slot)
{
	SpinLockAcquire(&shared->mutex);
	shared->slots[slot].no_extension = true;
	SpinLockRelease(&shared->mutex);
}

/* Did jobs change since the last call?  (Clears the flag.) */
bool
sessionize_slot_take_jobs_changed(int slot)
{
	bool		changed;

	SpinLockAcquire(&shared->mutex);
	changed = shared->slots[slot].jobs_changed;
	shared->slots[slot].jobs_changed = false;
	SpinLockRelease(&shared->mutex);
	return changed;
}

/* ---- any backend ---- */

/*
 * Jobs of dboid changed (committed): tell its scheduler, or ask the
 * launcher for one.
 */
static void
wake_database(Oid dboid)
{
	Latch	   *latch = NULL;
	bool		found = false;
	int			i;

	SpinLockAcquire(&shared->mutex);
	for (i = 0; i < shared->nslots; i++)
	{
		SchedulerSlot *s = &shared->slots[i];

		if (s->dboid == dboid)
		{
			s->jobs_changed = true;
			latch = s->latch;
			found = true;
		}
	}
	if (!found)
	{
		if (shared->nwake < WAKE_QUEUE_SIZE)
			shared->wake[shared->nwake++] = dboid;
		else
			shared->wake_all = true;
		latch = shared->launcher_latch;
	}
	SpinLockRelease(&shared->mutex);
	if (latch)
		SetLatch(latch);
}

static void
wake_at_commit(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_pending)
			{
				wake_pending = false;
				wake_database(MyDatabaseId);
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* (a prepared transaction's jobs are seen at the next look) */
			wake_pending = false;
			break;
		default:
			break;
	}
}

/* When the current transaction commits, wake this database's scheduler. */
void
sessionize_wake_scheduler_at_commit(void)
{
	if (shared == NULL)
		return;
	if (!xact_callback_registered)
	{
		RegisterXactCallback(wake_at_commit, NULL);
		xact_callback_registered = true;
	}
	wake_pending = true;
}

/*
 * A command needs database dboid without other sessions (DROP DATABASE,
 * ...): hold it free of a scheduler for a few seconds and stop the one it
 * has, if any.  The command itself waits (up to 5 s) for the scheduler to
 * be gone.  The caller has checked that the current user owns the
 * database.
 */
void
sessionize_release_database(Oid dboid)
{
	TimestampTz now = GetCurrentTimestamp();
	pid_t		pid = 0;
	int			use = 0;
	int			i;

	if (shared == NULL || !OidIsValid(dboid))
		return;
	SpinLockAcquire(&shared->mutex);
	for (i = 0; i < HELD_DATABASES; i++)
	{
		if (shared->held[i].dboid == dboid || shared->held[i].until <= now)
		{
			use = i;
			break;
		}
		if (shared->held[i].until < shared->held[use].until)
			use = i;
	}
	shared->held[use].dboid = dboid;
	shared->held[use].until = TimestampTzPlusMilliseconds(now, HOLD_SECONDS * 1000);
	for (i = 0; i < shared->nslots; i++)
		if (shared->slots[i].dboid == dboid && shared->slots[i].pid != 0)
			pid = shared->slots[i].pid;
	SpinLockRelease(&shared->mutex);

	if (pid != 0)
	{
		elog(DEBUG1, "stopping the sessionize scheduler of database %u (pid %d)", dboid, (int) pid);
		(void) kill(pid, SIGTERM);
	}
}

/*
 * sessionize._jobs_changed() RETURNS trigger: the statement trigger on
 * sessionize.jobs.  Only the trigger manager calls it (not executable by
 * PUBLIC); it runs as the writer and only sets a flag.
 */
Datum
sessionize_jobs_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("sessionize._jobs_changed() was not called by the trigger manager")));
	sessionize_wake_scheduler_at_commit();
	return PointerGetDatum(NULL);
}
