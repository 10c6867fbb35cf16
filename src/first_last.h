/*-------------------------------------------------------------------------
 *
 * first_last.h
 *	  The order of first() and last() (first_last.c), for other modules
 *	  that must pick the same row.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/first_last.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_FIRST_LAST_H
#define SESSIONIZE_FIRST_LAST_H

#include "fmgr.h"

extern int	sessionize_first_last_compare(FmgrInfo *cmp, Oid collation,
										  int16 typlen, bool typbyval,
										  int64 at1, Datum value1, bool isnull1,
										  int64 at2, Datum value2, bool isnull2);

#endif							/* SESSIONIZE_FIRST_LAST_H */
