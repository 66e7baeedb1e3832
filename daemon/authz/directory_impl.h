/* SPDX-License-Identifier: BSD-3-Clause */
/* Inside the directory client: a handle's servers and their health, for
 * the blocking lookup (directory.c) and the event loop's (dirasync.c),
 * which keep them the same way. Not for use outside daemon/authz/. */
#ifndef PHIGUARD_DAEMON_DIRECTORY_IMPL_H
#define PHIGUARD_DAEMON_DIRECTORY_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <ldap.h>

#include "authz/dir_config.h"
#include "authz/dirfound.h"
#include "authz/directory.h"
#include "authz/ldapconn.h"

struct server {
	struct ldapconn conn; /* its URI and connection callbacks */
	LDAP *ld;          /* bound connection kept between lookups, or NULL */
	uint64_t conn_gen; /* counts the connections closed */
	unsigned failures; /* consecutive */
	int64_t retry_at;  /* time_mono_ms() before which it is skipped */
	int last_err;
	/* What discovery found on the current connection (a set of enum
	 * membership_attr); valid while discovered_at != 0. */
	unsigned membership;
	int64_t discovered_at;
	unsigned logged; /* membership + 1 as last logged; 0: never */
};

/* Told before a connection of server index is closed (dir_srv_close). */
typedef void dir_close_hook(void *arg, size_t index, LDAP *ld);

struct dir {
	struct dir_config cfg;
	struct server srv[DIR_MAX_URIS];
	size_t nsrv;
	size_t active;
	uint64_t rng;
	uint64_t lookups, searches, discovery_searches;
	dir_close_hook *on_close; /* NULL: none */
	void *on_close_arg;
};

/* One server's turn at a request: its time budget and what it costs. */
struct attempt {
	struct ldapconn_call call; /* settings, budget, last libldap code */
	const struct dir *d;
	struct server *s;
	unsigned searches;
	unsigned discovery_searches; /* of those, finding membership */
};

/* A turn at server s of d, its budget (network_timeout_ms +
 * search_timeout_ms) starting now. */
void dir_attempt_init(struct attempt *a, const struct dir *d, struct server *s);

/* Close s's connection, if any (the on_close hook first); the next one
 * discovers again. */
void dir_srv_close(struct dir *d, struct server *s);

/* s failed with err (a pg_err): closed, backoff with jitter, logged. */
void dir_mark_failed(struct dir *d, struct server *s, int err);

/* Server index answered a lookup: healthy, and the active server (the
 * previous one's connection closed, the change logged). */
void dir_answered(struct dir *d, size_t index);

/* Whether s is in backoff at now (time_mono_ms()). */
int dir_in_backoff(const struct server *s, int64_t now);

/* The order lookups try the servers in: the active one, then the others
 * in URI order, into order (room for DIR_MAX_URIS). Returns how many. */
size_t dir_order(const struct dir *d, size_t *order);

/* Whether s's connection must find (again) which membership attributes
 * the groups use before a group search: once per connection, and again
 * after a while when none was found. */
int dir_discovery_due(const struct dir *d, const struct server *s, int64_t now);

/* What discovery found on s (a set of enum membership_attr), as of now;
 * logged when it changed. */
void dir_discovery_done(const struct dir *d, struct server *s, unsigned set,
                        int64_t now);

/* How a finished lookup ends on d (as dir_lookup() ends): its searches
 * counted, and on success (rc 0) the result taken from f into *out with
 * its searches and the active server's URI. f is cleared either way. */
void dir_lookup_end(struct dir *d, int rc, unsigned searches,
                    struct dirfound *f, struct dir_result **out);

#endif
