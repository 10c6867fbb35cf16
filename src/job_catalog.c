/*-------------------------------------------------------------------------
 *
 * job_catalog.c
 *	  Names of the per-job objects that the job catalog implies.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/job_catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "job_catalog.h"

/* Keep in step with sessionize._job_object(job_id, 'log') in the install script. */
char *
sessionize_job_log_name(int64 job_id)
{
	return psprintf("job_" INT64_FORMAT "_log", job_id);
}
