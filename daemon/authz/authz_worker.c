/* SPDX-License-Identifier: BSD-3-Clause */
/* The directory worker: lookups queued by the loop (a client's first)
 * run on one thread, fail-back probes' network part on a short-lived
 * thread of their own; finished work goes back to the loop through an
 * eventfd (authz_worker_collect). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz/authz_impl.h"
#include "core/thread.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"

/* A probe's outcome, in URI order, as far as its thread got. */
static void apply_probe(struct dir *d, uint32_t gen, const struct probe *p)
{
	size_t i;

	if (p->gen != gen) {
		log_debug("directory: a probe with settings since replaced: "
		          "outcome dropped");
		return;
	}
	for (i = 0; i < p->n; i++)
		if (p->rc[i] <= 0 && dir_probe_apply(d, i, p->rc[i]))
			break;
}

static void run_job(struct dir *d, uint32_t gen, struct job *j)
{
	if (j->probe != NULL)
		apply_probe(d, gen, j->probe);
	else
		j->rc = dir_lookup(d, j->user, &j->res);
}

void *authz_worker_main(void *arg)
{
	struct pg_authz *a = arg;
	struct dir *d = NULL;
	struct dir_config *cfg;
	char err[PG_CONF_ERRLEN];
	uint64_t one = 1;
	uint32_t gen = 0;
	struct job *j;

	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		if ((cfg = a->new_cfg) != NULL) {
			a->new_cfg = NULL;
			gen = a->new_gen;
			dir_free(d);
			d = NULL;
			/* Checked by authz_conf_prepare(); a failure here is
			 * memory. */
			if (dir_new(cfg, &d, err, sizeof(err)) != 0)
				log_errx("directory client: %s", err);
			free(cfg);
		}
		if ((j = a->urgent_q) != NULL)
			a->urgent_q = j->next;
		else if ((j = a->background_q) != NULL)
			a->background_q = j->next;
		else {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		pthread_mutex_unlock(&a->mu);
		if (d != NULL)
			run_job(d, gen, j);
		else
			j->rc = PG_ERR_NOMEM;
		pthread_mutex_lock(&a->mu);
		if (d != NULL) {
			dir_status(d, &a->status);
			a->status_ms = time_mono_ms();
		}
		j->next = a->done;
		a->done = j;
		if (write(a->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			log_warn("waking the event loop");
	}
	pthread_mutex_unlock(&a->mu);
	dir_free(d);
	return NULL;
}

/* ---------------------------------------------------------------- queues */

static struct job *find_flight(const struct pg_authz *a, const char *user)
{
	struct job *j;

	for (j = a->flight; j != NULL; j = j->flight)
		if (j->probe == NULL && strcmp(j->user, user) == 0)
			return j;
	return NULL;
}

/* Append j to queue q; the caller holds a->mu. The queues are short, so
 * appending by walking is fine. */
static void enqueue(struct job **q, struct job *j)
{
	while (*q != NULL)
		q = &(*q)->next;
	j->next = NULL;
	*q = j;
}

/*
 * A client now waits for background job j (a refresh-ahead, or the
 * offline retry): move it to the urgent queue if the worker has not taken
 * it yet, so the client does not wait behind up to AUTHZ_MAX_BACKGROUND
 * other lookups.
 */
static void promote(struct pg_authz *a, struct job *j)
{
	struct job **p;

	pthread_mutex_lock(&a->mu);
	for (p = &a->background_q; *p != NULL && *p != j; p = &(*p)->next)
		;
	if (*p == j) {
		*p = j->next;
		enqueue(&a->urgent_q, j);
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	j->urgent = 1;
	a->background--;
}

struct job *authz_worker_submit(struct pg_authz *a, const char *user,
                                int urgent, int store)
{
	struct job *j = find_flight(a, user);
	size_t len = strlen(user) + 1;

	if (j != NULL) {
		j->store |= store;
		if (urgent && !j->urgent)
			promote(a, j);
		return j;
	}
	if (!urgent && a->background >= AUTHZ_MAX_BACKGROUND)
		return NULL;
	if ((j = calloc(1, sizeof(*j) + len)) == NULL)
		return NULL;
	memcpy(j->user, user, len);
	j->store = store;
	j->urgent = urgent;
	j->flight = a->flight;
	a->flight = j;
	if (!urgent)
		a->background++;
	pthread_mutex_lock(&a->mu);
	/* Urgent work goes first: a client is waiting for it. */
	enqueue(urgent ? &a->urgent_q : &a->background_q, j);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return j;
}

void authz_worker_unlink(struct pg_authz *a, struct job *j)
{
	struct job **p = &a->flight;

	while (*p != NULL && *p != j)
		p = &(*p)->flight;
	if (*p != NULL)
		*p = j->flight;
	if (!j->urgent)
		a->background--;
}

void authz_worker_job_free(struct job *j)
{
	struct waiter *w;

	while ((w = j->waiters) != NULL) {
		j->waiters = w->next;
		free(w);
	}
	dir_result_free(j->res);
	free(j->probe);
	free(j);
}

/* ------------------------------------------------------------- fail-back */

/* The probe's thread: the network part, then the outcome to the worker,
 * first in line (applying it takes no I/O). */
static void *probe_main(void *arg)
{
	struct job *j = arg;
	struct probe *p = j->probe;
	struct pg_authz *a = p->a;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (p->rc[i] == PROBE_SKIP)
			continue;
		if ((p->rc[i] = dir_probe_server(&p->cfg, i)) == 0)
			break;
	}
	pthread_mutex_lock(&a->mu);
	enqueue(&a->urgent_q, j);
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Server i's backoff has expired, by a status taken age ms ago. */
static int probe_due(const struct dir_status *st, size_t i, int64_t age)
{
	return st->servers[i].retry_in_ms <= age;
}

int authz_worker_start_probe(struct pg_authz *a, const struct dir_status *st,
                             int64_t age)
{
	size_t i, n = st->active < DIR_MAX_URIS ? st->active : 0;
	struct probe *p = NULL;
	struct job *j;

	for (i = 0; i < n && !probe_due(st, i, age); i++)
		;
	if (i == n)
		return 0;
	if ((j = calloc(1, sizeof(*j) + 1)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		free(j);
		return 0;
	}
	j->probe = p;
	p->a = a;
	p->gen = a->dir_gen;
	p->cfg = a->dir_cfg;
	p->n = n;
	for (i = 0; i < n; i++)
		p->rc[i] = probe_due(st, i, age) ? PROBE_PENDING : PROBE_SKIP;
	j->flight = a->flight;
	a->flight = j;
	a->background++;
	if (thread_start(&p->thread, probe_main, j) != 0) {
		log_warnx("no thread for a fail-back probe");
		authz_worker_unlink(a, j);
		authz_worker_job_free(j);
		return 0;
	}
	a->probing = j;
	return 1;
}

/* A probe's job is back from the worker: its thread has ended. */
static void end_probe(struct pg_authz *a, struct job *j)
{
	pthread_join(j->probe->thread, NULL);
	a->probing = NULL;
}

/* The eventfd has fired: the finished jobs, oldest first. */
struct job *authz_worker_collect(struct pg_authz *a)
{
	struct job *list, *rev = NULL, *j;
	uint64_t n;

	if (read(a->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("eventfd");
	pthread_mutex_lock(&a->mu);
	list = a->done;
	a->done = NULL;
	pthread_mutex_unlock(&a->mu);
	while ((j = list) != NULL) {
		list = j->next;
		j->next = rev;
		rev = j;
		authz_worker_unlink(a, j);
		if (j->probe != NULL)
			end_probe(a, j);
	}
	return rev;
}
