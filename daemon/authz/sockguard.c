/* SPDX-License-Identifier: BSD-3-Clause */
/* A deadline for a blocking library call on a socket: a watchdog thread
 * shuts the socket down when the deadline passes. */
#include "config.h"

#include "authz/sockguard.h"

#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "core/thread.h"
#include "timeutil.h"

static void *sockguard_main(void *arg)
{
	struct sockguard *g = arg;
	struct timespec ts;
	int left;

	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		left = time_left_ms(g->deadline);
		if (left <= 0 && g->fd >= 0) {
			shutdown(g->fd, SHUT_RDWR);
			g->fired = 1;
			break;
		}
		if (left <= 0) {
			/* Past the deadline before the socket was handed
			 * over: fire as soon as it is. */
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		ts = time_mono_timespec(g->deadline);
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

int sockguard_start(struct sockguard *g, int64_t deadline)
{
	pthread_condattr_t ca;
	int err;

	g->deadline = deadline;
	g->fd = -1;
	g->stop = 0;
	g->fired = 0;
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	/* The deadline is on the monotonic clock; so is the wait. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = thread_start(&g->thread, sockguard_main, g)) != 0) {
		log_warnx("sockguard: cannot start a watchdog thread: %s",
		          strerror(err));
		pthread_cond_destroy(&g->cv);
		pthread_mutex_destroy(&g->mu);
		return PG_ERR_NOMEM;
	}
	return 0;
}

void sockguard_setfd(struct sockguard *g, int fd)
{
	pthread_mutex_lock(&g->mu);
	g->fd = fd;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

int sockguard_stop(struct sockguard *g)
{
	pthread_mutex_lock(&g->mu);
	g->stop = 1;
	g->fd = -1;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	return g->fired;
}
