/* SPDX-License-Identifier: BSD-3-Clause */
/* The answers to AUTHZ, CHECK and EXPLAIN (authz_answer.c): from a cache
 * entry, the policy and the query to a struct pg_msg. Pure logic: the
 * cache and the directory are reached through struct authz_dirops, which
 * authz.c fills with the real ones and tests with fakes. */
#ifndef PHIGUARD_DAEMON_AUTHZ_ANSWER_H
#define PHIGUARD_DAEMON_AUTHZ_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "authz/authz.h"
#include "authz/cache.h"
#include "authz/dir_config.h"
#include "proto.h"

struct pg_policy;

/* What answers are built from: owned by authz.c, read here. */
struct authz_view {
	struct pg_policy *policy;
	uint32_t gen; /* policy generation, for the cache entries' memo */
	struct cache_ttls ttls;
	int online; /* the directory answers */
	char uris[DIR_MAX_URIS][DIR_URI_MAX];
	size_t nuris;
};

/* The directory operations an answer may need (the seam). */
struct authz_dirops {
	/* What the cache holds for user, or NULL; counts a hit or miss. */
	struct cache_entry *(*find)(void *arg, const char *user);
	/*
	 * Look q->user up for q's client, which waits for it (store: put
	 * the result in the cache; wait_ms > 0: answer from the cache if
	 * the lookup takes longer). Returns AUTHZ_PARKED, 0 if no lookup
	 * could be queued, or PG_ERR_NOMEM (the client cannot wait).
	 */
	int (*wait)(void *arg, const struct authz_query *q, int store,
	            int wait_ms);
	/* Refresh user's entry in the background, if there is room. */
	void (*refresh)(void *arg, const char *user);
	void *arg;
};

/*
 * Answer q from the cache into *resp (0), or have its client wait for
 * the directory (AUTHZ_PARKED), by what cache_judge() says of its entry.
 * Errors: PG_ERR_NOMEM, PG_ERR_TOOLONG.
 */
int authz_answer_query(const struct authz_view *a,
                       const struct authz_dirops *ops,
                       const struct authz_query *q, struct pg_msg *resp);

/*
 * The answer to q for a client that waited for a lookup (lookup_rc: its
 * pg_err, 0 if found), from e (what the cache holds for the user now, or
 * NULL): source fresh, or the cache's entry by the rules when the lookup
 * failed. 0 or PG_ERR_TOOLONG.
 */
int authz_answer_after_lookup(const struct authz_view *a,
                              const struct authz_query *q, int lookup_rc,
                              struct cache_entry *e, struct pg_msg *resp);

/*
 * The answer of kind (user, scope for CHECK) from entry e (NULL: none,
 * then EXPLAIN says found=no and the others deny directory-unreachable)
 * as source. The policy's verdict on e is memoized in e. 0 or
 * PG_ERR_TOOLONG.
 */
int authz_answer_entry(const struct authz_view *a, enum authz_kind kind,
                       const char *user, const char *scope,
                       struct cache_entry *e, const char *source, int64_t now,
                       struct pg_msg *resp);

/* allowed=no reason= source=. 0 or PG_ERR_TOOLONG. */
int authz_answer_deny(struct pg_msg *resp, const char *reason,
                      const char *source);

#endif
