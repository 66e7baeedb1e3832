/* SPDX-License-Identifier: BSD-3-Clause */
/* The directory cache: a chained hash table of compact per-user entries,
 * and the ttl / negative_ttl / login_refresh / offline_grace rules. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authz/cache.h"
#include "err.h"

#define CACHE_MIN_BUCKETS 64

struct pg_cache {
	struct cache_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	size_t bytes;
};

/* FNV-1a: user names are short and chosen by the directory's admins,
 * not by an attacker who could aim for collisions at scale. */
static uint32_t hash_user(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= UINT64_C(1099511628211);
	}
	/* The high half mixes in every byte; the bucket takes low bits. */
	return (uint32_t)(h ^ (h >> 32));
}

static size_t entry_bytes(const struct cache_entry *e)
{
	return sizeof(*e) + strlen(e->user) + 1 +
	       (e->dn != NULL ? strlen(e->dn) + 1 : 0) + e->groups_len;
}

static void entry_free(struct cache_entry *e)
{
	if (e == NULL)
		return;
	free(e->dn);
	free(e->groups);
	free(e);
}

int cache_new(struct pg_cache **out)
{
	struct pg_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return PG_ERR_NOMEM;
	c->nbuckets = CACHE_MIN_BUCKETS;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return PG_ERR_NOMEM;
	}
	*out = c;
	return 0;
}

void cache_free(struct pg_cache *c)
{
	if (c == NULL)
		return;
	cache_flush(c, NULL);
	free(c->buckets);
	free(c);
}

static struct cache_entry **slot(const struct pg_cache *c, const char *user)
{
	uint32_t h = hash_user(user);
	struct cache_entry **p = &c->buckets[h & (c->nbuckets - 1)];

	while (*p != NULL && ((*p)->hash != h || strcmp((*p)->user, user) != 0))
		p = &(*p)->next;
	return p;
}

struct cache_entry *cache_find(const struct pg_cache *c, const char *user)
{
	return *slot(c, user);
}

/* Double the buckets at a load factor of 1; on no memory, stay as is
 * (longer chains, still correct). */
static void maybe_grow(struct pg_cache *c)
{
	struct cache_entry **nb, *e, *next;
	size_t n, i, h;

	if (c->count < c->nbuckets)
		return;
	n = c->nbuckets * 2;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->next;
			h = e->hash & (n - 1);
			e->next = nb[h];
			nb[h] = e;
		}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

/* Put e in place of whatever user had (keeping its seen_at). */
static void replace(struct pg_cache *c, struct cache_entry *e)
{
	struct cache_entry **p = slot(c, e->user), *old = *p;

	if (old != NULL) {
		e->seen_at = old->seen_at;
		e->next = old->next;
		c->bytes -= entry_bytes(old);
		c->count--;
		entry_free(old);
	}
	*p = e;
	c->count++;
	c->bytes += entry_bytes(e);
	maybe_grow(c);
}

static struct cache_entry *entry_new(const char *user, int64_t now)
{
	size_t len = strlen(user) + 1;
	struct cache_entry *e = calloc(1, sizeof(*e) + len);

	if (e == NULL)
		return NULL;
	memcpy(e->user, user, len);
	e->hash = hash_user(user);
	e->fetched_at = now;
	e->seen_at = now;
	return e;
}

/* Pack r's groups as "dn\0cn\0" pairs. */
static int pack_groups(struct cache_entry *e, const struct dir_result *r)
{
	size_t n =
	    r->ngroups > CACHE_MAX_GROUPS ? CACHE_MAX_GROUPS : r->ngroups;
	size_t len = 0, i, a, b;
	char *p;

	for (i = 0; i < n; i++)
		len += strlen(r->groups[i].dn) + 1 +
		       (r->groups[i].cn != NULL ? strlen(r->groups[i].cn) : 0) +
		       1;
	if (len > UINT32_MAX)
		return PG_ERR_TOOLONG;
	if (len > 0 && (e->groups = malloc(len)) == NULL)
		return PG_ERR_NOMEM;
	p = e->groups;
	for (i = 0; i < n; i++) {
		a = strlen(r->groups[i].dn) + 1;
		memcpy(p, r->groups[i].dn, a);
		p += a;
		b = r->groups[i].cn != NULL ? strlen(r->groups[i].cn) : 0;
		if (b > 0)
			memcpy(p, r->groups[i].cn, b);
		p[b] = '\0';
		p += b + 1;
	}
	e->ngroups = (uint16_t)n;
	e->groups_len = (uint32_t)len;
	return 0;
}

int cache_store(struct pg_cache *c, const char *user,
                const struct dir_result *r, unsigned server, int64_t now,
                struct cache_entry **out)
{
	struct cache_entry *e = entry_new(user, now);
	int rc = PG_ERR_NOMEM;

	if (e == NULL)
		goto out;
	if ((e->dn = strdup(r->user_dn)) == NULL ||
	    (rc = pack_groups(e, r)) != 0)
		goto out;
	e->server = (uint8_t)(server < UINT8_MAX ? server : UINT8_MAX);
	replace(c, e);
	if (out != NULL)
		*out = e;
	e = NULL;
	rc = 0;
out:
	entry_free(e);
	return rc;
}

int cache_store_negative(struct pg_cache *c, const char *user, int64_t now,
                         int why)
{
	struct cache_entry *e = entry_new(user, now);

	if (e == NULL)
		return PG_ERR_NOMEM;
	e->negative = (uint8_t)why;
	replace(c, e);
	return 0;
}

/* Drop every entry, or only the negative ones. */
static size_t sweep(struct pg_cache *c, int negative_only)
{
	struct cache_entry **p, *e;
	size_t i, n = 0;

	for (i = 0; i < c->nbuckets; i++) {
		p = &c->buckets[i];
		while ((e = *p) != NULL) {
			if (negative_only && !e->negative) {
				p = &e->next;
				continue;
			}
			*p = e->next;
			c->bytes -= entry_bytes(e);
			c->count--;
			entry_free(e);
			n++;
		}
	}
	return n;
}

size_t cache_flush(struct pg_cache *c, const char *user)
{
	struct cache_entry **p, *e;

	if (user == NULL)
		return sweep(c, 0);
	p = slot(c, user);
	if ((e = *p) == NULL)
		return 0;
	*p = e->next;
	c->bytes -= entry_bytes(e);
	c->count--;
	entry_free(e);
	return 1;
}

size_t cache_flush_negative(struct pg_cache *c)
{
	return sweep(c, 1);
}

size_t cache_count(const struct pg_cache *c)
{
	return c->count;
}

size_t cache_bytes(const struct pg_cache *c)
{
	return c->bytes + c->nbuckets * sizeof(*c->buckets);
}

size_t cache_groups(const struct cache_entry *e, struct policy_group *out,
                    size_t max)
{
	const char *p = e->groups;
	size_t i;

	for (i = 0; i < e->ngroups && i < max; i++) {
		out[i].dn = p;
		p += strlen(p) + 1;
		out[i].cn = *p != '\0' ? p : NULL;
		p += strlen(p) + 1;
	}
	return i;
}

void cache_each(const struct pg_cache *c,
                int (*fn)(struct cache_entry *e, void *arg), void *arg)
{
	struct cache_entry *e;
	size_t i;

	for (i = 0; i < c->nbuckets; i++)
		for (e = c->buckets[i]; e != NULL; e = e->next)
			if (fn(e, arg) != 0)
				return;
}

enum cache_use cache_judge(const struct cache_entry *e, int64_t now,
                           const struct cache_ttls *t, int online, int login)
{
	int64_t age;

	if (e == NULL)
		return CACHE_MISS;
	/* A clock stepped back makes an entry look new; treat it as just
	 * fetched rather than trust a negative age. */
	age = now > e->fetched_at ? now - e->fetched_at : 0;
	if (e->negative)
		return age < t->negative_ttl ? CACHE_SERVE : CACHE_MISS;
	if (!online)
		return age < t->offline_grace ? CACHE_STALE : CACHE_EXPIRED;
	if (age >= t->ttl || (login && age >= t->login_refresh))
		return CACHE_REFRESH;
	return CACHE_SERVE;
}
