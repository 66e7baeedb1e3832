/* SPDX-License-Identifier: BSD-3-Clause */
/* Authorization's timer (every AUTHZ_TICK_MS while a lookup is in
 * flight, else every AUTHZ_HOUSEKEEP_MS): logins whose refresh is late
 * are answered from the cache; every AUTHZ_HOUSEKEEP_MS, users seen
 * lately are refreshed ahead of expiry, an offline directory is retried,
 * and a fallback server's betters are probed. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "authz/authz_impl.h"
#include "authz/cache.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

/* Logins whose refresh is late get the cached entry. */
static void expire_waiters(struct pg_authz *a, int64_t now_ms, int64_t now)
{
	struct waiter **p, *w;
	struct cache_entry *e;
	struct pg_msg resp;
	struct job *j;
	int rc;

	for (j = a->flight; j != NULL; j = j->flight) {
		p = &j->waiters;
		while ((w = *p) != NULL) {
			if (w->deadline_ms == 0 || w->deadline_ms > now_ms) {
				p = &w->next;
				continue;
			}
			*p = w->next;
			e = cache_find(a->cache, j->user);
			log_info("login refresh of user=%s late: answering "
			         "from the cache",
			         j->user);
			rc = authz_answer_entry(&a->view, w->kind, j->user,
			                        w->scope, e, "cache", now,
			                        &resp);
			authz_deliver(a, w, &resp, rc);
			free(w);
		}
	}
}

struct ahead {
	struct pg_authz *a;
	int64_t now;
	unsigned left;
	const char *retry; /* offline: a recently seen user to try */
	int64_t retry_seen;
};

/* Refresh ahead of expiry the users seen within a ttl, with jitter so a
 * crowd that logged in together is not refreshed together. */
static int ahead_one(struct cache_entry *e, void *arg)
{
	struct ahead *h = arg;
	const struct cache_ttls *t = &h->a->view.ttls;
	int64_t age = h->now - e->fetched_at;
	int64_t jitter = t->ttl / 5 > 0 ? random() % (t->ttl / 5) : 0;

	if (!e->negative && e->seen_at > h->retry_seen) {
		h->retry = e->user;
		h->retry_seen = e->seen_at;
	}
	if (!h->a->view.online || e->negative || h->left == 0 ||
	    h->now - e->seen_at > t->ttl || age < t->ttl - jitter)
		return 0;
	if (authz_lookup_submit(h->a, e->user, 0, 1) != NULL)
		h->left--;
	return 0;
}

static void housekeep(struct pg_authz *a, int64_t now)
{
	struct ahead h = {a, now, AUTHZ_REFRESH_BURST, NULL, INT64_MIN};
	struct dir_status st;

	cache_each(a->cache, ahead_one, &h);
	/* Offline, the way back is a lookup that succeeds: try the most
	 * recent user (the client keeps its own backoff per server). */
	if (!a->view.online && h.retry != NULL && a->background == 0)
		authz_lookup_submit(a, h.retry, 0, 1);
	dir_status(dirasync_dir(a->dir), &st);
	if (a->view.online && st.nservers > 1 && st.active != 0 &&
	    a->probing == NULL && now - a->last_probe >= AUTHZ_PROBE_EVERY &&
	    authz_lookup_start_probe(a))
		a->last_probe = now;
	/* Discovery ran again: a new connection since the last look (the
	 * first one after start was probed already). */
	if (st.discovery_searches != a->discoveries_seen) {
		if (a->discoveries_seen != 0 &&
		    now - a->last_indexprobe >= AUTHZ_INDEXPROBE_EVERY)
			authz_index_probe(a);
		a->discoveries_seen = st.discovery_searches;
	}
}

int authz_timer_pace(struct pg_authz *a)
{
	int ms = a->flight != NULL ? AUTHZ_TICK_MS : AUTHZ_HOUSEKEEP_MS;
	struct itimerspec its;

	if (ms == a->tick_ms)
		return 0;
	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(a->tfd, 0, &its, NULL) != 0) {
		log_warn("timerfd");
		return PG_ERR_IO;
	}
	a->tick_ms = ms;
	return 0;
}

void authz_tick(struct pg_authz *a)
{
	int64_t now_ms = time_mono_ms();
	uint64_t n;

	if (read(a->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	expire_waiters(a, now_ms, (int64_t)time(NULL));
	/* The slow tick comes about when housekeeping is due: a few
	 * milliseconds early still counts, or it would wait a second more. */
	if (now_ms + AUTHZ_TICK_MS / 2 >= a->next_housekeep) {
		a->next_housekeep = now_ms + AUTHZ_HOUSEKEEP_MS;
		housekeep(a, (int64_t)time(NULL));
	}
	(void)authz_timer_pace(a);
}
