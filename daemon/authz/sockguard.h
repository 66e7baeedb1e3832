/* SPDX-License-Identifier: BSD-3-Clause */
/* A deadline for a blocking library call on a socket: a watchdog thread
 * shuts the socket down when the deadline passes. */
#ifndef PHIGUARD_DAEMON_SOCKGUARD_H
#define PHIGUARD_DAEMON_SOCKGUARD_H

#include <pthread.h>
#include <stdint.h>

/*
 * For calls that take no timeout of their own, or ignore it: libldap 2.5
 * built with GnuTLS (Debian 12) does not bound the TLS handshake by
 * LDAP_OPT_NETWORK_TIMEOUT as it should; with that timeout set, against a
 * server that accepted the TCP connection and then hangs, it spins on
 * EAGAIN. So ldapconn.c runs the handshake blocking, without it, under
 * this guard: shutdown(2) makes every further read and write on the
 * socket fail, so the call returns with an error.
 *
 * Usage: sockguard_start(), then the call; whoever learns the socket
 * (e.g. a libldap connection callback, on the calling thread or not) hands
 * it over with sockguard_setfd() and withdraws it with sockguard_setfd(g,
 * -1) before it is closed, so that a descriptor number reused meanwhile is
 * never shut down; then sockguard_stop(). The struct is the caller's; its
 * fields are private.
 */
struct sockguard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int64_t deadline;
	int fd;    /* the socket to shut down, -1 if none (yet) */
	int stop;  /* the guarded call has returned */
	int fired; /* the socket was shut down */
};

/* Start the watchdog for deadline (a time_mono_ms() value). The thread
 * blocks all signals. Returns 0 or PG_ERR_NOMEM (no thread). */
int sockguard_start(struct sockguard *g, int64_t deadline);

/* Hand over the socket to watch, or withdraw it with -1. Past the deadline,
 * a socket handed over is shut down at once. */
void sockguard_setfd(struct sockguard *g, int fd);

/* Stop and join the watchdog; the socket is not touched after this.
 * Returns 1 if the deadline passed and the socket was shut down, else 0. */
int sockguard_stop(struct sockguard *g);

#endif
