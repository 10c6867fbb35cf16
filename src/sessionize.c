/*-------------------------------------------------------------------------
 *
 * sessionize.c
 *	  Library entry point: module magic and _PG_init.
 *
 * The SQL functions work in any backend, whether or not the library is in
 * shared_preload_libraries; _PG_init must therefore never fail when it is
 * loaded late.  Settings that only make sense at server start (and the
 * background worker, once there is one) are set up only when the library
 * is preloaded.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/sessionize.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
#if PG_VERSION_NUM >= 150000
	/* settings named sessionize.* belong to us, even before we define them */
	MarkGUCPrefixReserved("sessionize");
#else
	EmitWarningsOnPlaceholders("sessionize");
#endif
}
