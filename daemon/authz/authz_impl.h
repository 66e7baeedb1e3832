/* SPDX-License-Identifier: BSD-3-Clause */
/* Inside authorization: the state its files share. authz.c (the verbs'
 * entry points, the lifecycle, taking in finished lookups),
 * authz_lookup.c (lookups in flight on the loop's directory engine,
 * dirasync.h, and the fail-back probes' thread), authz_housekeep.c (late
 * logins, refresh-ahead, probing) and authz_answer.c (the answers, pure
 * logic). Not for use outside daemon/authz/. */
#ifndef PHIGUARD_DAEMON_AUTHZ_IMPL_H
#define PHIGUARD_DAEMON_AUTHZ_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "authz/authz.h"
#include "authz/authz_answer.h"
#include "authz/dir_config.h"
#include "authz/dirasync.h"
#include "authz/directory.h"
#include "conf.h"
#include "core/pending.h"

/* The loop's timer: while a lookup is in flight, parked logins'
 * deadlines are checked every AUTHZ_TICK_MS; otherwise it fires only for
 * housekeeping, every AUTHZ_HOUSEKEEP_MS, so an idle daemon wakes once a
 * second, not ten times. */
#define AUTHZ_TICK_MS      100
#define AUTHZ_HOUSEKEEP_MS 1000
/* Background work in flight at most, and refresh-ahead started per
 * housekeeping round: the directory's load stays bounded. */
#define AUTHZ_MAX_BACKGROUND 32
#define AUTHZ_REFRESH_BURST  8
/* Seconds between fail-back probes while a fallback server is active. */
#define AUTHZ_PROBE_EVERY 10
/* Seconds at least between index probes started by a new connection (a
 * reconnect or failover may meet a server rebuilt with other indexes);
 * start and reload always probe. */
#define AUTHZ_INDEXPROBE_EVERY 3600

/* A client waiting for a job. */
struct waiter {
	struct waiter *next;
	uint64_t ticket;
	enum authz_kind kind;
	int64_t deadline_ms; /* login_refresh: fall back then; 0 = none */
	char scope[PG_CONF_SCOPE_NAME];
};

/* A fail-back probe: its network part runs on a thread of its own, so a
 * hung server it waits for delays no lookup; the loop then applies the
 * outcome, which takes no I/O. */
#define PROBE_SKIP    1 /* rc[i]: in backoff, not probed */
#define PROBE_PENDING 2 /* rc[i]: not probed (yet); a pg_err once probed */
struct probe {
	struct pg_authz *a;
	pthread_t thread;
	uint32_t gen; /* of the directory settings it probes with */
	size_t n;     /* servers 0..n-1: those preferred to the active one */
	int rc[DIR_MAX_URIS];
	int done; /* under the authz mu: the thread has ended */
	struct dir_config cfg;
};

/* A lookup of user for the clients waiting on it (and the cache). */
struct job {
	struct job *next;   /* the done list */
	struct job *flight; /* the in-flight list */
	int store;          /* put the result in the cache */
	int urgent;         /* a client waits */
	struct waiter *waiters;
	int rc;
	struct dir_result *res;
	char user[];
};

struct pg_authz {
	struct pg_completion complete; /* parked clients' answers */
	/* Loop side. */
	struct authz_view view; /* policy, ttls, directory health, servers */
	struct pg_cache *cache;
	int64_t offline_since;
	struct job *flight;
	size_t background; /* jobs in flight without waiters */
	uint64_t hits, misses;
	int tick_ms;            /* the timer's period now */
	int64_t next_housekeep; /* time_mono_ms() */
	int64_t last_probe;
	struct probe *probing;         /* whose thread has not been joined */
	struct dir_config dir_cfg;     /* the engine's */
	uint32_t dir_gen;              /* its generation, for probes */
	struct indexprobe *indexprobe; /* the unindexed-search check */
	int64_t last_indexprobe;       /* time() it last started */
	uint64_t discoveries_seen;     /* status.discovery_searches then */
	struct dirasync *dir;          /* lookups, on this loop */
	struct job *done, **done_tail; /* finished, oldest first */
	/* epfd: what authz_done_fd() gives the loop, an epoll set of efd
	 * (threads' news) and the engine's descriptors. */
	int epfd, efd, tfd;
	pthread_mutex_t mu; /* a probe's done */
};

/* ---------------------------------------------------- authz_housekeep.c */

/* The timer fast (AUTHZ_TICK_MS) while a lookup is in flight, else slow
 * (AUTHZ_HOUSEKEEP_MS). 0, or PG_ERR_IO. */
int authz_timer_pace(struct pg_authz *a);

/* ------------------------------------------------------ authz_lookup.c */

/* Start a lookup of user, or join the one in flight. Returns the job,
 * which a caller may add a waiter to, or NULL (no memory, or background
 * work is at its bound). */
struct job *authz_lookup_submit(struct pg_authz *a, const char *user,
                                int urgent, int store);

/* The engine's report of a finished lookup (dirasync_done_fn; arg: the
 * struct pg_authz, tag: the job): onto the done list. */
void authz_lookup_done(void *arg, void *tag, int rc, struct dir_result *res);

/* Make progress on everything in flight (the loop found epfd readable)
 * and return the finished jobs, oldest first (linked by next), each off
 * the flight list; the caller frees them. A finished fail-back probe is
 * applied here. */
struct job *authz_lookup_collect(struct pg_authz *a);

/* Probe the servers preferred to the active one whose backoff has
 * expired, if any. Returns 1 if a probe began. */
int authz_lookup_start_probe(struct pg_authz *a);

/* Wait for a probe's thread and free it. Accepts NULL. */
void authz_lookup_end_probe(struct probe *p);

/* Take j off the flight list. */
void authz_lookup_unlink(struct pg_authz *a, struct job *j);

/* Free j, its waiters and its result. */
void authz_lookup_job_free(struct job *j);

/* ------------------------------------------------------------- authz.c */

/* Time the searches lookups will make with the settings in a->dir_cfg,
 * on a thread of its own, and warn if one looks unindexed (indexprobe.h).
 * A probe still running is left to finish (its thread is bounded) and
 * none is started. */
void authz_index_probe(struct pg_authz *a);

/* Hand w's client its answer through the completion callback. */
void authz_deliver(struct pg_authz *a, const struct waiter *w,
                   const struct pg_msg *resp, int rc);

#endif
