/* SPDX-License-Identifier: BSD-3-Clause */
/* Starting the daemon's helper threads (directory worker, fail-back
 * probe, audit writer, TLS watchdog, webhook) the one way: with every
 * signal blocked, so that signals stay with the event loop's signalfd. */
#ifndef PHIGUARD_DAEMON_THREAD_H
#define PHIGUARD_DAEMON_THREAD_H

#include <pthread.h>

/* pthread_create(t, NULL, fn, arg) with all signals blocked in the new
 * thread; the caller's mask is unchanged. Returns 0 or pthread_create's
 * error number. */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
