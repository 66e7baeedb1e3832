/* SPDX-License-Identifier: BSD-3-Clause */
/* Directory lookups driven from the event loop: dir_lookup()'s steps as a
 * state machine over ldap_search_ext()/ldap_result() with a zero timeout,
 * results routed to their lookup by message id. */
#include "config.h"

#include "authz/dirasync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <lber.h>
#include <ldap.h>

#include "authz/directory_impl.h"
#include "authz/dirfound.h"
#include "authz/dirquery.h"
#include "authz/ldapconn.h"
#include "authz/membership.h"
#include "core/thread.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "username.h"

/* epoll tags: the deadline timer, and server i's connection. */
#define TAG_TIMER  1
#define TAG_SERVER 2
/* A lookup whose connections keep closing under it (failovers, fail-backs)
 * starts again at most this often before it gives up. */
#define MAX_RESTARTS (2 * DIR_MAX_URIS + 2)

enum step {
	STEP_CONNECT,       /* waits for the server's connection */
	STEP_USER,          /* the user entry search */
	STEP_DISCOVER,      /* a discovery search of kind `kind` */
	STEP_DISCOVER_WAIT, /* another lookup discovers on this server */
	STEP_DIRECT,        /* the direct group search */
	STEP_NEST_MEMBER,   /* a chunk of a level, by member */
	STEP_NEST_MEMBEROF, /* a level's group, by its memberOf */
};

struct alookup {
	struct alookup *next; /* in flight, then finished */
	void *tag;
	int rc; /* once finished, with res */
	struct dir_result *res;
	/* Across servers, as dir_lookup() keeps them. */
	size_t order[DIR_MAX_URIS], norder, pos;
	int tried, refused, last;
	unsigned searches, restarts;
	/* The turn at server order[pos - 1]. */
	size_t srv;
	struct attempt a;
	uint64_t conn_gen; /* of the connection it searches on */
	int reused, retried, evicted;
	struct dirfound f;
	enum step step;
	int msgid; /* outstanding search, -1 if none */
	int64_t search_deadline;
	struct dirquery q;
	LDAPMessage **ents; /* its entries so far */
	size_t nents, cap;
	/* Where the lookup is. */
	char *dn;
	struct berval **mo;
	int by_memberof;
	unsigned kind, disc_set;
	int64_t disc_now;
	unsigned level;
	size_t from, to, mcur, ocur;
	char user[];
};

/* A server's connecting thread and what it made. */
struct aserver {
	struct dirasync *e;
	size_t index;
	int fd; /* in the epoll set, -1 if not */
	struct alookup *discoverer;
	pthread_t thread;
	int connecting; /* the thread runs or has not been joined */
	int done;       /* under e->mu: rc and ld are set */
	int rc;
	LDAP *ld;
	struct ldapconn_call call;
};

struct dirasync {
	struct dir *d;
	int epfd, wakefd, tfd;
	dirasync_done_fn *done;
	void *arg;
	struct alookup *lookups;
	size_t nlookups;
	struct alookup *finished, **finished_tail; /* to report */
	struct aserver as[DIR_MAX_URIS];
	pthread_mutex_t mu;
	int64_t armed; /* the timer's deadline, 0 if disarmed */
	struct dirasync *retired;
};

static void start_turn(struct dirasync *e, struct alookup *lk);
static void next_server(struct dirasync *e, struct alookup *lk);
static void turn_over(struct dirasync *e, struct alookup *lk, int rc);

static void wake(const struct dirasync *e)
{
	uint64_t one = 1;

	if (write(e->wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warn("waking the event loop");
}

/* ------------------------------------------------------------- entries */

static void ents_free(struct alookup *lk)
{
	size_t i;

	for (i = 0; i < lk->nents; i++)
		ldap_msgfree(lk->ents[i]);
	lk->nents = 0;
}

static int ents_add(struct alookup *lk, LDAPMessage *m)
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
static void turn_reset(struct alookup *lk)
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

static void lookup_free(struct alookup *lk)
{
	turn_reset(lk);
	free(lk->ents);
	free(lk);
}

/* ------------------------------------------------------------- the end */

static void unlink_lookup(struct dirasync *e, struct alookup *lk)
{
	struct alookup **p = &e->lookups;

	while (*p != NULL && *p != lk)
		p = &(*p)->next;
	if (*p != NULL) {
		*p = lk->next;
		e->nlookups--;
	}
}

/* Queue lk's report for the next pump (which frees it). */
static void report(struct dirasync *e, struct alookup *lk)
{
	lk->next = NULL;
	*e->finished_tail = lk;
	e->finished_tail = &lk->next;
}

/* The lookup is over with rc (dir_lookup()'s end). */
static void finish(struct dirasync *e, struct alookup *lk, int rc)
{
	ents_free(lk);
	dir_lookup_end(e->d, rc, lk->searches, &lk->f, &lk->res);
	lk->rc = rc;
	turn_reset(lk);
	unlink_lookup(e, lk);
	report(e, lk);
}

/* ------------------------------------------------------------- searches */

static LDAP *lookup_ld(const struct dirasync *e, const struct alookup *lk)
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
	rc = ldapconn_search_start(&lk->a.call, lookup_ld(e, lk), q->base,
	                           q->scope, q->filter, q->attrs, q->sizelimit,
	                           &lk->msgid, &lk->search_deadline);
	if (rc != 0) {
		lk->msgid = -1;
		turn_over(e, lk, rc);
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
		turn_over(e, lk, rc);
	else
		issue(e, lk, step);
}

/* ------------------------------------------------------------- the steps */

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
	turn_over(e, lk, 0);
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
			turn_over(e, lk, rc);
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
static void release_waiters(struct dirasync *e)
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
	LDAP *ld = lookup_ld(e, lk);
	LDAPMessage *ent = NULL;
	size_t i;
	int rc;

	for (i = 0; i < lk->nents; i++)
		ldapconn_pick_add(&p, ld, lk->ents[i], cfg->user_attr,
		                  lk->user);
	if ((rc = ldapconn_pick_end(&p, cfg->user_attr, lk->user, &ent)) != 0) {
		turn_over(e, lk, rc);
		return;
	}
	if ((lk->dn = ldap_get_dn(ld, ent)) == NULL ||
	    (lk->f.r->user_dn = strdup(lk->dn)) == NULL) {
		turn_over(e, lk, PG_ERR_NOMEM);
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
		rc = dirfound_add_entry(&lk->f, lookup_ld(e, lk), lk->ents[i],
		                        depth);
	return rc;
}

/* The search of lk's step ended with lrc. */
static void search_done(struct dirasync *e, struct alookup *lk, int lrc)
{
	struct server *s = &e->d->srv[lk->srv];
	struct berval **mo = NULL;
	int missing, rc;

	lk->msgid = -1;
	rc = ldapconn_search_outcome(&lk->a.call, lookup_ld(e, lk), lk->q.base,
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
			mo = ldap_get_values_len(lookup_ld(e, lk), lk->ents[0],
			                         "memberOf");
		rc = dirfound_add_memberof(&lk->f, mo, lk->level);
		ldap_value_free_len(mo);
		if (rc != 0)
			break;
		nest_next(e, lk);
		return;
	default:
		rc = PG_ERR_INTERNAL;
	}
	turn_over(e, lk, rc);
}

/* ------------------------------------------------------------- servers */

/* The turn's first step on a connection that is up. */
static void begin_user(struct dirasync *e, struct alookup *lk)
{
	int rc;

	lk->conn_gen = e->d->srv[lk->srv].conn_gen;
	dirquery_free(&lk->q);
	if ((rc = dirquery_user(&lk->q, &e->d->cfg, lk->user)) != 0)
		turn_over(e, lk, rc);
	else
		issue(e, lk, STEP_USER);
}

static void *connect_main(void *arg)
{
	struct aserver *as = arg;
	LDAP *ld = NULL;
	int rc = ldapconn_connect(&as->call, &ld);

	pthread_mutex_lock(&as->e->mu);
	as->rc = rc;
	as->ld = ld;
	as->done = 1;
	pthread_mutex_unlock(&as->e->mu);
	wake(as->e);
	return NULL;
}

/* lk waits for its server's connection: a thread makes it, within lk's
 * budget, unless one is on its way (lk then shares its budget). */
static void wait_connection(struct dirasync *e, struct alookup *lk)
{
	struct aserver *as = &e->as[lk->srv];

	lk->step = STEP_CONNECT;
	if (as->connecting) {
		lk->a.call.deadline = as->call.deadline;
		return;
	}
	as->call = lk->a.call;
	as->done = 0;
	as->ld = NULL;
	if (thread_start(&as->thread, connect_main, as) != 0) {
		log_warnx("directory: no thread to connect to %s",
		          e->d->srv[lk->srv].conn.uri);
		turn_over(e, lk, PG_ERR_NOMEM);
		return;
	}
	as->connecting = 1;
}

/* The connection is the loop's now: non-blocking, watched. */
static int adopt(struct dirasync *e, size_t index, LDAP *ld)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int fd = -1, fl;

	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS ||
	    fd < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return PG_ERR_IO;
	ev.data.u64 = TAG_SERVER + index;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_warn("directory: watching a connection");
		return PG_ERR_IO;
	}
	e->as[index].fd = fd;
	e->d->srv[index].ld = ld;
	return 0;
}

/* Server index's thread has ended: its waiters go on. The first takes a
 * failure as its own (dir_lookup() would); the others move on without
 * counting it again. */
static void connected(struct dirasync *e, size_t index)
{
	struct aserver *as = &e->as[index];
	struct alookup *lk;
	int rc = as->rc, first = 1;

	pthread_join(as->thread, NULL);
	as->connecting = 0;
	if (rc == 0 && (rc = adopt(e, index, as->ld)) != 0)
		ldap_unbind_ext_s(as->ld, NULL, NULL);
	as->ld = NULL;
	for (;;) {
		for (lk = e->lookups; lk != NULL; lk = lk->next)
			if (lk->srv == index && !lk->evicted &&
			    lk->step == STEP_CONNECT)
				break;
		/* One of them is connecting again: the rest wait for it. */
		if (lk == NULL || as->connecting)
			return;
		if (rc == 0)
			begin_user(e, lk);
		else if (first)
			turn_over(e, lk, rc);
		else {
			if (ldapconn_server_failed(rc))
				lk->last = rc;
			else if (rc == PG_ERR_CONFIG)
				lk->refused = 1;
			next_server(e, lk);
		}
		first = 0;
	}
}

/* ------------------------------------------------------------- turns */

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
static void turn_over(struct dirasync *e, struct alookup *lk, int rc)
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
		turn_reset(lk);
		if ((rc = dirfound_init(&lk->f)) == 0) {
			wait_connection(e, lk);
			return;
		}
	}
	leave_server(e, lk);
	if ((ldapconn_server_failed(rc) || rc == PG_ERR_CONFIG) && own)
		dir_srv_close(e->d, s);
	if (ldapconn_server_failed(rc)) {
		dir_mark_failed(e->d, s, rc);
		lk->last = rc;
		next_server(e, lk);
		return;
	}
	if (rc == PG_ERR_CONFIG) {
		s->last_err = rc;
		lk->refused = 1;
		next_server(e, lk);
		return;
	}
	/* The server answered (success, unknown user, too many groups): it
	 * is healthy and becomes the one to use. */
	dir_answered(e->d, lk->srv);
	finish(e, lk, rc);
}

/* The next server in lk's order that is not in backoff, or the end. */
static void next_server(struct dirasync *e, struct alookup *lk)
{
	int64_t now = time_mono_ms();
	int rc;

	turn_reset(lk);
	while (lk->pos < lk->norder) {
		lk->srv = lk->order[lk->pos++];
		if (dir_in_backoff(&e->d->srv[lk->srv], now))
			continue;
		lk->tried++;
		if ((rc = dirfound_init(&lk->f)) != 0) {
			finish(e, lk, rc);
			return;
		}
		start_turn(e, lk);
		return;
	}
	if (lk->tried == 0)
		log_debug("directory: every server is in backoff");
	finish(e, lk, lk->refused ? PG_ERR_CONFIG : lk->last);
}

static void start_turn(struct dirasync *e, struct alookup *lk)
{
	struct server *s = &e->d->srv[lk->srv];

	dir_attempt_init(&lk->a, e->d, s);
	lk->retried = 0;
	lk->reused = s->ld != NULL;
	if (lk->reused)
		begin_user(e, lk);
	else
		wait_connection(e, lk);
}

/* From the first server again: its connection went while it used it. */
static void restart(struct dirasync *e, struct alookup *lk)
{
	lk->evicted = 0;
	leave_server(e, lk);
	if (++lk->restarts > MAX_RESTARTS) {
		turn_reset(lk);
		finish(e, lk, lk->refused ? PG_ERR_CONFIG : lk->last);
		return;
	}
	lk->norder = dir_order(e->d, lk->order);
	lk->pos = 0;
	next_server(e, lk);
}

/* Before a connection closes (any cause): the lookups using it are
 * started again at the next pump, its descriptor is unwatched. */
static void on_close(void *arg, size_t index, LDAP *ld)
{
	struct dirasync *e = arg;
	struct aserver *as = &e->as[index];
	struct alookup *lk;

	(void)ld;
	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->srv == index && lk->step != STEP_CONNECT &&
		    lk->conn_gen == e->d->srv[index].conn_gen) {
			lk->evicted = 1;
			lk->msgid = -1;
		}
	if (as->discoverer != NULL && as->discoverer->evicted)
		as->discoverer = NULL;
	if (as->fd >= 0 && epoll_ctl(e->epfd, EPOLL_CTL_DEL, as->fd, NULL))
		log_warn("directory: unwatching a connection");
	as->fd = -1;
	wake(e);
}

/* ------------------------------------------------------------- the pump */

static struct alookup *find_msg(struct dirasync *e, size_t index, int msgid)
{
	struct alookup *lk;

	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->srv == index && lk->msgid == msgid && !lk->evicted)
			return lk;
	return NULL;
}

/* One message from server index. */
static void route(struct dirasync *e, size_t index, LDAPMessage *m)
{
	LDAP *ld = e->d->srv[index].ld;
	struct alookup *lk = find_msg(e, index, ldap_msgid(m));
	int lrc = LDAP_OTHER;

	if (lk == NULL) {
		ldap_msgfree(m);
		return;
	}
	switch (ldap_msgtype(m)) {
	case LDAP_RES_SEARCH_ENTRY:
		if (ents_add(lk, m) != 0) {
			ldap_msgfree(m);
			ldap_abandon_ext(ld, lk->msgid, NULL, NULL);
			lk->msgid = -1;
			turn_over(e, lk, PG_ERR_NOMEM);
		}
		return;
	case LDAP_RES_SEARCH_RESULT:
		if (ldap_parse_result(ld, m, &lrc, NULL, NULL, NULL, NULL, 1) !=
		    LDAP_SUCCESS)
			lrc = LDAP_OTHER;
		search_done(e, lk, lrc);
		return;
	default: /* references: referrals are never chased */
		ldap_msgfree(m);
	}
}

/* Server index's connection failed under its searches: the first lookup
 * takes the failure (dir_lookup() would), the others start again. */
static void conn_lost(struct dirasync *e, size_t index, int lrc)
{
	struct server *s = &e->d->srv[index];
	struct alookup *lk;
	uint64_t gen;

	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->srv == index && lk->msgid >= 0 && !lk->evicted)
			break;
	if (lk == NULL) {
		log_info("directory: %s: connection closed while idle",
		         s->conn.uri);
		dir_srv_close(e->d, s);
		return;
	}
	lk->msgid = -1;
	gen = s->conn_gen;
	turn_over(e, lk, ldapconn_fail(&lk->a.call, s->ld, "search", lrc));
	/* Dead for the others too, whatever lk made of it. */
	if (s->ld != NULL && s->conn_gen == gen)
		dir_srv_close(e->d, s);
}

/* Everything server index has sent, TLS records libldap holds included:
 * ldap_result() with a zero timeout until it has nothing. */
static void drain_server(struct dirasync *e, size_t index)
{
	struct server *s = &e->d->srv[index];
	struct timeval zero = {0, 0};
	LDAPMessage *m;
	LDAP *ld = s->ld;
	int rc, lrc, got = 0;
	char c;

	while (ld != NULL && s->ld == ld) {
		m = NULL;
		rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &m);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &lrc) !=
			    LDAP_OPT_SUCCESS)
				lrc = LDAP_SERVER_DOWN;
			conn_lost(e, index, lrc);
			return;
		}
		got = 1;
		route(e, index, m);
	}
	/* Readable with nothing for libldap: the server closed it. */
	if (!got && s->ld == ld && e->as[index].fd >= 0 &&
	    recv(e->as[index].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		conn_lost(e, index, LDAP_SERVER_DOWN);
}

/* Searches past their deadline are abandoned and fail as a blocking
 * search that timed out fails. */
static void expire(struct dirasync *e)
{
	int64_t now = time_mono_ms();
	struct alookup *lk;
	LDAP *ld;

	for (;;) {
		for (lk = e->lookups; lk != NULL; lk = lk->next)
			if (lk->msgid >= 0 && !lk->evicted &&
			    lk->search_deadline <= now)
				break;
		if (lk == NULL)
			return;
		ld = lookup_ld(e, lk);
		ldap_abandon_ext(ld, lk->msgid, NULL, NULL);
		lk->msgid = -1;
		turn_over(
		    e, lk,
		    ldapconn_fail(&lk->a.call, ld, "search", LDAP_TIMEOUT));
	}
}

/* The timer at the earliest search deadline, or off. */
static void rearm(struct dirasync *e)
{
	struct itimerspec its;
	struct alookup *lk;
	int64_t first = 0;

	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->msgid >= 0 && !lk->evicted &&
		    (first == 0 || lk->search_deadline < first))
			first = lk->search_deadline;
	if (first == e->armed)
		return;
	memset(&its, 0, sizeof(its));
	if (first != 0) {
		its.it_value = time_mono_timespec(first);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		log_warn("directory: search deadline timer");
	e->armed = first;
}

static void restart_evicted(struct dirasync *e)
{
	struct alookup *lk;

	for (;;) {
		for (lk = e->lookups; lk != NULL && !lk->evicted; lk = lk->next)
			;
		if (lk == NULL)
			return;
		restart(e, lk);
	}
}

/* Threads that have made their connection (or failed to). */
static void take_connections(struct dirasync *e)
{
	size_t i;
	int done;

	for (i = 0; i < e->d->nsrv; i++) {
		if (!e->as[i].connecting)
			continue;
		pthread_mutex_lock(&e->mu);
		done = e->as[i].done;
		pthread_mutex_unlock(&e->mu);
		if (done)
			connected(e, i);
	}
}

/* Free retired engines whose threads have ended. */
static void reap_retired(struct dirasync *e)
{
	struct dirasync **p = &e->retired, *r;
	size_t i;
	int busy;

	while ((r = *p) != NULL) {
		busy = 0;
		for (i = 0; i < r->d->nsrv; i++) {
			if (!r->as[i].connecting)
				continue;
			pthread_mutex_lock(&r->mu);
			busy |= !r->as[i].done;
			pthread_mutex_unlock(&r->mu);
		}
		if (busy) {
			p = &r->retired;
			continue;
		}
		*p = r->retired;
		r->retired = NULL;
		dirasync_free(r);
	}
}

static void deliver(struct dirasync *e)
{
	struct alookup *lk;

	while ((lk = e->finished) != NULL) {
		e->finished = lk->next;
		if (e->finished == NULL)
			e->finished_tail = &e->finished;
		e->done(e->arg, lk->tag, lk->rc, lk->res);
		lk->res = NULL; /* the callee's now */
		lookup_free(lk);
	}
}

void dirasync_pump(struct dirasync *e, const struct epoll_event *ev, size_t n)
{
	uint64_t ticks;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ev[i].data.u64 == TAG_TIMER) {
			if (read(e->tfd, &ticks, sizeof(ticks)) < 0 &&
			    errno != EAGAIN)
				log_warn("directory: search deadline timer");
			e->armed = 0;
		} else if (ev[i].data.u64 >= TAG_SERVER &&
		           ev[i].data.u64 < TAG_SERVER + e->d->nsrv) {
			drain_server(e, (size_t)(ev[i].data.u64 - TAG_SERVER));
		}
	}
	take_connections(e);
	expire(e);
	restart_evicted(e);
	release_waiters(e);
	restart_evicted(e);
	rearm(e);
	reap_retired(e);
	deliver(e);
}

/* ------------------------------------------------------------- handle */

/* Start lk (its user and tag set, nothing else) on e. */
static void lookup_start(struct dirasync *e, struct alookup *lk)
{
	lk->msgid = -1;
	lk->last = PG_ERR_UNAVAIL;
	lk->tried = lk->refused = 0;
	lk->searches = lk->restarts = 0;
	lk->evicted = 0;
	lk->conn_gen = UINT64_MAX;
	lk->next = e->lookups;
	e->lookups = lk;
	e->nlookups++;
	e->d->lookups++;
	lk->norder = dir_order(e->d, lk->order);
	lk->pos = 0;
	next_server(e, lk);
}

int dirasync_lookup(struct dirasync *e, const char *user, void *tag)
{
	size_t len = strlen(user) + 1;
	struct alookup *lk;

	if ((lk = calloc(1, sizeof(*lk) + len)) == NULL)
		return PG_ERR_NOMEM;
	memcpy(lk->user, user, len);
	lk->tag = tag;
	if (username_check(user) != 0) {
		lk->rc = PG_ERR_BAD_USER;
		report(e, lk);
	} else
		lookup_start(e, lk);
	/* Whatever it did (a search sent, or the end) is seen to by the
	 * pump this wakes. */
	wake(e);
	return 0;
}

struct dir *dirasync_dir(struct dirasync *e)
{
	return e->d;
}

size_t dirasync_inflight(const struct dirasync *e)
{
	return e->nlookups;
}

int dirasync_new(const struct dir_config *cfg, int epfd, int wakefd,
                 dirasync_done_fn *done, void *arg, struct dirasync **out,
                 char *err, size_t errlen)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TIMER};
	struct dirasync *e;
	size_t i;
	int rc;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return PG_ERR_NOMEM;
	e->epfd = epfd;
	e->wakefd = wakefd;
	e->done = done;
	e->arg = arg;
	e->finished_tail = &e->finished;
	pthread_mutex_init(&e->mu, NULL);
	for (i = 0; i < DIR_MAX_URIS; i++) {
		e->as[i].e = e;
		e->as[i].index = i;
		e->as[i].fd = -1;
	}
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if ((rc = dir_new(cfg, &e->d, err, errlen)) != 0)
		goto fail;
	rc = PG_ERR_IO;
	if (e->tfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, e->tfd, &ev) != 0)
		goto fail;
	e->d->on_close = on_close;
	e->d->on_close_arg = e;
	*out = e;
	return 0;
fail:
	dirasync_free(e);
	return rc;
}

void dirasync_replace(struct dirasync *e, struct dirasync *old)
{
	struct alookup *lk;
	size_t i;

	while ((lk = old->lookups) != NULL) {
		old->lookups = lk->next;
		old->nlookups--;
		turn_reset(lk);
		lookup_start(e, lk);
	}
	wake(e);
	/* Its finished ones are reported by e. */
	if (old->finished != NULL) {
		*e->finished_tail = old->finished;
		e->finished_tail = old->finished_tail;
		old->finished = NULL;
		old->finished_tail = &old->finished;
		wake(e);
	}
	for (i = 0; i < old->d->nsrv; i++)
		dir_srv_close(old->d, &old->d->srv[i]);
	if (old->tfd >= 0)
		close(old->tfd);
	old->tfd = -1;
	old->retired = e->retired;
	e->retired = old;
	reap_retired(e);
}

void dirasync_free(struct dirasync *e)
{
	struct alookup *lk;
	size_t i;

	if (e == NULL)
		return;
	while (e->retired != NULL) {
		struct dirasync *r = e->retired;

		e->retired = r->retired;
		r->retired = NULL;
		dirasync_free(r);
	}
	for (i = 0; i < DIR_MAX_URIS; i++) {
		if (!e->as[i].connecting)
			continue;
		pthread_join(e->as[i].thread, NULL);
		if (e->as[i].ld != NULL)
			ldap_unbind_ext_s(e->as[i].ld, NULL, NULL);
	}
	while ((lk = e->lookups) != NULL) {
		e->lookups = lk->next;
		lookup_free(lk);
	}
	while ((lk = e->finished) != NULL) {
		e->finished = lk->next;
		dir_result_free(lk->res);
		lookup_free(lk);
	}
	if (e->d != NULL)
		e->d->on_close = NULL;
	for (i = 0; i < DIR_MAX_URIS; i++)
		if (e->as[i].fd >= 0)
			(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->as[i].fd,
			                NULL);
	dir_free(e->d);
	if (e->tfd >= 0)
		close(e->tfd);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
