/* SPDX-License-Identifier: BSD-3-Clause */
/* The searches a directory lookup makes, each as base, scope, filter,
 * attributes and size limit: shared by the blocking lookup (directory.c)
 * and the event loop's (dirasync.c), so both ask the same questions.
 * Every value placed in a filter is escaped per RFC 4515. */
#ifndef PHIGUARD_DAEMON_DIRQUERY_H
#define PHIGUARD_DAEMON_DIRQUERY_H

#include <stddef.h>

#include "authz/dir_config.h"

/* Groups per nesting search: keeps a filter (and the server's work on it)
 * small when a level is unusually wide. */
#define DIRQUERY_CHUNK 64

/* One equality attr=value of a filter. */
struct dir_term {
	const char *attr;
	const char *value;
};

/* One search. The struct holds the attribute names its attrs point to:
 * it must not be copied once built. */
struct dirquery {
	const char *base; /* the caller's, or the configuration's */
	int scope;
	const char *filter;
	int sizelimit;
	char *attrs[3];
	char names[2][DIR_ATTR_MAX];
	char *owned; /* the filter when built here; dirquery_free() */
};

/* "(attr=value)", or "(|(a=v)(b=w)...)" for several terms, in *out
 * (free()). 0, PG_ERR_NOMEM, or as ldapescape_filter_value() (a value that
 * cannot be escaped). */
int dirquery_filter(const struct dir_term *t, size_t n, char **out);

/* Terms attr=value for each attribute of set (enum membership_attr,
 * authz/membership.h) into t (room for MEMBERSHIP_NKINDS): the DN dn
 * for member and uniqueMember, the login name user for memberUid.
 * Returns how many. */
size_t dirquery_terms(unsigned set, const char *dn, const char *user,
                      struct dir_term *t);

/* Where groups are searched: group_base, else base_dn. */
const char *dirquery_group_base(const struct dir_config *cfg);

/* Whether cfg's membership mode reads memberOf values (auto, memberof). */
int dirquery_uses_memberof(const struct dir_config *cfg);

/* The user entry search: user_attr=user under user_base (else base_dn),
 * returning user_attr (and memberOf when used), at most
 * DIR_USER_MATCH_MAX entries. 0 or as dirquery_filter(). */
int dirquery_user(struct dirquery *q, const struct dir_config *cfg,
                  const char *user);

/* A group search for the n terms t under the group base, returning cn,
 * at most DIR_MAX_GROUPS + 1 entries. 0 or as dirquery_filter(). */
int dirquery_groups(struct dirquery *q, const struct dir_config *cfg,
                    const struct dir_term *t, size_t n);

/* A read of entry dn's values of attr (a base search, one entry). */
void dirquery_read(struct dirquery *q, const char *dn, const char *attr);

/* Whether an entry matching filter exists under base: at most one entry,
 * no attributes. base and filter are the caller's. */
void dirquery_exists(struct dirquery *q, const char *base, const char *filter);

/* Free what q owns and leave it empty. Accepts a zeroed q. */
void dirquery_free(struct dirquery *q);

#endif
