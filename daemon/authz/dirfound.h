/* SPDX-License-Identifier: BSD-3-Clause */
/* The groups a directory lookup has found so far, with the visited set
 * that ends a cycle: shared by the blocking lookup (directory.c) and the
 * event loop's (dirasync.c), which build the same result the same way. */
#ifndef PHIGUARD_DAEMON_DIRFOUND_H
#define PHIGUARD_DAEMON_DIRFOUND_H

#include <stddef.h>

#include <lber.h>
#include <ldap.h>

#include "authz/directory.h"

/* The result being built; r is NULL outside dirfound_init() ..
 * dirfound_clear() or once taken (the caller sets r to NULL). */
struct dirfound {
	struct dir_result *r;
	char **keys;  /* normalised DN of r->groups[i] */
	size_t nkeys; /* == r->ngroups while r is set */
	size_t cap;
};

/* An empty result. 0 or PG_ERR_NOMEM (f then as dirfound_clear() leaves
 * it). */
int dirfound_init(struct dirfound *f);

/* Free the visited set, and the result unless it was taken (r NULL).
 * Leaves f empty; a zeroed f may be cleared. */
void dirfound_clear(struct dirfound *f);

/* Add group dn at depth unless a group with the same DN (compared as a
 * DN) is there: its cn is the DN's cn= RDN value, else cn_attr (may be
 * NULL). 0, PG_ERR_TOOLONG (over DIR_MAX_GROUPS, logged), PG_ERR_NOMEM. */
int dirfound_add(struct dirfound *f, const char *dn, const char *cn_attr,
                 unsigned depth);

/* dirfound_add() of each memberOf value in mo (may be NULL) at depth. */
int dirfound_add_memberof(struct dirfound *f, struct berval **mo,
                          unsigned depth);

/* dirfound_add() of group entry e (its DN and first cn value) at depth. */
int dirfound_add_entry(struct dirfound *f, LDAP *ld, LDAPMessage *e,
                       unsigned depth);

#endif
