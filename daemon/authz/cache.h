/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardd's in-memory directory cache: per user the flattened group set
 * and when and where it was fetched, and the rules for when to use it. */
#ifndef PHIGUARD_DAEMON_CACHE_H
#define PHIGUARD_DAEMON_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "authz/directory.h"
#include "authz/policy.h"

/* Groups kept per user; a lookup with more is stored cut to these (it
 * cannot be: DIR_MAX_GROUPS is the same bound). */
#define CACHE_MAX_GROUPS DIR_MAX_GROUPS

/*
 * One user. Scopes are not stored: they come from the current policy at
 * answer time, so a reload applies at once. Kept small (the target is
 * 1 KiB per cached user, all included): groups are one packed block of
 * "dn\0cn\0" pairs, cn "" when the directory gave none.
 */
struct cache_entry {
	struct cache_entry *next; /* hash chain */
	int64_t fetched_at;       /* when the directory answered */
	int64_t seen_at;          /* when a client last asked */
	char *dn;                 /* NULL in a negative entry */
	char *groups;
	/* What the policy of generation memo_gen made of the groups, so
	 * that CHECK is a bit test (authz_answer.c); memo_gen 0 = nothing
	 * yet. */
	uint64_t memo_scopes, memo_breakglass;
	uint32_t memo_roles; /* policy_match() of the groups */
	uint32_t memo_gen;
	uint32_t groups_len; /* bytes of groups */
	/* The user's hash (cache.c), so that a lookup compares names only
	 * when it matches and a resize does not hash again. */
	uint32_t hash;
	uint16_t ngroups;
	uint8_t negative;     /* enum cache_negative, or 0 */
	uint8_t server;       /* index of the URI that answered */
	uint8_t memo_verdict; /* enum policy_verdict */
	char user[];
};

/* The [cache] settings, in seconds. */
struct cache_ttls {
	int64_t ttl, negative_ttl, login_refresh, offline_grace;
};

/* What to do with what the cache holds for a user (cache_judge). */
enum cache_use {
	CACHE_MISS,    /* nothing usable: look the user up, or, offline,
	                * deny directory-unreachable */
	CACHE_SERVE,   /* answer from it, source=cache */
	CACHE_REFRESH, /* answer from it, but refresh it: synchronously
	                * at login if the deadline allows, else in the
	                * background */
	CACHE_STALE,   /* offline: answer from it, source=stale */
	CACHE_EXPIRED, /* offline for longer than offline_grace: deny
	                * directory-unreachable */
};

struct pg_cache;

/* Create an empty cache. 0 and *out, or PG_ERR_NOMEM. */
int cache_new(struct pg_cache **out);
/* Free every entry and the cache. Accepts NULL. */
void cache_free(struct pg_cache *c);

/* The entry of user, or NULL. Valid until the next store/flush. */
struct cache_entry *cache_find(const struct pg_cache *c, const char *user);

/*
 * Store a lookup result for user fetched at time now from the URI with
 * index server, replacing any entry (its seen_at is kept). Returns 0 and
 * sets *out (may be NULL), or PG_ERR_NOMEM (the old entry is kept).
 */
int cache_store(struct pg_cache *c, const char *user,
                const struct dir_result *r, unsigned server, int64_t now,
                struct cache_entry **out);

/* Why an entry is negative (cache_entry.negative; 0: it is not). */
enum cache_negative {
	CACHE_NEG_UNKNOWN = 1,   /* no entry has exactly this name */
	CACHE_NEG_AMBIGUOUS = 2, /* several entries have it */
};

/* Record that the directory has no usable entry for user (why: enum
 * cache_negative), at time now. 0 or PG_ERR_NOMEM. */
int cache_store_negative(struct pg_cache *c, const char *user, int64_t now,
                         int why);

/* Drop user's entry (user NULL: every entry). Returns how many went. */
size_t cache_flush(struct pg_cache *c, const char *user);

/* Drop the negative entries: an outage has ended and what they recorded
 * may have been wrong. Returns how many went. */
size_t cache_flush_negative(struct pg_cache *c);

/* Entries held. */
size_t cache_count(const struct pg_cache *c);

/* Bytes the entries hold, headers included (for STATUS and the
 * benchmark). */
size_t cache_bytes(const struct pg_cache *c);

/*
 * Point out[i] at entry e's groups (up to max); returns the number of
 * groups. The strings live in e.
 */
size_t cache_groups(const struct cache_entry *e, struct policy_group *out,
                    size_t max);

/*
 * Call fn on each entry (in no particular order) until it returns
 * nonzero. The callback must not store or flush.
 */
void cache_each(const struct pg_cache *c,
                int (*fn)(struct cache_entry *e, void *arg), void *arg);

/*
 * The cache rules for entry e (NULL: no entry) at time now. online: the
 * directory answered the last time it was asked. login: the question is
 * an AUTHZ (login_refresh applies). Negative entries count for
 * negative_ttl, online or not; positive ones for ttl (login_refresh at
 * login) while online, and for offline_grace from their fetch while
 * offline.
 */
enum cache_use cache_judge(const struct cache_entry *e, int64_t now,
                           const struct cache_ttls *t, int online, int login);

#endif
