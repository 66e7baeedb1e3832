/* SPDX-License-Identifier: BSD-3-Clause */
/* Authorization: AUTHZ, CHECK and EXPLAIN answered from the cache and the
 * policy on the event loop (authz_answer.c), directory lookups driven
 * from the same loop (authz_lookup.c, dirasync.c), clients on a cold miss
 * parked until their lookup is done and then completed through the
 * core's callback; here the entry points, the lifecycle, and taking in
 * finished lookups. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "authz/authz_conf.h"
#include "authz/authz_impl.h"
#include "authz/cache.h"
#include "authz/indexprobe.h"
#include "authz/membership.h"
#include "authz/policy.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

static void apply_settings(struct pg_authz *a, const struct pg_conf *c,
                           const struct dir_config *cfg)
{
	a->dir_cfg = *cfg;
	a->view.ttls.ttl = c->ttl;
	a->view.ttls.negative_ttl = c->negative_ttl;
	a->view.ttls.login_refresh = c->login_refresh;
	a->view.ttls.offline_grace = c->offline_grace;
	memcpy(a->view.uris, cfg->uris, sizeof(a->view.uris));
	a->view.nuris = cfg->nuris;
}

void authz_deliver(struct pg_authz *a, const struct waiter *w,
                   const struct pg_msg *resp, int rc)
{
	a->complete.done(a->complete.arg, w->ticket, rc, resp);
}

static int park(struct job *j, const struct authz_query *q, int64_t deadline_ms)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return PG_ERR_NOMEM;
	w->ticket = q->ticket;
	w->kind = q->kind;
	w->deadline_ms = deadline_ms;
	if (q->scope != NULL)
		snprintf(w->scope, sizeof(w->scope), "%s", q->scope);
	w->next = j->waiters;
	j->waiters = w;
	return AUTHZ_PARKED;
}

static void set_online(struct pg_authz *a, int online, int64_t now)
{
	size_t n;

	if (online == a->view.online)
		return;
	a->view.online = online;
	if (!online) {
		a->offline_since = now;
		log_errx("directory unreachable: serving cached entries "
		         "stale for up to %lld s",
		         (long long)a->view.ttls.offline_grace);
		return;
	}
	/* What they recorded during the outage may be wrong. */
	n = cache_flush_negative(a->cache);
	log_info("directory reachable again after %lld s; %zu negative "
	         "entr%s dropped",
	         (long long)(now - a->offline_since), n, n == 1 ? "y" : "ies");
}

static unsigned server_index(const struct pg_authz *a, const char *uri)
{
	unsigned i;

	for (i = 0; i < a->view.nuris; i++)
		if (strcmp(a->view.uris[i], uri) == 0)
			return i;
	return 0;
}

/* Take in a finished lookup: the directory's health, and the cache. */
static void absorb(struct pg_authz *a, struct job *j, int64_t now)
{
	switch (j->rc) {
	case 0:
		set_online(a, 1, now);
		if (j->store && cache_store(a->cache, j->user, j->res,
		                            server_index(a, j->res->server),
		                            now, NULL) != 0)
			log_errx("no memory to cache user=%s", j->user);
		break;
	case PG_ERR_NOTFOUND:
	case PG_ERR_BAD_USER:
	case PG_ERR_AMBIGUOUS:
		set_online(a, 1, now);
		if (j->store &&
		    cache_store_negative(a->cache, j->user, now,
		                         j->rc == PG_ERR_AMBIGUOUS
		                             ? CACHE_NEG_AMBIGUOUS
		                             : CACHE_NEG_UNKNOWN) != 0)
			log_errx("no memory to cache user=%s", j->user);
		break;
	case PG_ERR_UNAVAIL:
	case PG_ERR_TIMEOUT:
		set_online(a, 0, now);
		break;
	default:
		/* Credentials refused, a size limit, memory: the servers
		 * answer, but this user cannot be resolved now. */
		log_errx("directory lookup of user=%s failed: %s", j->user,
		         pg_strerror(j->rc));
	}
}

/* The answer a waiter gets once its job is done. */
static void finish_waiter(struct pg_authz *a, struct job *j,
                          const struct waiter *w, int64_t now)
{
	struct authz_query q = {w->kind, j->user, w->scope, now, w->ticket};
	struct pg_msg resp;
	int rc;

	if (j->rc == 0 && !j->store && w->kind == AUTHZ_EXPLAIN) {
		/* EXPLAIN of an uncached user: answer from the result
		 * without caching it (it does not change the cache). */
		struct cache_entry *tmp = NULL;
		struct pg_cache *scratch = NULL;

		if (cache_new(&scratch) == 0 &&
		    cache_store(scratch, j->user, j->res,
		                server_index(a, j->res->server), now,
		                &tmp) == 0)
			rc = authz_answer_entry(&a->view, w->kind, j->user,
			                        w->scope, tmp, "fresh", now,
			                        &resp);
		else
			rc = PG_ERR_NOMEM;
		cache_free(scratch);
		authz_deliver(a, w, &resp, rc);
		return;
	}
	rc = authz_answer_after_lookup(&a->view, &q, j->rc,
	                               cache_find(a->cache, j->user), &resp);
	authz_deliver(a, w, &resp, rc);
}

void authz_drain(struct pg_authz *a)
{
	struct job *j = authz_lookup_collect(a);
	struct job *next;
	struct waiter *w;
	int64_t now = (int64_t)time(NULL);

	for (; j != NULL; j = next) {
		next = j->next;
		absorb(a, j, now);
		for (w = j->waiters; w != NULL; w = w->next)
			finish_waiter(a, j, w, now);
		authz_lookup_job_free(j);
	}
}

/* ------------------------------------------------------------- the verbs */

/* The directory operations of the answer builder (authz_answer.h). */
static struct cache_entry *op_find(void *arg, const char *user)
{
	struct pg_authz *a = arg;
	struct cache_entry *e = cache_find(a->cache, user);

	if (e != NULL)
		a->hits++;
	else
		a->misses++;
	return e;
}

static int op_wait(void *arg, const struct authz_query *q, int store,
                   int wait_ms)
{
	struct pg_authz *a = arg;
	struct job *j = authz_lookup_submit(a, q->user, 1, store);

	if (j == NULL)
		return 0;
	return park(j, q, wait_ms > 0 ? time_mono_ms() + wait_ms : 0);
}

static void op_refresh(void *arg, const char *user)
{
	authz_lookup_submit(arg, user, 0, 1);
}

int authz_answer(struct pg_authz *a, const struct authz_query *q,
                 struct pg_msg *resp)
{
	const struct authz_dirops ops = {op_find, op_wait, op_refresh, a};

	return authz_answer_query(&a->view, &ops, q, resp);
}

size_t authz_flush(struct pg_authz *a, const char *user)
{
	return cache_flush(a->cache, user);
}

int authz_status(struct pg_authz *a, struct pg_msg *resp)
{
	struct dir_status st;
	char membership[64] = "-";
	int rc;

	dir_status(dirasync_dir(a->dir), &st);
	/* What the active server's groups were found to use: the
	 * attributes searched ("-" until its first lookup). */
	if (st.active < st.nservers && st.servers[st.active].discovered)
		membership_describe(st.servers[st.active].membership,
		                    membership, sizeof membership);
	if ((rc = proto_add(resp, "membership", membership)) != 0 ||
	    (rc = proto_add(resp, "directory",
	                    a->view.online ? "online" : "offline")) != 0 ||
	    (rc = proto_add(resp, "server",
	                    st.active < a->view.nuris ? a->view.uris[st.active]
	                                              : "")) != 0 ||
	    (rc = proto_add_u64(resp, "cache_entries",
	                        cache_count(a->cache))) != 0 ||
	    (rc = proto_add_u64(resp, "cache_hits", a->hits)) != 0 ||
	    (rc = proto_add_u64(resp, "cache_misses", a->misses)) != 0)
		return rc;
	return proto_add_u64(resp, "refresh_queue", a->background);
}

/* ------------------------------------------------------------- lifecycle */

void authz_index_probe(struct pg_authz *a)
{
	if (a->indexprobe != NULL) {
		if (!indexprobe_done(a->indexprobe)) {
			log_info(
			    "directory: the index probe of the previous "
			    "settings is still running; not probing again");
			return;
		}
		indexprobe_free(a->indexprobe);
		a->indexprobe = NULL;
	}
	a->last_indexprobe = (int64_t)time(NULL);
	(void)indexprobe_start(&a->dir_cfg, &a->indexprobe);
}

int authz_done_fd(const struct pg_authz *a)
{
	return a->epfd;
}

int authz_timer_fd(const struct pg_authz *a)
{
	return a->tfd;
}

/* The loop's descriptors: the epoll set authz_done_fd() gives, the
 * eventfd in it, the timer. */
static int open_fds(struct pg_authz *a)
{
	struct epoll_event ev = {.events = EPOLLIN,
	                         .data.u64 = DIRASYNC_TAG_CALLER};

	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->epfd < 0 || a->efd < 0 || a->tfd < 0 ||
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->efd, &ev) != 0)
		return PG_ERR_IO;
	a->next_housekeep = time_mono_ms() + AUTHZ_HOUSEKEEP_MS;
	return authz_timer_pace(a);
}

int authz_new(const struct pg_conf *conf, const struct pg_completion *done,
              struct pg_authz **out, char *err, size_t errlen)
{
	struct dir_config *cfg = NULL;
	struct pg_authz *a;
	int rc = PG_ERR_NOMEM;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return PG_ERR_NOMEM;
	a->complete = *done;
	a->epfd = a->efd = a->tfd = -1;
	a->done_tail = &a->done;
	a->view.gen = 1;
	a->view.online = 1;
	pthread_mutex_init(&a->mu, NULL);
	if ((rc = authz_conf_prepare(conf, &cfg, &a->view.policy, err,
	                             errlen)) != 0 ||
	    (rc = cache_new(&a->cache)) != 0 || (rc = open_fds(a)) != 0 ||
	    (rc = dirasync_new(cfg, a->epfd, a->efd, authz_lookup_done, a,
	                       &a->dir, err, errlen)) != 0)
		goto out;
	apply_settings(a, conf, cfg);
	authz_conf_log_timeouts(cfg);
	a->dir_gen = 1;
	authz_index_probe(a);
	*out = a;
	a = NULL;
	rc = 0;
out:
	free(cfg);
	authz_free(a);
	return rc;
}

int authz_reconfigure(struct pg_authz *a, const struct pg_conf *conf, char *err,
                      size_t errlen)
{
	struct dir_config *cfg;
	struct pg_policy *pol;
	struct dirasync *dir;
	int rc;

	if ((rc = authz_conf_prepare(conf, &cfg, &pol, err, errlen)) != 0)
		return rc;
	if ((rc = dirasync_new(cfg, a->epfd, a->efd, authz_lookup_done, a, &dir,
	                       err, errlen)) != 0) {
		policy_free(pol);
		free(cfg);
		return rc;
	}
	policy_free(a->view.policy);
	a->view.policy = pol;
	/* Every memo is now out of date; 0 means "none", skip it. */
	if (++a->view.gen == 0)
		a->view.gen = 1;
	apply_settings(a, conf, cfg);
	authz_conf_log_timeouts(cfg);
	free(cfg);
	/* A probe running with the old settings: its outcome is dropped. */
	a->dir_gen++;
	/* Lookups in flight start again with the new settings. */
	dirasync_replace(dir, a->dir);
	a->dir = dir;
	authz_index_probe(a);
	return 0;
}

/* Clients still parked on j (a reload without [ldap]) get an answer. */
static void answer_removed(struct pg_authz *a, struct job *j)
{
	struct pg_msg resp;
	struct waiter *w;

	for (w = j->waiters; w != NULL; w = w->next) {
		proto_make_error(&resp, PG_ERR_UNAVAIL,
		                 "directory configuration removed");
		authz_deliver(a, w, &resp, 0);
	}
	authz_lookup_job_free(j);
}

void authz_free(struct pg_authz *a)
{
	struct job *j;

	if (a == NULL)
		return;
	/* Waits for its connecting threads (bounded). */
	dirasync_free(a->dir);
	authz_lookup_end_probe(a->probing);
	indexprobe_free(a->indexprobe);
	while ((j = a->flight) != NULL) {
		a->flight = j->flight;
		answer_removed(a, j);
	}
	while ((j = a->done) != NULL) {
		a->done = j->next;
		answer_removed(a, j);
	}
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->efd >= 0)
		close(a->efd);
	if (a->tfd >= 0)
		close(a->tfd);
	cache_free(a->cache);
	policy_free(a->view.policy);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
