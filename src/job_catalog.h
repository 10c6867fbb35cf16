/*-------------------------------------------------------------------------
 *
 * job_catalog.h
 *	  Names of the per-job objects that the job catalog implies.
 *
 * A job's change log is sessionize.job_<id>_log, a name made from the job
 * id alone, so that nothing a caller supplies can point capture or a run
 * at another relation.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_catalog.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_JOB_CATALOG_H
#define SESSIONIZE_JOB_CATALOG_H

/* The unqualified name of a job's change log (in schema sessionize). */
extern char *sessionize_job_log_name(int64 job_id);

#endif							/* SESSIONIZE_JOB_CATALOG_H */
