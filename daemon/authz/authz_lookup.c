/* SPDX-License-Identifier: BSD-3-Clause */
/* Lookups in flight: one per user (a second client joins the first's),
 * run by the directory engine on the event loop (dirasync.h), many at
 * once; fail-back probes' network part on a short-lived thread of their
 * own, whose end wakes the loop through the eventfd. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "authz/authz_impl.h"
#include "core/thread.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

/* epoll events taken per round; more wait for the loop's next one. */
#define EVENTS_PER_ROUND 16

static struct job *find_flight(const struct pg_authz *a, const char *user)
{
	struct job *j;

	for (j = a->flight; j != NULL; j = j->flight)
		if (strcmp(j->user, user) == 0)
			return j;
	return NULL;
}

struct job *authz_lookup_submit(struct pg_authz *a, const char *user,
                                int urgent, int store)
{
	struct job *j = find_flight(a, user);
	size_t len = strlen(user) + 1;

	if (j != NULL) {
		j->store |= store;
		/* A client now waits for a background job (a refresh-ahead,
		 * or the offline retry): it counts as urgent from now. */
		if (urgent && !j->urgent) {
			j->urgent = 1;
			a->background--;
		}
		return j;
	}
	if (!urgent && a->background >= AUTHZ_MAX_BACKGROUND)
		return NULL;
	if ((j = calloc(1, sizeof(*j) + len)) == NULL)
		return NULL;
	memcpy(j->user, user, len);
	j->store = store;
	j->urgent = urgent;
	if (dirasync_lookup(a->dir, user, j) != 0) {
		free(j);
		return NULL;
	}
	j->flight = a->flight;
	a->flight = j;
	if (!urgent)
		a->background++;
	/* Its waiters' deadlines need the fast tick; on failure they are
	 * checked at the next slow one. */
	(void)authz_timer_pace(a);
	return j;
}

void authz_lookup_unlink(struct pg_authz *a, struct job *j)
{
	struct job **p = &a->flight;

	while (*p != NULL && *p != j)
		p = &(*p)->flight;
	if (*p != NULL)
		*p = j->flight;
	if (!j->urgent)
		a->background--;
}

void authz_lookup_job_free(struct job *j)
{
	struct waiter *w;

	while ((w = j->waiters) != NULL) {
		j->waiters = w->next;
		free(w);
	}
	dir_result_free(j->res);
	free(j);
}

void authz_lookup_done(void *arg, void *tag, int rc, struct dir_result *res)
{
	struct pg_authz *a = arg;
	struct job *j = tag;

	j->rc = rc;
	j->res = res;
	authz_lookup_unlink(a, j);
	j->next = NULL;
	*a->done_tail = j;
	a->done_tail = &j->next;
}

/* ------------------------------------------------------------- fail-back */

/* The probe's thread: the network part only; the loop applies it. */
static void *probe_main(void *arg)
{
	struct probe *p = arg;
	struct pg_authz *a = p->a;
	uint64_t one = 1;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->rc[i] == PROBE_SKIP)
			continue;
		if ((p->rc[i] = dir_probe_server(&p->cfg, i)) == 0)
			break;
	}
	pthread_mutex_lock(&a->mu);
	p->done = 1;
	pthread_mutex_unlock(&a->mu);
	if (write(a->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warn("waking the event loop");
	return NULL;
}

int authz_lookup_start_probe(struct pg_authz *a)
{
	struct dir_status st;
	size_t i, n;
	struct probe *p;

	dir_status(dirasync_dir(a->dir), &st);
	n = st.active < DIR_MAX_URIS ? st.active : 0;
	for (i = 0; i < n && st.servers[i].retry_in_ms > 0; i++)
		;
	if (i == n || (p = calloc(1, sizeof(*p))) == NULL)
		return 0;
	p->a = a;
	p->gen = a->dir_gen;
	p->cfg = a->dir_cfg;
	p->n = n;
	for (i = 0; i < n; i++)
		p->rc[i] =
		    st.servers[i].retry_in_ms <= 0 ? PROBE_PENDING : PROBE_SKIP;
	if (thread_start(&p->thread, probe_main, p) != 0) {
		log_warnx("no thread for a fail-back probe");
		free(p);
		return 0;
	}
	a->probing = p;
	return 1;
}

void authz_lookup_end_probe(struct probe *p)
{
	if (p == NULL)
		return;
	pthread_join(p->thread, NULL);
	free(p);
}

/* A probe's outcome, in URI order, as far as its thread got. */
static void apply_probe(struct pg_authz *a, const struct probe *p)
{
	size_t i;

	if (p->gen != a->dir_gen) {
		log_debug("directory: a probe with settings since replaced: "
		          "outcome dropped");
		return;
	}
	for (i = 0; i < p->n; i++)
		if (p->rc[i] <= 0 &&
		    dir_probe_apply(dirasync_dir(a->dir), i, p->rc[i]))
			break;
}

/* The probe's thread has ended: its outcome applied. */
static void take_probe(struct pg_authz *a)
{
	int done;

	if (a->probing == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	done = a->probing->done;
	pthread_mutex_unlock(&a->mu);
	if (!done)
		return;
	apply_probe(a, a->probing);
	authz_lookup_end_probe(a->probing);
	a->probing = NULL;
}

/* ------------------------------------------------------------- progress */

struct job *authz_lookup_collect(struct pg_authz *a)
{
	struct epoll_event ev[EVENTS_PER_ROUND];
	struct job *list;
	uint64_t n;
	int i, nev;

	nev = epoll_wait(a->epfd, ev, EVENTS_PER_ROUND, 0);
	if (nev < 0) {
		if (errno != EINTR)
			log_warn("epoll_wait");
		nev = 0;
	}
	for (i = 0; i < nev; i++)
		if (ev[i].data.u64 == DIRASYNC_TAG_CALLER &&
		    read(a->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			log_warn("eventfd");
	/* Before the pump: what the probe changed takes effect there. */
	take_probe(a);
	dirasync_pump(a->dir, ev, (size_t)nev);
	list = a->done;
	a->done = NULL;
	a->done_tail = &a->done;
	return list;
}
