/* SPDX-License-Identifier: BSD-3-Clause */
/* Which membership attributes a directory's groups use (found from its
 * data: which group classes have entries), and which of them a
 * configured [ldap] membership mode searches. A term for an attribute
 * no group uses is never searched: unindexed, it costs a scan of every
 * entry under the base. */
#ifndef PHIGUARD_DAEMON_MEMBERSHIP_H
#define PHIGUARD_DAEMON_MEMBERSHIP_H

#include <stddef.h>

#include "conf.h"

/* Bits of a set of membership attributes. */
enum membership_attr {
	MEMBERSHIP_MEMBER = 1u << 0,       /* groupOfNames (and AD's group) */
	MEMBERSHIP_UNIQUEMEMBER = 1u << 1, /* groupOfUniqueNames */
	MEMBERSHIP_MEMBERUID = 1u << 2,    /* posixGroup (RFC 2307) */
};
#define MEMBERSHIP_NKINDS 3
/* The attributes whose values are group or user DNs: nesting uses them. */
#define MEMBERSHIP_BY_DN (MEMBERSHIP_MEMBER | MEMBERSHIP_UNIQUEMEMBER)

/* One attribute and how its use is discovered: a group entry matching
 * filter (an objectClass equality, indexed everywhere) exists. */
struct membership_kind {
	unsigned bit;
	const char *attr;
	const char *filter;
};

/* The i-th kind (i < MEMBERSHIP_NKINDS). */
const struct membership_kind *membership_kind(size_t i);

/* Attributes searched for a user's direct groups under mode, given what
 * discovery found: auto all found; member the DN-valued ones found;
 * memberuid memberUid (configured, so searched whether found or not);
 * memberof none. */
unsigned membership_direct(enum conf_membership mode, unsigned found);

/* Attributes searched for the parents of a level of groups: the DN-valued
 * ones found, under every mode but memberof (none). */
unsigned membership_nested(enum conf_membership mode, unsigned found);

/* Whether mode needs discovery at all (memberof searches no group). */
int membership_needs_discovery(enum conf_membership mode);

/* The attribute names of set joined with ",", or "none", into buf
 * (always terminated, cut to len). */
void membership_describe(unsigned set, char *buf, size_t len);

#endif
