/*-------------------------------------------------------------------------
 *
 * measures.h
 *	  Per-session measures of a job: parsed and checked once, kept as
 *	  deparsed text (measures.c).
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/measures.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_MEASURES_H
#define SESSIONIZE_MEASURES_H

#include "nodes/pg_list.h"
#include "nodes/primnodes.h"

#include "job_catalog.h"

/* A List of JobMeasure: see measures.c. */
extern List *sessionize_parse_measures(const char *text, Oid source,
									   const char *user_column,
									   const char *time_column);

extern TargetEntry *sessionize_analyze_measure(Oid source, const char *source_name,
											   const char *definition);
extern char *sessionize_measures_problem(int64 job_id, Oid source, Oid owner,
										 List *measures, bool throw_error);

#endif							/* SESSIONIZE_MEASURES_H */
