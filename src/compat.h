/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place for differences between the PostgreSQL versions that
 *	  sessionize builds against (15 and later).
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

/* a database left half-dropped (15.4 and later mark it so) */
#ifdef DATCONNLIMIT_INVALID_DB
#define sessionize_database_is_invalid(form) database_is_invalid_form(form)
#else
#define sessionize_database_is_invalid(form) ((form)->datconnlimit == -2)
#endif

/* ownership checks became object_ownercheck() in 16 */
#if PG_VERSION_NUM >= 160000
#define sessionize_database_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#define sessionize_database_ownercheck(dboid, roleid) \
	pg_database_ownercheck((dboid), (roleid))
#endif

#endif							/* SESSIONIZE_COMPAT_H */
