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

#include "authz/directory_impl.h"
#include "authz/dirfound.h"
#include "authz/dirquery.h"
#include "authz/ldapconn.h"
#include "authz/membership.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "username.h"

/* While discovery finds no group class at all, it is tried again after
 * this long, so groups added to a new directory are picked up without a
 * reconnect. */
#define DISCOVER_RETRY_MS 60000

/* ------------------------------------------------------------ health */

/* xorshift64*: jitter only needs to spread retries, not be unpredictable. */
static uint64_t rng_next(struct dir *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 0x2545F4914F6CDD1DULL;
}

void dir_srv_close(struct dir *d, struct server *s)
{
	if (s->ld != NULL) {
		if (d->on_close != NULL)
			d->on_close(d->on_close_arg, (size_t)(s - d->srv),
			            s->ld);
		ldap_unbind_ext_s(s->ld, NULL, NULL);
		s->conn_gen++;
	}
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
void dir_mark_failed(struct dir *d, struct server *s, int err)
{
	int64_t delay;

	dir_srv_close(d, s);
	s->failures++;
	delay = ldapconn_backoff_ms(&d->cfg, s->failures);
	delay = delay / 2 + (int64_t)(rng_next(d) % (uint64_t)(delay / 2 + 1));
	s->retry_at = time_mono_ms() + delay;
	s->last_err = err;
	log_warnx("directory: %s failed (%s), %u in a row; next try in %lld "
	          "ms",
	          s->conn.uri, pg_err_name(err), s->failures, (long long)delay);
}

int dir_in_backoff(const struct server *s, int64_t now)
{
	return s->retry_at != 0 && now < s->retry_at;
}

void dir_answered(struct dir *d, size_t index)
{
	struct server *s = &d->srv[index];

	mark_ok(s);
	if (d->active != index) {
		log_info("directory: now using %s", s->conn.uri);
		dir_srv_close(d, &d->srv[d->active]);
		d->active = index;
	}
}

size_t dir_order(const struct dir *d, size_t *order)
{
	size_t n = 0, i;

	order[n++] = d->active;
	for (i = 0; i < d->nsrv; i++)
		if (i != d->active)
			order[n++] = i;
	return n;
}

/* ------------------------------------------------------------ libldap */

/* One bounded search. On success *res is set (possibly with no entries:
 * a missing base counts as empty); on error *res is NULL. A search for
 * one entry (sizelimit 1) asks whether any exists: finding more is no
 * error. */
static int do_search(struct attempt *a, LDAP *ld, struct dirquery *q,
                     LDAPMessage **res)
{
	a->searches++;
	return ldapconn_search(&a->call, ld, q->base, q->scope, q->filter,
	                       q->attrs, q->sizelimit, res);
}

void dir_attempt_init(struct attempt *a, const struct dir *d, struct server *s)
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

/* Run one group search for the n terms t and add what it finds at
 * depth. */
static int group_search(struct attempt *a, LDAP *ld, struct dirfound *f,
                        const struct dir_term *t, size_t n, unsigned depth)
{
	struct dirquery q;
	LDAPMessage *res = NULL, *e;
	int rc;

	if ((rc = dirquery_groups(&q, &a->d->cfg, t, n)) != 0 ||
	    (rc = do_search(a, ld, &q, &res)) != 0)
		goto out;
	for (e = ldap_first_entry(ld, res); e != NULL && rc == 0;
	     e = ldap_next_entry(ld, e))
		rc = dirfound_add_entry(f, ld, e, depth);
out:
	if (res != NULL)
		ldap_msgfree(res);
	dirquery_free(&q);
	return rc;
}

/* Groups of the level [from, to) as terms of the DN-valued attributes in
 * set, in chunks; what the searches find becomes the next level. */
static int parents_by_member(struct attempt *a, LDAP *ld, struct dirfound *f,
                             unsigned set, size_t from, size_t to,
                             unsigned depth)
{
	struct dir_term t[MEMBERSHIP_NKINDS * DIRQUERY_CHUNK];
	size_t i, n;
	int rc = 0;

	set &= MEMBERSHIP_BY_DN;
	while (from < to && set != 0) {
		n = 0;
		for (i = from; i < to && i - from < DIRQUERY_CHUNK; i++)
			n += dirquery_terms(set, f->r->groups[i].dn, NULL,
			                    &t[n]);
		from = i;
		if ((rc = group_search(a, ld, f, t, n, depth)) != 0)
			break;
	}
	return rc;
}

/* Groups of the level [from, to) by their own memberOf values (a base
 * read each): nesting in a directory whose membership shows only there. */
static int parents_by_memberof(struct attempt *a, LDAP *ld, struct dirfound *f,
                               size_t from, size_t to, unsigned depth)
{
	struct dirquery q;
	LDAPMessage *res, *e;
	struct berval **mo;
	size_t i;
	int rc = 0;

	for (i = from; i < to && rc == 0; i++) {
		dirquery_read(&q, f->r->groups[i].dn, "memberOf");
		if ((rc = do_search(a, ld, &q, &res)) != 0)
			break;
		e = res != NULL ? ldap_first_entry(ld, res) : NULL;
		mo = e != NULL ? ldap_get_values_len(ld, e, "memberOf") : NULL;
		rc = dirfound_add_memberof(f, mo, depth);
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
	LDAPMessage *res = NULL;
	struct dirquery q;
	int rc;

	dirquery_exists(&q, base, filter);
	rc = do_search(a, ld, &q, &res);
	if (rc == 0)
		*exists = res != NULL && ldap_count_entries(ld, res) > 0;
	if (res != NULL)
		ldap_msgfree(res);
	return rc;
}

/* Log what discovery found when it differs from what was logged last. */
static void log_membership(const struct dir *d, struct server *s,
                           const char *base)
{
	enum conf_membership mode = d->cfg.membership;
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

int dir_discovery_due(const struct dir *d, const struct server *s, int64_t now)
{
	return membership_needs_discovery(d->cfg.membership) &&
	       (s->discovered_at == 0 ||
	        (s->membership == 0 &&
	         now - s->discovered_at >= DISCOVER_RETRY_MS));
}

void dir_discovery_done(const struct dir *d, struct server *s, unsigned set,
                        int64_t now)
{
	s->membership = set;
	s->discovered_at = now != 0 ? now : 1;
	log_membership(d, s, dirquery_group_base(&d->cfg));
}

/* Which membership attributes the groups use, once per connection (and
 * again after DISCOVER_RETRY_MS while none is found): one search per
 * group class, of at most one entry, on objectClass (indexed in every
 * directory). Its searches are counted apart from the lookup's. */
static int discover(struct attempt *a, LDAP *ld)
{
	const char *base = dirquery_group_base(&a->d->cfg);
	const struct membership_kind *k;
	unsigned set = 0, before = a->searches;
	int64_t now = time_mono_ms();
	int exists, rc = 0;
	size_t i;

	if (!dir_discovery_due(a->d, a->s, now))
		return 0;
	for (i = 0; (k = membership_kind(i)) != NULL && rc == 0; i++)
		if ((rc = entry_exists(a, ld, base, k->filter, &exists)) == 0 &&
		    exists)
			set |= k->bit;
	a->discovery_searches += a->searches - before;
	a->searches = before;
	if (rc != 0)
		return rc;
	dir_discovery_done(a->d, a->s, set, now);
	return 0;
}

/*
 * The user's direct groups (depth 0) from the sources cfg->membership
 * names: memberOf values mo of the entry, and one search of groups naming
 * the entry's dn (member, uniqueMember) or the login name (memberUid),
 * by the attributes the groups use (discover()). auto takes both, since a
 * memberOf overlay tracks only one attribute.
 */
static int direct_groups(struct attempt *a, LDAP *ld, struct dirfound *f,
                         const char *user, const char *dn, struct berval **mo)
{
	enum conf_membership mode = a->d->cfg.membership;
	struct dir_term t[MEMBERSHIP_NKINDS];
	size_t n;
	int rc;

	if (mode == CONF_MEMBERSHIP_MEMBEROF || mode == CONF_MEMBERSHIP_AUTO)
		if ((rc = dirfound_add_memberof(f, mo, 0)) != 0 ||
		    mode == CONF_MEMBERSHIP_MEMBEROF)
			return rc;
	n = dirquery_terms(membership_direct(mode, a->s->membership), dn, user,
	                   t);
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
static int nested_groups(struct attempt *a, LDAP *ld, struct dirfound *f,
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
                     struct dirfound *f)
{
	const struct dir_config *cfg = &a->d->cfg;
	int uses_memberof = dirquery_uses_memberof(cfg);
	LDAPMessage *res = NULL, *e = NULL;
	struct berval **mo = NULL;
	struct dirquery q;
	char *dn = NULL;
	int rc;

	if ((rc = dirquery_user(&q, cfg, user)) != 0)
		goto out;
	rc = do_search(a, ld, &q, &res);
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
	                   cfg->membership == CONF_MEMBERSHIP_MEMBEROF ||
	                       (uses_memberof && mo != NULL && mo[0] != NULL));
out:
	ldap_value_free_len(mo);
	if (dn != NULL)
		ldap_memfree(dn);
	if (res != NULL)
		ldap_msgfree(res);
	dirquery_free(&q);
	return rc;
}

/* The lookup on one server, connecting first if needed. A kept connection
 * that the server closed while idle is reopened once. */
static int attempt_lookup(struct dir *d, struct server *s, const char *user,
                          struct dirfound *f, unsigned *searches)
{
	struct attempt a;
	int reused, rc;

	dir_attempt_init(&a, d, s);
	reused = s->ld != NULL;
	if (!reused && (rc = connect_attempt(&a, &s->ld)) != 0)
		goto out;
	rc = lookup_on(&a, s->ld, user, f);
	if (reused && rc == PG_ERR_UNAVAIL &&
	    a.call.last_lrc == LDAP_SERVER_DOWN) {
		log_info("directory: %s: connection lost while idle; "
		         "reconnecting",
		         s->conn.uri);
		dir_srv_close(d, s);
		dirfound_clear(f);
		if ((rc = dirfound_init(f)) != 0 ||
		    (rc = connect_attempt(&a, &s->ld)) != 0)
			goto out;
		rc = lookup_on(&a, s->ld, user, f);
	}
out:
	*searches += a.searches;
	d->discovery_searches += a.discovery_searches;
	if (ldapconn_server_failed(rc) || rc == PG_ERR_CONFIG)
		dir_srv_close(d, s);
	return rc;
}

void dir_lookup_end(struct dir *d, int rc, unsigned searches,
                    struct dirfound *f, struct dir_result **out)
{
	d->searches += searches;
	if (rc == 0) {
		f->r->searches = searches;
		snprintf(f->r->server, sizeof f->r->server, "%s",
		         d->srv[d->active].conn.uri);
		*out = f->r;
		f->r = NULL;
	}
	dirfound_clear(f);
}

int dir_lookup(struct dir *d, const char *user, struct dir_result **out)
{
	struct dirfound f = {NULL, NULL, 0, 0};
	size_t order[DIR_MAX_URIS], n, i;
	unsigned searches = 0;
	int rc, tried = 0, refused = 0, last = PG_ERR_UNAVAIL;

	if (d == NULL || out == NULL)
		return PG_ERR_INVAL;
	if (username_check(user) != 0)
		return PG_ERR_BAD_USER;
	d->lookups++;
	n = dir_order(d, order);
	rc = PG_ERR_UNAVAIL;
	for (i = 0; i < n; i++) {
		struct server *s = &d->srv[order[i]];

		if (dir_in_backoff(s, time_mono_ms()))
			continue;
		tried++;
		dirfound_clear(&f);
		if ((rc = dirfound_init(&f)) != 0)
			goto out;
		rc = attempt_lookup(d, s, user, &f, &searches);
		if (ldapconn_server_failed(rc)) {
			dir_mark_failed(d, s, rc);
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
		dir_answered(d, order[i]);
		goto out;
	}
	if (tried == 0)
		log_debug("directory: every server is in backoff");
	rc = refused ? PG_ERR_CONFIG : last;
out:
	dir_lookup_end(d, rc, searches, &f, out);
	return rc;
}

/* ------------------------------------------------------------ probe */

/* An anonymous read of the root DSE: the server is up and speaks LDAP. */
static int probe_rootdse(struct attempt *a, LDAP *ld)
{
	LDAPMessage *res = NULL;
	struct dirquery q;
	int rc;

	dirquery_read(&q, "", "supportedLDAPVersion");
	rc = do_search(a, ld, &q, &res);
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

	dir_attempt_init(&a, d, s);
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

/* The fastest of DIR_INDEX_SAMPLES searches for filter under base (at
 * most one entry, no attributes): a busy machine only ever adds time, and
 * a scan of every entry is slow every time. Or the time of the first that
 * failed (*out then set too, and the error returned: a search slow enough
 * to time out is the finding, not a failure of the probe). */
static int time_search(struct attempt *a, LDAP *ld, const char *base,
                       const char *filter, int64_t *out)
{
	int64_t took, t0;
	int exists, rc = 0;
	size_t i;

	for (i = 0; i < DIR_INDEX_SAMPLES; i++) {
		t0 = time_mono_us();
		rc = entry_exists(a, ld, base, filter, &exists);
		took = time_mono_us() - t0;
		if (rc != 0) {
			*out = took;
			return rc;
		}
		if (i == 0 || took < *out)
			*out = took;
	}
	return 0;
}

/* The searches timed on one connection: see dir_index_times(). */
static int index_times_on(struct attempt *a, LDAP *ld,
                          struct dir_index_times *out)
{
	const struct dir_config *cfg = &a->d->cfg;
	const char *base = dirquery_group_base(cfg);
	const struct membership_kind *k;
	char dn[DIR_DN_MAX + 64], *filter = NULL;
	struct dir_term t;
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
		if ((rc = dirquery_filter(&t, 1, &filter)) != 0)
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
	dir_attempt_init(&a, d, &d->srv[index]);
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
			dir_mark_failed(d, s, rc);
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
	dir_srv_close(d, &d->srv[old]);
	return 1;
}

int dir_probe(struct dir *d)
{
	size_t i;

	if (d == NULL)
		return PG_ERR_INVAL;
	for (i = 0; i < d->active; i++) {
		if (dir_in_backoff(&d->srv[i], time_mono_ms()))
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
		dir_srv_close(d, &d->srv[i]);
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
		o->available = !dir_in_backoff(s, now);
		o->failures = s->failures;
		o->retry_in_ms = o->available ? 0 : s->retry_at - now;
		o->last_err = s->last_err;
		o->discovered = s->discovered_at != 0;
		o->membership = s->membership;
	}
}
