/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardd's LDAP directory client: a user's flattened group set, found
 * upward from the user, over failover servers with bounded waits. */
#include "config.h"

#include "authz/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#include <lber.h>
#include <ldap.h>

#include "authz/dn.h"
#include "authz/membership.h"
#include "err.h"
#include "ldapescape.h"
#include "log.h"
#include "strbuf.h"
#include "authz/ldapconn.h"
#include "timeutil.h"
#include "username.h"

/* Groups per nesting search: keeps a filter (and the server's work on it)
 * small when a level is unusually wide. */
#define FILTER_CHUNK 64
/* While discovery finds no group class at all, it is tried again after
 * this long, so groups added to a new directory are picked up without a
 * reconnect. */
#define DISCOVER_RETRY_MS 60000

struct server {
	struct ldapconn conn; /* its URI and connection callbacks */
	LDAP *ld;          /* bound connection kept between lookups, or NULL */
	unsigned failures; /* consecutive */
	int64_t retry_at;  /* time_mono_ms() before which it is skipped */
	int last_err;
	/* What discovery found on the current connection (a set of enum
	 * membership_attr); valid while discovered_at != 0. */
	unsigned membership;
	int64_t discovered_at;
	unsigned logged; /* membership + 1 as last logged; 0: never */
};

struct dir {
	struct dir_config cfg;
	struct server srv[DIR_MAX_URIS];
	size_t nsrv;
	size_t active;
	uint64_t rng;
	uint64_t lookups, searches, discovery_searches;
};

/* One server's turn at a request: its time budget and what it costs. */
struct attempt {
	struct ldapconn_call call; /* settings, budget, last libldap code */
	const struct dir *d;
	struct server *s;
	unsigned searches;
	unsigned discovery_searches; /* of those, finding membership */
};

/* The result being built, with the visited set beside it. */
struct found {
	struct dir_result *r;
	char **keys;  /* normalised DN of r->groups[i] */
	size_t nkeys; /* == r->ngroups while r is set */
	size_t cap;
};

/* ------------------------------------------------------------ health */

/* xorshift64*: jitter only needs to spread retries, not be unpredictable. */
static uint64_t rng_next(struct dir *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 0x2545F4914F6CDD1DULL;
}

static void srv_close(struct server *s)
{
	if (s->ld != NULL)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	s->ld = NULL;
	/* The next connection discovers again: a failover or a reload of
	 * the server may bring other data. */
	s->discovered_at = 0;
}

static void mark_ok(struct server *s)
{
	if (s->failures > 0)
		log_info("directory: %s is answering again", s->conn.uri);
	s->failures = 0;
	s->retry_at = 0;
	s->last_err = 0;
}

/* Exponential backoff with jitter down to half the delay, so terminals
 * that lost the same server do not all come back at the same moment. */
static void mark_failed(struct dir *d, struct server *s, int err)
{
	int64_t delay;

	srv_close(s);
	s->failures++;
	delay = ldapconn_backoff_ms(&d->cfg, s->failures);
	delay = delay / 2 + (int64_t)(rng_next(d) % (uint64_t)(delay / 2 + 1));
	s->retry_at = time_mono_ms() + delay;
	s->last_err = err;
	log_warnx("directory: %s failed (%s), %u in a row; next try in %lld "
	          "ms",
	          s->conn.uri, pg_err_name(err), s->failures, (long long)delay);
}

static int in_backoff(const struct server *s, int64_t now)
{
	return s->retry_at != 0 && now < s->retry_at;
}

/* ------------------------------------------------------------ libldap */

/* One bounded search. On success *res is set (possibly with no entries:
 * a missing base counts as empty); on error *res is NULL. A search for
 * one entry (sizelimit 1) asks whether any exists: finding more is no
 * error. */
static int do_search(struct attempt *a, LDAP *ld, const char *base, int scope,
                     const char *filter, char **attrs, int sizelimit,
                     LDAPMessage **res)
{
	a->searches++;
	return ldapconn_search(&a->call, ld, base, scope, filter, attrs,
	                       sizelimit, res);
}

/* A turn at server s of d, its budget starting now. */
static void attempt_init(struct attempt *a, const struct dir *d,
                         struct server *s)
{
	memset(a, 0, sizeof(*a));
	a->d = d;
	a->s = s;
	a->call.cfg = &d->cfg;
	a->call.conn = &s->conn;
	a->call.deadline = time_mono_ms() + d->cfg.network_timeout_ms +
	                   d->cfg.search_timeout_ms;
}

static int connect_attempt(struct attempt *a, LDAP **out)
{
	return ldapconn_connect(&a->call, out);
}

static int open_attempt(struct attempt *a, LDAP **out)
{
	return ldapconn_open(&a->call, out);
}

/* ------------------------------------------------------------ results */

void dir_result_free(struct dir_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->ngroups; i++) {
		free(r->groups[i].dn);
		free(r->groups[i].cn);
	}
	free(r->groups);
	free(r->user_dn);
	free(r);
}

/* Free the visited set, and the result unless it was taken (r NULL). */
static void found_clear(struct found *f)
{
	size_t i;

	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i]);
	free(f->keys);
	dir_result_free(f->r);
	f->r = NULL;
	f->keys = NULL;
	f->nkeys = 0;
	f->cap = 0;
}

static int found_init(struct found *f)
{
	f->keys = NULL;
	f->nkeys = 0;
	f->cap = 0;
	f->r = calloc(1, sizeof *f->r);
	return f->r == NULL ? PG_ERR_NOMEM : 0;
}

/* The value of the DN's first RDN if that is a single cn=value, else NULL
 * (also on allocation failure: the cn attribute is the fallback). */
static char *rdn_cn(const char *dn)
{
	LDAPDN ldn = NULL;
	LDAPAVA *ava;
	char *cn = NULL;

	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL)
		goto out;
	ava = ldn[0][0];
	if (ava == NULL || ldn[0][1] != NULL ||
	    !(ava->la_flags & LDAP_AVA_STRING))
		goto out;
	if (ava->la_attr.bv_len != 2 ||
	    strncasecmp(ava->la_attr.bv_val, "cn", 2) != 0)
		goto out;
	cn = strndup(ava->la_value.bv_val, ava->la_value.bv_len);
out:
	if (ldn != NULL)
		ldap_dnfree(ldn);
	return cn;
}

/* Add a group unless already visited. The scan is linear: a user's groups
 * are few, and DIR_MAX_GROUPS bounds the worst case. */
static int found_add(struct found *f, const char *dn, const char *cn_attr,
                     unsigned depth)
{
	struct dir_result *r = f->r;
	struct dir_group *g;
	char *key;
	size_t i;
	int rc;

	/* A server's DN always parses; text is the fallback regardless. */
	if ((rc = dn_key(dn, &key)) == PG_ERR_INVAL)
		key = strdup(dn);
	else if (rc != 0)
		return rc;
	if (key == NULL)
		return PG_ERR_NOMEM;
	for (i = 0; i < r->ngroups; i++) {
		if (strcmp(f->keys[i], key) == 0) {
			free(key);
			return 0;
		}
	}
	if (r->ngroups == DIR_MAX_GROUPS) {
		free(key);
		log_warnx("directory: more than %d groups; refusing a partial "
		          "set",
		          DIR_MAX_GROUPS);
		return PG_ERR_TOOLONG;
	}
	if (r->ngroups == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;
		struct dir_group *ng;
		char **nk;

		ng = reallocarray(r->groups, ncap, sizeof *ng);
		if (ng == NULL)
			goto nomem;
		r->groups = ng;
		nk = reallocarray(f->keys, ncap, sizeof *nk);
		if (nk == NULL)
			goto nomem;
		f->keys = nk;
		f->cap = ncap;
	}
	g = &r->groups[r->ngroups];
	g->depth = depth;
	g->dn = strdup(dn);
	g->cn = rdn_cn(dn);
	if (g->cn == NULL && cn_attr != NULL)
		g->cn = strdup(cn_attr);
	if (g->dn == NULL || (g->cn == NULL && cn_attr != NULL)) {
		free(g->dn);
		free(g->cn);
		goto nomem;
	}
	f->keys[f->nkeys++] = key;
	r->ngroups++;
	return 0;
nomem:
	free(key);
	return PG_ERR_NOMEM;
}

/* ------------------------------------------------------------ filters */

struct term {
	const char *attr;
	const char *value;
};

/* "(attr=value)", or "(|(a=v)(b=w)...)" for several terms; every value
 * escaped per RFC 4515. attr names come from code or a checked config. */
static int filter_build(const struct term *t, size_t n, char **out)
{
	size_t i, size = 4, esc_size = 1, need;
	struct strbuf sb;
	char *f = NULL, *esc = NULL;
	int rc = PG_ERR_NOMEM;

	for (i = 0; i < n; i++) {
		need = LDAPESCAPE_SIZE(strlen(t[i].value));
		size += strlen(t[i].attr) + 3 + need;
		if (need > esc_size)
			esc_size = need;
	}
	if ((f = malloc(size)) == NULL || (esc = malloc(esc_size)) == NULL)
		goto out;
	strbuf_init(&sb, f, size);
	if (n > 1)
		strbuf_puts(&sb, "(|");
	for (i = 0; i < n; i++) {
		rc = ldapescape_filter_value(t[i].value, strlen(t[i].value),
		                             esc, esc_size);
		if (rc != 0)
			goto out;
		strbuf_putc(&sb, '(');
		strbuf_puts(&sb, t[i].attr);
		strbuf_putc(&sb, '=');
		strbuf_puts(&sb, esc);
		strbuf_putc(&sb, ')');
	}
	if (n > 1)
		strbuf_putc(&sb, ')');
	/* Cannot fail: size counts every piece. */
	if ((rc = strbuf_finish(&sb)) != 0)
		goto out;
	*out = f;
	f = NULL;
out:
	free(esc);
	free(f);
	return rc;
}

/* Run one group search and add what it finds at depth. */
static int group_search(struct attempt *a, LDAP *ld, struct found *f,
                        const struct term *t, size_t n, unsigned depth)
{
	const struct dir_config *cfg = &a->d->cfg;
	const char *base = cfg->group_base[0] ? cfg->group_base : cfg->base_dn;
	char cn_name[] = "cn", *attrs[] = {cn_name, NULL};
	LDAPMessage *res = NULL, *e;
	struct berval **cn;
	char *filter = NULL, *dn, *cnv;
	int rc;

	if ((rc = filter_build(t, n, &filter)) != 0 ||
	    (rc = do_search(a, ld, base, LDAP_SCOPE_SUBTREE, filter, attrs,
	                    DIR_MAX_GROUPS + 1, &res)) != 0)
		goto out;
	for (e = ldap_first_entry(ld, res); e != NULL;
	     e = ldap_next_entry(ld, e)) {
		if ((dn = ldap_get_dn(ld, e)) == NULL) {
			rc = PG_ERR_NOMEM;
			goto out;
		}
		cn = ldap_get_values_len(ld, e, "cn");
		cnv = NULL;
		if (cn != NULL && cn[0] != NULL)
			cnv = strndup(cn[0]->bv_val, cn[0]->bv_len);
		rc = found_add(f, dn, cnv, depth);
		free(cnv);
		ldap_value_free_len(cn);
		ldap_memfree(dn);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	if (res != NULL)
		ldap_msgfree(res);
	free(filter);
	return rc;
}

/* Terms attr=value for each attribute of set (enum membership_attr)
 * into t (room for MEMBERSHIP_NKINDS); returns how many. */
static size_t membership_terms(unsigned set, const char *dn, const char *user,
                               struct term *t)
{
	const struct membership_kind *k;
	size_t i, n = 0;

	for (i = 0; (k = membership_kind(i)) != NULL; i++) {
		if (!(set & k->bit))
			continue;
		t[n].attr = k->attr;
		/* memberUid holds the login name, the others the entry's
		 * DN. memberUid is caseExactIA5Match (RFC 2307): exact, as
		 * the name itself was matched. */
		t[n++].value = k->bit == MEMBERSHIP_MEMBERUID ? user : dn;
	}
	return n;
}

/* Groups of the level [from, to) as terms of the DN-valued attributes in
 * set, in chunks; what the searches find becomes the next level. */
static int parents_by_member(struct attempt *a, LDAP *ld, struct found *f,
                             unsigned set, size_t from, size_t to,
                             unsigned depth)
{
	struct term t[MEMBERSHIP_NKINDS * FILTER_CHUNK];
	size_t i, n;
	int rc = 0;

	set &= MEMBERSHIP_BY_DN;
	while (from < to && set != 0) {
		n = 0;
		for (i = from; i < to && i - from < FILTER_CHUNK; i++)
			n += membership_terms(set, f->r->groups[i].dn, NULL,
			                      &t[n]);
		from = i;
		if ((rc = group_search(a, ld, f, t, n, depth)) != 0)
			break;
	}
	return rc;
}

/* Add each memberOf value in mo (may be NULL) at depth. */
static int add_memberof(struct found *f, struct berval **mo, unsigned depth)
{
	size_t i;
	char *mdn;
	int rc;

	for (i = 0; mo != NULL && mo[i] != NULL; i++) {
		if ((mdn = strndup(mo[i]->bv_val, mo[i]->bv_len)) == NULL)
			return PG_ERR_NOMEM;
		rc = found_add(f, mdn, NULL, depth);
		free(mdn);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Groups of the level [from, to) by their own memberOf values (a base
 * read each): nesting in a directory whose membership shows only there. */
static int parents_by_memberof(struct attempt *a, LDAP *ld, struct found *f,
                               size_t from, size_t to, unsigned depth)
{
	char mo_name[] = "memberOf", *attrs[] = {mo_name, NULL};
	LDAPMessage *res, *e;
	struct berval **mo;
	size_t i;
	int rc = 0;

	for (i = from; i < to && rc == 0; i++) {
		rc = do_search(a, ld, f->r->groups[i].dn, LDAP_SCOPE_BASE,
		               "(objectClass=*)", attrs, 1, &res);
		if (rc != 0)
			break;
		e = res != NULL ? ldap_first_entry(ld, res) : NULL;
		mo = e != NULL ? ldap_get_values_len(ld, e, "memberOf") : NULL;
		rc = add_memberof(f, mo, depth);
		ldap_value_free_len(mo);
		ldap_msgfree(res);
	}
	return rc;
}

/* ------------------------------------------------------------ lookup */

/* Whether an entry matching filter exists under base: one bounded
 * search for at most one entry, no attributes. */
static int entry_exists(struct attempt *a, LDAP *ld, const char *base,
                        const char *filter, int *exists)
{
	char no_attrs[] = LDAP_NO_ATTRS, *attrs[] = {no_attrs, NULL};
	LDAPMessage *res = NULL;
	int rc;

	rc = do_search(a, ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 1, &res);
	if (rc == 0)
		*exists = res != NULL && ldap_count_entries(ld, res) > 0;
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* Log what discovery found when it differs from what was logged last. */
static void log_membership(struct attempt *a, const char *base)
{
	struct server *s = a->s;
	enum conf_membership mode = a->d->cfg.membership;
	char found[64], direct[64], nested[64];

	if (s->logged && s->membership == s->logged - 1)
		return;
	s->logged = s->membership + 1;
	membership_describe(s->membership, found, sizeof found);
	membership_describe(membership_direct(mode, s->membership), direct,
	                    sizeof direct);
	membership_describe(membership_nested(mode, s->membership), nested,
	                    sizeof nested);
	if (s->membership == 0)
		log_warnx("directory: %s: no groupOfNames, groupOfUniqueNames "
		          "or posixGroup entry under \"%s\": no group search "
		          "is made, so a user's groups come from memberOf "
		          "alone and a user without it has none (denied); "
		          "check group_base and the groups' object classes "
		          "(looked for again every %d s)",
		          s->conn.uri, base, DISCOVER_RETRY_MS / 1000);
	else
		log_info("directory: %s: groups under \"%s\" use %s; "
		         "direct groups searched by %s, nesting by %s",
		         s->conn.uri, base, found, direct, nested);
}

/* Which membership attributes the groups use, once per connection (and
 * again after DISCOVER_RETRY_MS while none is found): one search per
 * group class, of at most one entry, on objectClass (indexed in every
 * directory). Its searches are counted apart from the lookup's. */
static int discover(struct attempt *a, LDAP *ld)
{
	const struct dir_config *cfg = &a->d->cfg;
	const char *base = cfg->group_base[0] ? cfg->group_base : cfg->base_dn;
	const struct membership_kind *k;
	struct server *s = a->s;
	unsigned set = 0, before = a->searches;
	int64_t now = time_mono_ms();
	int exists, rc = 0;
	size_t i;

	if (!membership_needs_discovery(cfg->membership) ||
	    (s->discovered_at != 0 &&
	     (s->membership != 0 ||
	      now - s->discovered_at < DISCOVER_RETRY_MS)))
		return 0;
	for (i = 0; (k = membership_kind(i)) != NULL && rc == 0; i++)
		if ((rc = entry_exists(a, ld, base, k->filter, &exists)) == 0 &&
		    exists)
			set |= k->bit;
	a->discovery_searches += a->searches - before;
	a->searches = before;
	if (rc != 0)
		return rc;
	s->membership = set;
	s->discovered_at = now != 0 ? now : 1;
	log_membership(a, base);
	return 0;
}

/*
 * The user's direct groups (depth 0) from the sources cfg->membership
 * names: memberOf values mo of the entry, and one search of groups naming
 * the entry's dn (member, uniqueMember) or the login name (memberUid),
 * by the attributes the groups use (discover()). auto takes both, since a
 * memberOf overlay tracks only one attribute.
 */
static int direct_groups(struct attempt *a, LDAP *ld, struct found *f,
                         const char *user, const char *dn, struct berval **mo)
{
	enum conf_membership mode = a->d->cfg.membership;
	struct term t[MEMBERSHIP_NKINDS];
	size_t n;
	int rc;

	if (mode == CONF_MEMBERSHIP_MEMBEROF || mode == CONF_MEMBERSHIP_AUTO)
		if ((rc = add_memberof(f, mo, 0)) != 0 ||
		    mode == CONF_MEMBERSHIP_MEMBEROF)
			return rc;
	n = membership_terms(membership_direct(mode, a->s->membership), dn,
	                     user, t);
	return n > 0 ? group_search(a, ld, f, t, n, 0) : 0;
}

/*
 * Breadth-first upward: level k's parents are level k+1. Groups already
 * found are not added again, so a cycle ends the walk. Parents come from
 * the same source as the direct groups: searches by the DN-valued
 * attributes the groups use (member, uniqueMember), and
 * the groups' own memberOf values where memberOf is used (memberof, or
 * auto when the user entry had memberOf values).
 */
static int nested_groups(struct attempt *a, LDAP *ld, struct found *f,
                         int by_memberof)
{
	unsigned set =
	    membership_nested(a->d->cfg.membership, a->s->membership);
	size_t from = 0, to = f->r->ngroups;
	unsigned level;
	int rc;

	for (level = 1; level <= (unsigned)a->d->cfg.nesting_depth && from < to;
	     level++) {
		if ((rc = parents_by_member(a, ld, f, set, from, to, level)) !=
		    0)
			return rc;
		if (by_memberof &&
		    (rc = parents_by_memberof(a, ld, f, from, to, level)) != 0)
			return rc;
		from = to;
		to = f->r->ngroups;
	}
	return 0;
}

/* The whole lookup on one connection. */
static int lookup_on(struct attempt *a, LDAP *ld, const char *user,
                     struct found *f)
{
	const struct dir_config *cfg = &a->d->cfg;
	const char *base = cfg->user_base[0] ? cfg->user_base : cfg->base_dn;
	enum conf_membership mode = cfg->membership;
	char mo_name[] = "memberOf", ua_name[DIR_ATTR_MAX];
	char *attrs[] = {ua_name, mo_name, NULL};
	struct term ut = {cfg->user_attr, user};
	LDAPMessage *res = NULL, *e = NULL;
	struct berval **mo = NULL;
	char *filter = NULL, *dn = NULL;
	int rc, uses_memberof;

	uses_memberof =
	    mode == CONF_MEMBERSHIP_AUTO || mode == CONF_MEMBERSHIP_MEMBEROF;
	snprintf(ua_name, sizeof(ua_name), "%s", cfg->user_attr);
	if (!uses_memberof)
		attrs[1] = NULL;
	if ((rc = filter_build(&ut, 1, &filter)) != 0)
		goto out;
	rc = do_search(a, ld, base, LDAP_SCOPE_SUBTREE, filter, attrs,
	               DIR_USER_MATCH_MAX, &res);
	if (rc == PG_ERR_TOOLONG) {
		log_warnx("directory: %s=%s matches more than %d entries; "
		          "refused as ambiguous",
		          cfg->user_attr, user, DIR_USER_MATCH_MAX);
		rc = PG_ERR_AMBIGUOUS;
	}
	if (rc == 0 && res == NULL)
		rc = PG_ERR_NOTFOUND; /* the base does not exist */
	if (rc != 0 ||
	    (rc = ldapconn_pick_user(ld, res, cfg->user_attr, user, &e)) != 0)
		goto out;
	if ((dn = ldap_get_dn(ld, e)) == NULL ||
	    (f->r->user_dn = strdup(dn)) == NULL) {
		rc = PG_ERR_NOMEM;
		goto out;
	}
	if (uses_memberof)
		mo = ldap_get_values_len(ld, e, "memberOf");
	if ((rc = discover(a, ld)) != 0 ||
	    (rc = direct_groups(a, ld, f, user, dn, mo)) != 0)
		goto out;
	rc = nested_groups(a, ld, f,
	                   mode == CONF_MEMBERSHIP_MEMBEROF ||
	                       (uses_memberof && mo != NULL && mo[0] != NULL));
out:
	ldap_value_free_len(mo);
	if (dn != NULL)
		ldap_memfree(dn);
	if (res != NULL)
		ldap_msgfree(res);
	free(filter);
	return rc;
}

/* The lookup on one server, connecting first if needed. A kept connection
 * that the server closed while idle is reopened once. */
static int attempt_lookup(struct dir *d, struct server *s, const char *user,
                          struct found *f, unsigned *searches)
{
	struct attempt a;
	int reused, rc;

	attempt_init(&a, d, s);
	reused = s->ld != NULL;
	if (!reused && (rc = connect_attempt(&a, &s->ld)) != 0)
		goto out;
	rc = lookup_on(&a, s->ld, user, f);
	if (reused && rc == PG_ERR_UNAVAIL &&
	    a.call.last_lrc == LDAP_SERVER_DOWN) {
		log_info("directory: %s: connection lost while idle; "
		         "reconnecting",
		         s->conn.uri);
		srv_close(s);
		found_clear(f);
		if ((rc = found_init(f)) != 0 ||
		    (rc = connect_attempt(&a, &s->ld)) != 0)
			goto out;
		rc = lookup_on(&a, s->ld, user, f);
	}
out:
	*searches += a.searches;
	d->discovery_searches += a.discovery_searches;
	if (ldapconn_server_failed(rc) || rc == PG_ERR_CONFIG)
		srv_close(s);
	return rc;
}

int dir_lookup(struct dir *d, const char *user, struct dir_result **out)
{
	struct found f = {NULL, NULL, 0, 0};
	size_t order[DIR_MAX_URIS], n = 0, i;
	unsigned searches = 0;
	int64_t now;
	int rc, tried = 0, refused = 0, last = PG_ERR_UNAVAIL;

	if (d == NULL || out == NULL)
		return PG_ERR_INVAL;
	if (username_check(user) != 0)
		return PG_ERR_BAD_USER;
	d->lookups++;
	order[n++] = d->active;
	for (i = 0; i < d->nsrv; i++)
		if (i != d->active)
			order[n++] = i;
	rc = PG_ERR_UNAVAIL;
	for (i = 0; i < n; i++) {
		struct server *s = &d->srv[order[i]];

		now = time_mono_ms();
		if (in_backoff(s, now))
			continue;
		tried++;
		found_clear(&f);
		if ((rc = found_init(&f)) != 0)
			goto out;
		rc = attempt_lookup(d, s, user, &f, &searches);
		if (ldapconn_server_failed(rc)) {
			mark_failed(d, s, rc);
			last = rc;
			continue;
		}
		if (rc == PG_ERR_CONFIG) {
			s->last_err = rc;
			refused = 1;
			continue;
		}
		/* The server answered (success, unknown user, too many
		 * groups): it is healthy and becomes the one to use. */
		mark_ok(s);
		if (d->active != order[i]) {
			log_info("directory: now using %s", s->conn.uri);
			srv_close(&d->srv[d->active]);
			d->active = order[i];
		}
		goto out;
	}
	if (tried == 0)
		log_debug("directory: every server is in backoff");
	rc = refused ? PG_ERR_CONFIG : last;
out:
	d->searches += searches;
	if (rc == 0) {
		f.r->searches = searches;
		snprintf(f.r->server, sizeof f.r->server, "%s",
		         d->srv[d->active].conn.uri);
		*out = f.r;
		f.r = NULL;
	}
	found_clear(&f);
	return rc;
}

/* ------------------------------------------------------------ probe */

/* An anonymous read of the root DSE: the server is up and speaks LDAP. */
static int probe_rootdse(struct attempt *a, LDAP *ld)
{
	char ver[] = "supportedLDAPVersion", *attrs[] = {ver, NULL};
	LDAPMessage *res = NULL;
	int rc;

	rc = do_search(a, ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1,
	               &res);
	if (rc == 0 && ldap_count_entries(ld, res) != 1) {
		log_warnx("directory: %s: no root DSE", a->s->conn.uri);
		rc = PG_ERR_UNAVAIL;
	}
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* The network part of a probe, on a connection of its own. */
static int probe_one(struct dir *d, struct server *s)
{
	struct attempt a;
	LDAP *ld = NULL;
	int rc;

	attempt_init(&a, d, s);
	if ((rc = open_attempt(&a, &ld)) == 0 &&
	    (rc = probe_rootdse(&a, ld)) == 0)
		rc = ldapconn_bind(&a.call, ld);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

/* A server of the configuration, not yet connected. Returns 0, or -1 if
 * uri is not one of the LDAP URLs dir_config_check() accepts. */
static int srv_init(struct server *s, const char *uri)
{
	return ldapconn_init(&s->conn, uri);
}

/* ------------------------------------------------------------ index probe */

/* Median of DIR_INDEX_SAMPLES timings (sorts v). */
static int64_t median_us(int64_t *v)
{
	size_t i, j;
	int64_t t;

	for (i = 1; i < DIR_INDEX_SAMPLES; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[DIR_INDEX_SAMPLES / 2];
}

/* Median time of a search for filter under base (at most one entry, no
 * attributes), or the time of the first that failed (*out then set too,
 * and the error returned: a search slow enough to time out is the
 * finding, not a failure of the probe). */
static int time_search(struct attempt *a, LDAP *ld, const char *base,
                       const char *filter, int64_t *out)
{
	int64_t v[DIR_INDEX_SAMPLES], t0;
	int exists, rc = 0;
	size_t i;

	for (i = 0; i < DIR_INDEX_SAMPLES; i++) {
		t0 = time_mono_us();
		rc = entry_exists(a, ld, base, filter, &exists);
		v[i] = time_mono_us() - t0;
		if (rc != 0) {
			*out = v[i];
			return rc;
		}
	}
	*out = median_us(v);
	return 0;
}

/* The searches timed on one connection: see dir_index_times(). */
static int index_times_on(struct attempt *a, LDAP *ld,
                          struct dir_index_times *out)
{
	const struct dir_config *cfg = &a->d->cfg;
	const char *base = cfg->group_base[0] ? cfg->group_base : cfg->base_dn;
	const struct membership_kind *k;
	char dn[DIR_DN_MAX + 64], *filter = NULL;
	struct term t;
	size_t i;
	int rc;

	/* Matches nothing, by a name no schema defines: slapd answers it
	 * without reading an entry, so it times the round trip; once first
	 * untimed, as the connection's first search costs more. */
	if ((rc = time_search(a, ld, base, "(objectClass=phiguardIndexProbe)",
	                      &out->baseline_us)) != 0 ||
	    (rc = time_search(a, ld, base, "(objectClass=phiguardIndexProbe)",
	                      &out->baseline_us)) != 0 ||
	    (rc = discover(a, ld)) != 0)
		return rc;
	out->attrs = membership_direct(cfg->membership, a->s->membership) |
	             membership_nested(cfg->membership, a->s->membership);
	/* A valid DN no entry has, so the server compares it (an invalid
	 * one would be answered at once, like the baseline). */
	snprintf(dn, sizeof dn, "cn=phiguard-index-probe,%s", base);
	for (i = 0; (k = membership_kind(i)) != NULL && rc == 0; i++) {
		if (!(out->attrs & k->bit))
			continue;
		t.attr = k->attr;
		t.value = k->bit == MEMBERSHIP_MEMBERUID
		              ? "phiguard-index-probe"
		              : dn;
		if ((rc = filter_build(&t, 1, &filter)) != 0)
			break;
		rc = time_search(a, ld, base, filter, &out->attr_us[i]);
		free(filter);
		filter = NULL;
	}
	return rc;
}

int dir_index_times(const struct dir_config *cfg, size_t index,
                    struct dir_index_times *out)
{
	struct dir_index_times t;
	struct attempt a;
	struct dir *d;
	LDAP *ld = NULL;
	size_t i;
	int rc;

	if (cfg == NULL || out == NULL || index >= cfg->nuris)
		return PG_ERR_INVAL;
	if ((d = calloc(1, sizeof *d)) == NULL)
		return PG_ERR_NOMEM;
	memset(&t, 0, sizeof t);
	for (i = 0; i < MEMBERSHIP_NKINDS; i++)
		t.attr_us[i] = -1;
	d->cfg = *cfg;
	d->nsrv = cfg->nuris;
	attempt_init(&a, d, &d->srv[index]);
	if (srv_init(a.s, cfg->uris[index]) != 0)
		rc = PG_ERR_CONFIG;
	else if ((rc = connect_attempt(&a, &ld)) == 0)
		rc = index_times_on(&a, ld, &t);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(d);
	/* Timings taken before a search timed out are still findings. */
	if (rc == 0 || rc == PG_ERR_TIMEOUT) {
		t.timed_out = rc == PG_ERR_TIMEOUT;
		*out = t;
		rc = 0;
	}
	return rc;
}

int dir_probe_server(const struct dir_config *cfg, size_t index)
{
	struct dir *d;
	int rc;

	if (cfg == NULL || index >= cfg->nuris)
		return PG_ERR_INVAL;
	/* A throwaway handle (heap: it is large) holding only this server:
	 * the caller's handle, and the thread using it, are left alone. */
	if ((d = calloc(1, sizeof *d)) == NULL)
		return PG_ERR_NOMEM;
	d->cfg = *cfg;
	d->nsrv = cfg->nuris;
	rc = srv_init(&d->srv[index], cfg->uris[index]) == 0
	         ? probe_one(d, &d->srv[index])
	         : PG_ERR_CONFIG;
	free(d);
	return rc;
}

int dir_probe_apply(struct dir *d, size_t index, int rc)
{
	struct server *s;
	size_t old;

	/* Lookups have tried the servers since the probe began, in order:
	 * what they left active is newer news than the probe. */
	if (d == NULL || index >= d->active)
		return 0;
	s = &d->srv[index];
	if (rc != 0) {
		if (ldapconn_server_failed(rc))
			mark_failed(d, s, rc);
		else
			s->last_err = rc;
		return 0;
	}
	mark_ok(s);
	old = d->active;
	d->active = index;
	log_info("directory: failing back from %s to %s", d->srv[old].conn.uri,
	         s->conn.uri);
	/* Its connection opens at the next lookup. */
	srv_close(&d->srv[old]);
	return 1;
}

int dir_probe(struct dir *d)
{
	size_t i;

	if (d == NULL)
		return PG_ERR_INVAL;
	for (i = 0; i < d->active; i++) {
		if (in_backoff(&d->srv[i], time_mono_ms()))
			continue;
		if (dir_probe_apply(d, i, dir_probe_server(&d->cfg, i)))
			break;
	}
	return d->active == 0 ? 0 : PG_ERR_UNAVAIL;
}

/* ------------------------------------------------------------ handle */

/* A simple bind over ldap:// without StartTLS sends the bind password in
 * clear. Allowed (a site may tunnel it), but never silently; loopback is
 * the exception, where nothing crosses a wire. */
static void warn_cleartext(const struct dir_config *cfg, const struct server *s)
{
	LDAPURLDesc *lud = NULL;
	int loopback = 0;

	if (s->conn.scheme != DIR_SCHEME_LDAP || cfg->starttls ||
	    cfg->bind_dn[0] == '\0')
		return;
	if (ldap_url_parse(s->conn.uri, &lud) == LDAP_URL_SUCCESS &&
	    lud->lud_host != NULL)
		loopback = strcmp(lud->lud_host, "localhost") == 0 ||
		           strncmp(lud->lud_host, "127.", 4) == 0 ||
		           strcmp(lud->lud_host, "::1") == 0;
	if (lud != NULL)
		ldap_free_urldesc(lud);
	if (!loopback)
		log_warnx("directory: %s: simple bind without TLS: the bind "
		          "password crosses the network in clear; use "
		          "ldaps:// or starttls = yes",
		          s->conn.uri);
}

int dir_new(const struct dir_config *cfg, struct dir **out, char *err,
            size_t errlen)
{
	struct dir *d = NULL;
	size_t i;
	int rc = PG_ERR_INTERNAL;

	if (cfg == NULL || out == NULL)
		return PG_ERR_INVAL;
	if ((rc = dir_config_check(cfg, err, errlen)) != 0)
		goto out;
	if ((d = calloc(1, sizeof *d)) == NULL) {
		rc = PG_ERR_NOMEM;
		goto out;
	}
	d->cfg = *cfg;
	d->nsrv = cfg->nuris;
	for (i = 0; i < d->nsrv; i++) {
		if (srv_init(&d->srv[i], cfg->uris[i]) != 0) {
			/* dir_config_check() parsed it already. */
			rc = PG_ERR_INTERNAL;
			goto out;
		}
		warn_cleartext(cfg, &d->srv[i]);
	}
#ifdef HAVE_GETRANDOM
	if (getrandom(&d->rng, sizeof d->rng, GRND_NONBLOCK) !=
	    (ssize_t)sizeof d->rng)
		d->rng = 0;
#endif
	d->rng ^= (uint64_t)time_mono_ms() ^ ((uint64_t)getpid() << 32);
	if (d->rng == 0)
		d->rng = 0x9e3779b97f4a7c15ULL;
	*out = d;
	d = NULL;
	rc = 0;
out:
	free(d);
	return rc;
}

void dir_free(struct dir *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nsrv; i++)
		srv_close(&d->srv[i]);
	free(d);
}

void dir_status(const struct dir *d, struct dir_status *st)
{
	int64_t now = time_mono_ms();
	size_t i;

	memset(st, 0, sizeof *st);
	st->nservers = d->nsrv;
	st->active = d->active;
	st->lookups = d->lookups;
	st->searches = d->searches;
	st->discovery_searches = d->discovery_searches;
	for (i = 0; i < d->nsrv; i++) {
		const struct server *s = &d->srv[i];
		struct dir_server_status *o = &st->servers[i];

		memcpy(o->uri, s->conn.uri, DIR_URI_MAX);
		o->connected = s->ld != NULL;
		o->available = !in_backoff(s, now);
		o->failures = s->failures;
		o->retry_in_ms = o->available ? 0 : s->retry_at - now;
		o->last_err = s->last_err;
		o->discovered = s->discovered_at != 0;
		o->membership = s->membership;
	}
}
