/*-------------------------------------------------------------------------
 *
 * launcher.h
 *	  The background worker: a launcher that keeps one scheduler running
 *	  per database where sessionize is installed (scheduler.c).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/launcher.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_LAUNCHER_H
#define SESSIONIZE_LAUNCHER_H

/* Settings shared by the launcher and the schedulers. */
extern bool sessionize_enabled;
extern int	sessionize_naptime;		/* milliseconds */
extern int	sessionize_run_timeout; /* milliseconds, 0: none */
extern int	sessionize_log_level;
extern char *sessionize_databases;

extern void sessionize_launcher_register(void);

/* entry points named in the BackgroundWorker structs */
extern PGDLLEXPORT void sessionize_launcher_main(Datum main_arg);
extern PGDLLEXPORT void sessionize_scheduler_main(Datum main_arg);

#endif							/* SESSIONIZE_LAUNCHER_H */
