/*-------------------------------------------------------------------------
 *
 * session_srf.h
 *	  The set-returning function sessionize(), seen from other modules.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/session_srf.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_SESSION_SRF_H
#define SESSIONIZE_SESSION_SRF_H

/*
 * While set (job_id > 0), sessionize() reports its progress with a NOTICE
 * every "every" rows it reads, naming the job: run_job() sets it around a
 * full build.  The caller must reset it, also on error.
 */
extern void sessionize_report_progress(int64 job_id, int64 every);

#endif							/* SESSIONIZE_SESSION_SRF_H */
