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

#include "nodes/pg_list.h"

/*
 * While set (job_id > 0), sessionize() reports its progress with a NOTICE
 * every "every" rows it reads, naming the job: run_job() sets it around a
 * full build.  The caller must reset it, also on error.
 */
extern void sessionize_report_progress(int64 job_id, int64 every);

/*
 * The plain tables to read with direct scans to read all of relid (itself,
 * or the leaves of its partitions or children), or NIL when it must be read
 * through SPI instead: row-level security applies to the current user, or
 * a member is a view, a foreign table or a Citus table.
 */
extern List *sessionize_direct_scan_members(Oid relid);

#endif							/* SESSIONIZE_SESSION_SRF_H */
