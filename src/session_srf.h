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
#include "utils/relcache.h"

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

/*
 * An index of heap that a direct scan can probe by its first two key
 * columns: a valid, ready btree without a predicate (no row missing) whose
 * first two keys are the columns att1 and att2 (more keys, expressions
 * among them, may follow), compared by the operator families of the
 * default btree operator classes of type1 (under collation1) and type2,
 * with type2 as its input type; with ascending2, the second key in
 * ascending order.  The index is returned open (AccessShareLock), or NULL.
 */
extern Relation sessionize_open_btree_index(Relation heap, AttrNumber att1, Oid type1,
											Oid collation1, AttrNumber att2, Oid type2,
											bool ascending2);

#endif							/* SESSIONIZE_SESSION_SRF_H */
