/* SPDX-License-Identifier: BSD-3-Clause */
/* The steps of one lookup on the loop: dir_lookup()'s walk (user entry,
 * discovery, direct groups, each nesting level by member and by memberOf)
 * as a state machine, one search sent at a time, and its turns over the
 * servers with dir_lookup()'s failover and backoff. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authz/dirasync_impl.h"
#include "authz/membership.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

static void start_turn(struct dirasync *e, struct alookup *lk);

static void ents_free(struct alookup *lk)
{
	size_t i;

	for (i = 0; i < lk->nents; i++)
		ldap_msgfree(lk->ents[i]);
	lk->nents = 0;
}

int dirsteps_entry(struct alookup *lk, LDAPMessage *m)
{
	if (lk->nents == lk->cap) {
		size_t ncap = lk->cap ? lk->cap * 2 : 8;
		LDAPMessage **n = reallocarray(lk->ents, ncap, sizeof(*n));

		if (n == NULL)
			return PG_ERR_NOMEM;
		lk->ents = n;
		lk->cap = ncap;
	}
	lk->ents[lk->nents++] = m;
	return 0;
}

/* What a turn at a server built: gone, for a new turn or the end. */
void dirsteps_reset(struct alookup *lk)
{
	ents_free(lk);
	dirquery_free(&lk->q);
	dirfound_clear(&lk->f);
	if (lk->dn != NULL)
		ldap_memfree(lk->dn);
	lk->dn = NULL;
	ldap_value_free_len(lk->mo);
	lk->mo = NULL;
	lk->msgid = -1;
}

void dirsteps_free(struct alookup *lk)
{
	dirsteps_reset(lk);
	free(lk->ents);
	free(lk);
}

LDAP *dirsteps_ld(const struct dirasync *e, const struct alookup *lk)
{
	return e->d->srv[lk->srv].ld;
}

/* Send lk->q (built by the caller) for step. */
static void issue(struct dirasync *e, struct alookup *lk, enum step step)
{
	struct dirquery *q = &lk->q;
	int rc;

	lk->step = step;
	ents_free(lk);
	if (step == STEP_DISCOVER)
		lk->a.discovery_searches++;
	else
		lk->a.searches++;
	rc = ldapconn_search_start(&lk->a.call, dirsteps_ld(e, lk), q->base,
	                           q->scope, q->filter, q->attrs, q->sizelimit,
	                           &lk->msgid, &lk->search_deadline);
	if (rc != 0) {
		lk->msgid = -1;
		dirsteps_turn_over(e, lk, rc);
	}
}

/* Build a group search of the n terms t at step (its depth is the
 * lookup's level) and send it. */
static void issue_groups(struct dirasync *e, struct alookup *lk,
                         const struct dir_term *t, size_t n, enum step step)
{
	int rc;

	dirquery_free(&lk->q);
	if ((rc = dirquery_groups(&lk->q, &e->d->cfg, t, n)) != 0)
		dirsteps_turn_over(e, lk, rc);
	else
		issue(e, lk, step);
}

/* Breadth-first upward, one search at a time, in dir_lookup()'s order:
 * the level's chunks by member, then its groups' memberOf reads; then
 * the next level. */
static void nest_next(struct dirasync *e, struct alookup *lk)
{
	const struct dir_config *cfg = &e->d->cfg;
	struct server *s = &e->d->srv[lk->srv];
	unsigned set = membership_nested(cfg->membership, s->membership) &
	               MEMBERSHIP_BY_DN;
	struct dir_term t[MEMBERSHIP_NKINDS * DIRQUERY_CHUNK];
	size_t i, n;

	while (lk->level <= (unsigned)cfg->nesting_depth && lk->from < lk->to) {
		if (set != 0 && lk->mcur < lk->to) {
			n = 0;
			for (i = lk->mcur;
			     i < lk->to && i - lk->mcur < DIRQUERY_CHUNK; i++)
				n += dirquery_terms(set, lk->f.r->groups[i].dn,
				                    NULL, &t[n]);
			lk->mcur = i;
			issue_groups(e, lk, t, n, STEP_NEST_MEMBER);
			return;
		}
		if (lk->by_memberof && lk->ocur < lk->to) {
			dirquery_free(&lk->q);
			dirquery_read(&lk->q, lk->f.r->groups[lk->ocur++].dn,
			              "memberOf");
			issue(e, lk, STEP_NEST_MEMBEROF);
			return;
		}
		lk->from = lk->to;
		lk->to = lk->f.r->ngroups;
		lk->mcur = lk->ocur = lk->from;
		lk->level++;
	}
	dirsteps_turn_over(e, lk, 0);
}

static void nest_begin(struct dirasync *e, struct alookup *lk)
{
	lk->level = 1;
	lk->from = lk->mcur = lk->ocur = 0;
	lk->to = lk->f.r->ngroups;
	nest_next(e, lk);
}

/* The direct groups: memberOf values, then one search (dir_lookup()). */
static void direct(struct dirasync *e, struct alookup *lk)
{
	enum conf_membership mode = e->d->cfg.membership;
	struct server *s = &e->d->srv[lk->srv];
	struct dir_term t[MEMBERSHIP_NKINDS];
	size_t n;
	int rc;

	lk->step = STEP_DIRECT;
	if (mode == CONF_MEMBERSHIP_MEMBEROF || mode == CONF_MEMBERSHIP_AUTO) {
		if ((rc = dirfound_add_memberof(&lk->f, lk->mo, 0)) != 0) {
			dirsteps_turn_over(e, lk, rc);
			return;
		}
		if (mode == CONF_MEMBERSHIP_MEMBEROF) {
			nest_begin(e, lk);
			return;
		}
	}
	n = dirquery_terms(membership_direct(mode, s->membership), lk->dn,
	                   lk->user, t);
	if (n > 0)
		issue_groups(e, lk, t, n, STEP_DIRECT);
	else
		nest_begin(e, lk);
}

static void discover_next(struct dirasync *e, struct alookup *lk)
{
	const struct membership_kind *k = membership_kind(lk->kind);

	dirquery_free(&lk->q);
	dirquery_exists(&lk->q, dirquery_group_base(&e->d->cfg), k->filter);
	issue(e, lk, STEP_DISCOVER);
}

/* After the user entry: discovery if due (one lookup per server makes
 * it, the others wait for it), then the direct groups. */
static void after_user(struct dirasync *e, struct alookup *lk)
{
	struct aserver *as = &e->as[lk->srv];
	int64_t now = time_mono_ms();

	if (!dir_discovery_due(e->d, &e->d->srv[lk->srv], now)) {
		direct(e, lk);
		return;
	}
	if (as->discoverer != NULL) {
		lk->step = STEP_DISCOVER_WAIT;
		return;
	}
	as->discoverer = lk;
	lk->kind = 0;
	lk->disc_set = 0;
	lk->disc_now = now;
	discover_next(e, lk);
}

/* Lookups waiting for a discovery that is no longer made go on (or one
 * of them makes it, if it is still due). */
void dirsteps_release_waiters(struct dirasync *e)
{
	struct alookup *lk;

	for (;;) {
		for (lk = e->lookups; lk != NULL; lk = lk->next)
			if (!lk->evicted && lk->step == STEP_DISCOVER_WAIT &&
			    e->as[lk->srv].discoverer == NULL)
				break;
		if (lk == NULL)
			return;
		after_user(e, lk);
	}
}

static void user_found(struct dirasync *e, struct alookup *lk)
{
	const struct dir_config *cfg = &e->d->cfg;
	int uses_memberof = dirquery_uses_memberof(cfg);
	struct ldapconn_pick p = {NULL, 0, 0};
	LDAP *ld = dirsteps_ld(e, lk);
	LDAPMessage *ent = NULL;
	size_t i;
	int rc;

	for (i = 0; i < lk->nents; i++)
		ldapconn_pick_add(&p, ld, lk->ents[i], cfg->user_attr,
		                  lk->user);
	if ((rc = ldapconn_pick_end(&p, cfg->user_attr, lk->user, &ent)) != 0) {
		dirsteps_turn_over(e, lk, rc);
		return;
	}
	if ((lk->dn = ldap_get_dn(ld, ent)) == NULL ||
	    (lk->f.r->user_dn = strdup(lk->dn)) == NULL) {
		dirsteps_turn_over(e, lk, PG_ERR_NOMEM);
		return;
	}
	if (uses_memberof)
		lk->mo = ldap_get_values_len(ld, ent, "memberOf");
	lk->by_memberof =
	    cfg->membership == CONF_MEMBERSHIP_MEMBEROF ||
	    (uses_memberof && lk->mo != NULL && lk->mo[0] != NULL);
	ents_free(lk);
	after_user(e, lk);
}

/* Add the entries of a group search at depth. */
static int add_groups(struct dirasync *e, struct alookup *lk, unsigned depth)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < lk->nents && rc == 0; i++)
		rc = dirfound_add_entry(&lk->f, dirsteps_ld(e, lk), lk->ents[i],
		                        depth);
	return rc;
}

/* The search of lk's step ended with lrc. */
void dirsteps_result(struct dirasync *e, struct alookup *lk, int lrc)
{
	struct server *s = &e->d->srv[lk->srv];
	struct berval **mo = NULL;
	int missing, rc;

	lk->msgid = -1;
	rc =
	    ldapconn_search_outcome(&lk->a.call, dirsteps_ld(e, lk), lk->q.base,
	                            lk->q.sizelimit, lrc, &missing);
	if (missing)
		ents_free(lk);
	switch (lk->step) {
	case STEP_USER:
		if (rc == PG_ERR_TOOLONG) {
			log_warnx("directory: %s=%s matches more than %d "
			          "entries; refused as ambiguous",
			          e->d->cfg.user_attr, lk->user,
			          DIR_USER_MATCH_MAX);
			rc = PG_ERR_AMBIGUOUS;
		}
		if (rc == 0 && missing)
			rc = PG_ERR_NOTFOUND; /* the base does not exist */
		if (rc != 0)
			break;
		user_found(e, lk);
		return;
	case STEP_DISCOVER:
		if (rc != 0)
			break;
		if (lk->nents > 0)
			lk->disc_set |= membership_kind(lk->kind)->bit;
		if (++lk->kind < MEMBERSHIP_NKINDS) {
			discover_next(e, lk);
			return;
		}
		/* Its waiters go on at the end of this pump. */
		e->as[lk->srv].discoverer = NULL;
		dir_discovery_done(e->d, s, lk->disc_set, lk->disc_now);
		direct(e, lk);
		return;
	case STEP_DIRECT:
		if (rc != 0 || (rc = add_groups(e, lk, 0)) != 0)
			break;
		nest_begin(e, lk);
		return;
	case STEP_NEST_MEMBER:
		if (rc != 0 || (rc = add_groups(e, lk, lk->level)) != 0)
			break;
		nest_next(e, lk);
		return;
	case STEP_NEST_MEMBEROF:
		if (rc != 0)
			break;
		if (lk->nents > 0)
			mo = ldap_get_values_len(dirsteps_ld(e, lk),
			                         lk->ents[0], "memberOf");
		rc = dirfound_add_memberof(&lk->f, mo, lk->level);
		ldap_value_free_len(mo);
		if (rc != 0)
			break;
		nest_next(e, lk);
		return;
	default:
		rc = PG_ERR_INTERNAL;
	}
	dirsteps_turn_over(e, lk, rc);
}

/* The turn's first step on a connection that is up. */
void dirsteps_begin(struct dirasync *e, struct alookup *lk)
{
	int rc;

	lk->conn_gen = e->d->srv[lk->srv].conn_gen;
	dirquery_free(&lk->q);
	if ((rc = dirquery_user(&lk->q, &e->d->cfg, lk->user)) != 0)
		dirsteps_turn_over(e, lk, rc);
	else
		issue(e, lk, STEP_USER);
}

/* lk leaves its server: what it searched there is counted. */
static void leave_server(struct dirasync *e, struct alookup *lk)
{
	struct aserver *as = &e->as[lk->srv];

	lk->searches += lk->a.searches;
	e->d->discovery_searches += lk->a.discovery_searches;
	lk->a.searches = lk->a.discovery_searches = 0;
	if (as->discoverer == lk)
		as->discoverer = NULL;
}

/* The turn at lk's server ended with rc: dir_lookup()'s loop body. */
void dirsteps_turn_over(struct dirasync *e, struct alookup *lk, int rc)
{
	struct server *s = &e->d->srv[lk->srv];
	int own = s->ld != NULL && s->conn_gen == lk->conn_gen &&
	          lk->step != STEP_CONNECT;

	/* Off the connection: closing it below does not evict lk. */
	lk->conn_gen = UINT64_MAX;
	ents_free(lk);
	if (lk->reused && !lk->retried && rc == PG_ERR_UNAVAIL &&
	    lk->a.call.last_lrc == LDAP_SERVER_DOWN) {
		/* Once, as dir_lookup(): a kept connection the server
		 * closed while idle. */
		lk->retried = 1;
		if (own) {
			log_info("directory: %s: connection lost while idle; "
			         "reconnecting",
			         s->conn.uri);
			dir_srv_close(e->d, s);
		}
		leave_server(e, lk);
		dirsteps_reset(lk);
		if ((rc = dirfound_init(&lk->f)) == 0) {
			dirasync_wait_connection(e, lk);
			return;
		}
	}
	leave_server(e, lk);
	if ((ldapconn_server_failed(rc) || rc == PG_ERR_CONFIG) && own)
		dir_srv_close(e->d, s);
	if (ldapconn_server_failed(rc)) {
		dir_mark_failed(e->d, s, rc);
		lk->last = rc;
		dirsteps_next_server(e, lk);
		return;
	}
	if (rc == PG_ERR_CONFIG) {
		s->last_err = rc;
		lk->refused = 1;
		dirsteps_next_server(e, lk);
		return;
	}
	/* The server answered (success, unknown user, too many groups): it
	 * is healthy and becomes the one to use. */
	dir_answered(e->d, lk->srv);
	dirasync_finish(e, lk, rc);
}

/* The next server in lk's order that is not in backoff, or the end. */
void dirsteps_next_server(struct dirasync *e, struct alookup *lk)
{
	int64_t now = time_mono_ms();
	int rc;

	dirsteps_reset(lk);
	while (lk->pos < lk->norder) {
		lk->srv = lk->order[lk->pos++];
		if (dir_in_backoff(&e->d->srv[lk->srv], now))
			continue;
		lk->tried++;
		if ((rc = dirfound_init(&lk->f)) != 0) {
			dirasync_finish(e, lk, rc);
			return;
		}
		start_turn(e, lk);
		return;
	}
	if (lk->tried == 0)
		log_debug("directory: every server is in backoff");
	dirasync_finish(e, lk, lk->refused ? PG_ERR_CONFIG : lk->last);
}

static void start_turn(struct dirasync *e, struct alookup *lk)
{
	struct server *s = &e->d->srv[lk->srv];

	dir_attempt_init(&lk->a, e->d, s);
	lk->retried = 0;
	lk->reused = s->ld != NULL;
	if (lk->reused)
		dirsteps_begin(e, lk);
	else
		dirasync_wait_connection(e, lk);
}

/* From the first server again: its connection went while it used it. */
void dirsteps_restart(struct dirasync *e, struct alookup *lk)
{
	lk->evicted = 0;
	leave_server(e, lk);
	if (++lk->restarts > DIRASYNC_MAX_RESTARTS) {
		dirsteps_reset(lk);
		dirasync_finish(e, lk, lk->refused ? PG_ERR_CONFIG : lk->last);
		return;
	}
	lk->norder = dir_order(e->d, lk->order);
	lk->pos = 0;
	dirsteps_next_server(e, lk);
}
