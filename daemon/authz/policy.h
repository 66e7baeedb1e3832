/* SPDX-License-Identifier: BSD-3-Clause */
/* The authorization policy: which scopes a user's groups grant on this
 * host, built once from the [role] sections and evaluated without I/O. */
#ifndef PHIGUARD_DAEMON_POLICY_H
#define PHIGUARD_DAEMON_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Scopes are interned to ids 0..63 so a user's scopes are one word and
 * CHECK is a bit test. */
#define POLICY_MAX_SCOPES 64

struct pg_policy;

/* One group of a user, as the directory returned it. Borrowed. */
struct policy_group {
	const char *dn; /* may be NULL */
	const char *cn; /* may be NULL */
};

enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_NO_RULE,  /* no group of the user is mapped by any role */
	POLICY_TERMINAL, /* mapped, but no such role applies on this host */
};

struct policy_result {
	enum policy_verdict verdict;
	uint64_t scopes;     /* scope ids granted here */
	uint64_t breakglass; /* of those, the ones only break-glass roles
	                      * grant: each grant must be logged loudly */
	int role;            /* first granting role in file order, or -1 */
	/* Per scope id in scopes: the role index that grants it, the first
	 * non-break-glass one if any. */
	uint8_t rule[POLICY_MAX_SCOPES];
};

/*
 * Build the policy of conf's roles for host hostname (terminals patterns
 * are fnmatch()ed against it, case-insensitively, once, here). Returns 0
 * and *out, PG_ERR_CONFIG with "[role NAME]: reason" in err (more than
 * POLICY_MAX_SCOPES distinct scopes), or PG_ERR_NOMEM. conf is not kept.
 */
int policy_new(const struct pg_conf *conf, const char *hostname,
               struct pg_policy **out, char *err, size_t errlen);
void policy_free(struct pg_policy *p);

/*
 * Map groups (n of them) to scopes. Role groups containing '=' are DNs
 * and match a group's DN as DNs (dn.h: parsed, RFC 4514 escapes and
 * case folded); others match its cn case-insensitively. Never fails.
 */
void policy_eval(const struct pg_policy *p, const struct policy_group *groups,
                 size_t n, struct policy_result *res);

/*
 * policy_eval() in its two halves. policy_match(): the roles (bit i = role
 * i) that map one of the groups; the costly half (it parses DNs), so a
 * caller that sees the same groups again keeps the mask. policy_grant():
 * what those roles grant on this host, a few bit operations. Never fail.
 */
uint32_t policy_match(const struct pg_policy *p,
                      const struct policy_group *groups, size_t n);
void policy_grant(const struct pg_policy *p, uint32_t matched,
                  struct policy_result *res);

/* Number of roles and interned scopes; names by index (NULL if out of
 * range); whether a role is break-glass. */
size_t policy_nroles(const struct pg_policy *p);
size_t policy_nscopes(const struct pg_policy *p);
const char *policy_role_name(const struct pg_policy *p, size_t role);
int policy_role_breakglass(const struct pg_policy *p, size_t role);
const char *policy_scope_name(const struct pg_policy *p, size_t id);

/* The id of a scope name: 0..63, or PG_ERR_NOTFOUND. */
int policy_scope_id(const struct pg_policy *p, const char *name);

/*
 * Write the space-separated names of the scopes in mask to out (outsz
 * bytes, NUL-terminated), in id order. Returns 0 or PG_ERR_TOOLONG (out
 * then holds what fitted, cut at a name boundary).
 */
int policy_scope_list(const struct pg_policy *p, uint64_t mask, char *out,
                      size_t outsz);

#endif
