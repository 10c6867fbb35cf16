/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place for the differences between the PostgreSQL versions
 *	  sessionize builds against (15 to 18).
 *
 * Code elsewhere uses the names defined here and never tests
 * PG_VERSION_NUM itself.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_COMPAT_H
#define SESSIONIZE_COMPAT_H

#include "catalog/pg_database.h"
#include "utils/acl.h"

/*
 * The varlena macros (VARDATA_ANY and the like): in varatt.h since
 * PostgreSQL 16, which postgres.h no longer includes.
 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * A function that does not return: PostgreSQL 18 replaced the attribute
 * after the declaration, pg_attribute_noreturn(), by pg_noreturn before it.
 * Write: SESSIONIZE_NORETURN extern void f(void) SESSIONIZE_NORETURN_AFTER;
 */
#if PG_VERSION_NUM >= 180000
#define SESSIONIZE_NORETURN pg_noreturn
#define SESSIONIZE_NORETURN_AFTER
#else
#define SESSIONIZE_NORETURN
#define SESSIONIZE_NORETURN_AFTER pg_attribute_noreturn()
#endif

/*
 * A database left half-dropped: 15.4 and later mark it so, with
 * database_is_invalid_form().
 */
#ifdef DATCONNLIMIT_INVALID_DB
#define sessionize_database_is_invalid(form) database_is_invalid_form(form)
#else
#define sessionize_database_is_invalid(form) ((form)->datconnlimit == -2)
#endif

/* Does a role own a database?  object_ownercheck() since 16. */
#if PG_VERSION_NUM >= 160000
#define sessionize_database_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#define sessionize_database_ownercheck(dboid, roleid) \
	pg_database_ownercheck((dboid), (roleid))
#endif

/*
 * index_beginscan(): PostgreSQL 18 added the instrumentation argument
 * (NULL: none) after the snapshot.
 */
#if PG_VERSION_NUM >= 180000
#define sessionize_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define sessionize_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * A set-returning function that materializes its result: PostgreSQL 16
 * renamed SetSingleFuncCall() to InitMaterializedSRF().
 */
#if PG_VERSION_NUM >= 160000
#define sessionize_init_materialized_srf(fcinfo, flags) InitMaterializedSRF((fcinfo), (flags))
#else
#define sessionize_init_materialized_srf(fcinfo, flags) SetSingleFuncCall((fcinfo), (flags))
#endif

#endif							/* SESSIONIZE_COMPAT_H */
