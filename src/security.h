/*-------------------------------------------------------------------------
 *
 * security.h
 *	  Running SQL as another role, with a pinned search_path.
 *
 * Job functions check their caller, then run catalog work as the extension
 * owner and source/target work as the job owner.  A switch lasts until the
 * matching restore, or until the (sub)transaction aborts, which restores
 * the user and the settings by itself.
 *
 * Copyright (c) 2026, the sessionize developers
 *
 * src/security.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_SECURITY_H
#define SESSIONIZE_SECURITY_H

typedef struct SessionizeIdentity
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			guc_nestlevel;
} SessionizeIdentity;

extern Oid	sessionize_extension_owner(void);
extern void sessionize_become(Oid role, bool restricted, SessionizeIdentity *saved);
extern void sessionize_restore(const SessionizeIdentity *saved);

#endif							/* SESSIONIZE_SECURITY_H */
