/*-------------------------------------------------------------------------
 *
 * worker_shmem.h
 *	  What the background worker's processes and ordinary backends share.
 *
 * Exists only when the library is in shared_preload_libraries; every
 * function here is then safe to call from any backend, and a no-op (or
 * "nothing there") otherwise.  It holds:
 *	- the launcher's latch, and the databases whose scheduler a backend
 *	  asked for (a job was created there: the launcher starts one);
 *	- one slot per running scheduler: its database, pid and latch, and
 *	  whether jobs changed since it last read them;
 *	- databases held free of a scheduler for a moment, because a command
 *	  needs them without other sessions (DROP DATABASE, ...).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/worker_shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_WORKER_SHMEM_H
#define SESSIONIZE_WORKER_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/latch.h"

/* sessionize.max_schedulers: the slots, and so the concurrent runs */
extern int	sessionize_max_schedulers;

extern void sessionize_shmem_request(void);
extern void sessionize_shmem_startup(void);
extern bool sessionize_shmem_available(void);

/* the launcher */
extern void sessionize_launcher_attach(void);
extern int	sessionize_take_wake_requests(Oid *dbs, int max, bool *all);
extern int	sessionize_slot_claim(Oid dboid);
extern void sessionize_slot_release(int slot, bool *no_extension);
extern pid_t sessionize_slot_pid(int slot);
extern bool sessionize_database_held(Oid dboid, TimestampTz now, TimestampTz *until);

/* a scheduler */
extern void sessionize_slot_attach(int slot, Oid dboid);
extern void sessionize_slot_set_no_extension(int slot);
extern bool sessionize_slot_take_jobs_changed(int slot);

/* any backend */
extern void sessionize_wake_scheduler_at_commit(void);
extern void sessionize_release_database(Oid dboid);

#endif							/* SESSIONIZE_WORKER_SHMEM_H */
