/* SPDX-License-Identifier: BSD-3-Clause */
/* Inside the loop's directory lookups: the engine (dirasync.c: the
 * servers' connections, their threads, the pump, the deadline timer) and
 * the steps of one lookup (dirsteps.c: dir_lookup()'s walk as a state
 * machine, one search at a time). Not for use outside daemon/authz/. */
#ifndef PHIGUARD_DAEMON_DIRASYNC_IMPL_H
#define PHIGUARD_DAEMON_DIRASYNC_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lber.h>
#include <ldap.h>

#include "authz/dirasync.h"
#include "authz/directory_impl.h"
#include "authz/dirfound.h"
#include "authz/dirquery.h"
#include "authz/ldapconn.h"

/* A lookup whose connections keep closing under it (failovers, fail-backs)
 * starts again at most this often before it gives up. */
#define DIRASYNC_MAX_RESTARTS (2 * DIR_MAX_URIS + 2)

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

/* ------------------------------------------------------------ dirasync.c */

/* lk waits for its server's connection: a thread makes it, within lk's
 * budget, unless one is on its way (lk then shares its budget). */
void dirasync_wait_connection(struct dirasync *e, struct alookup *lk);

/* The lookup is over with rc (dir_lookup()'s end): reported at the end
 * of the pump, then freed. */
void dirasync_finish(struct dirasync *e, struct alookup *lk, int rc);

/* ------------------------------------------------------------ dirsteps.c */

/* The connection lk searches on (its server's). */
LDAP *dirsteps_ld(const struct dirasync *e, const struct alookup *lk);

/* The turn's first step on a connection that is up: the user search. */
void dirsteps_begin(struct dirasync *e, struct alookup *lk);

/* An entry m of lk's search (kept until the search ends). 0 or
 * PG_ERR_NOMEM (m is the caller's then). */
int dirsteps_entry(struct alookup *lk, LDAPMessage *m);

/* lk's search ended with result code lrc: the next step. */
void dirsteps_result(struct dirasync *e, struct alookup *lk, int lrc);

/* The turn at lk's server ended with rc (a pg_err): dir_lookup()'s
 * loop body (the idle reconnect, backoff, the next server, the end). */
void dirsteps_turn_over(struct dirasync *e, struct alookup *lk, int rc);

/* The next server in lk's order not in backoff, or the end. */
void dirsteps_next_server(struct dirasync *e, struct alookup *lk);

/* From the first server again: its connection closed under it. */
void dirsteps_restart(struct dirasync *e, struct alookup *lk);

/* Lookups waiting for a discovery no longer being made go on. */
void dirsteps_release_waiters(struct dirasync *e);

/* Free what lk's turn built (searches, entries, groups). */
void dirsteps_reset(struct alookup *lk);

/* Free lk (not its result). */
void dirsteps_free(struct alookup *lk);

#endif
