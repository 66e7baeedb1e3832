/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardd's LDAP directory client: a user's flattened group set, found
 * upward from the user, over failover servers with bounded waits. */
#ifndef PHIGUARD_DAEMON_DIRECTORY_H
#define PHIGUARD_DAEMON_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "authz/dir_config.h"
#include "authz/membership.h"

/* A lookup that finds more groups than this fails with PG_ERR_TOOLONG
 * rather than hand back a set it had to cut short. */
#define DIR_MAX_GROUPS 1024
/* Entries a user search may return: every case variant of a name is
 * fetched so that the exact one is found among them. */
#define DIR_USER_MATCH_MAX 16

/* A group the user belongs to, directly (depth 0) or through depth nested
 * groups. */
struct dir_group {
	char *dn; /* as the server returned it */
	char *cn; /* value of a cn= RDN, else the cn attribute;
	           * NULL if neither */
	unsigned depth;
};

/* Result of one successful lookup; all owned by the result. */
struct dir_result {
	char *user_dn;
	struct dir_group *groups; /* breadth-first order, no duplicates */
	size_t ngroups;
	unsigned searches;        /* LDAP searches issued, all servers tried */
	char server[DIR_URI_MAX]; /* URI of the server that answered */
};

/* Health of one server, as dir_status() reports it. */
struct dir_server_status {
	char uri[DIR_URI_MAX];
	int connected;       /* a bound connection is kept open */
	int available;       /* 0 while in backoff after a failure */
	unsigned failures;   /* consecutive */
	int64_t retry_in_ms; /* until the next attempt is allowed; 0 if now */
	int last_err;        /* pg_err of the last failure, 0 if none */
	/* What the current connection found the groups to use (a set of
	 * enum membership_attr, authz/membership.h), if it looked yet. */
	int discovered;
	unsigned membership;
};

struct dir_status {
	size_t nservers;
	size_t active; /* index of the server lookups go to first */
	struct dir_server_status servers[DIR_MAX_URIS];
	uint64_t lookups;  /* dir_lookup() calls */
	uint64_t searches; /* LDAP searches issued, probes excluded */
	/* Searches finding which membership attributes the groups use: a few
	 * per connection, counted apart from lookups' (and from searches). */
	uint64_t discovery_searches;
};

struct dir;

/*
 * Create a client for a configuration that passes dir_config_check()
 * (which it runs; the reason goes to err). No network I/O happens here:
 * connections are made by the first dir_lookup(). On
 * success *out is set; free it with dir_free(). Errors: PG_ERR_CONFIG,
 * PG_ERR_NOMEM.
 *
 * A handle may be used by one thread at a time; separate handles are
 * independent (libldap itself is thread-safe) and there is no other global
 * state. All calls below block, for at most the timeouts described at
 * dir_lookup(): run them on a thread of their own, never on an event loop
 * that serves clients (dirasync.h makes the same lookup from a loop, on
 * a handle of its own). The process must ignore SIGPIPE (phiguardd does): a
 * server may close a connection that libldap then writes to.
 */
int dir_new(const struct dir_config *cfg, struct dir **out, char *err,
            size_t errlen);

/* Close every connection and free the handle. Accepts NULL. */
void dir_free(struct dir *d);

/*
 * Find user (checked with username_check) and its groups. Servers are tried
 * starting with the active one (the one that last answered, at first the
 * first URI), then the others in URI order; a server in backoff after a
 * failure is skipped. One bound connection per server is kept open and
 * reused; a connection found closed by the server (idle timeout) is
 * reopened at once, one time. A server that fails (refused, closed, timed
 * out, TLS refused) is put in backoff (retry_min_ms doubling up to
 * retry_max_ms, with jitter down to half) and the whole lookup restarts on
 * the next server; the one that answers becomes the active server.
 *
 * Groups are found only upward from the user, never by listing members:
 * direct groups per cfg.membership (memberOf values on the user entry, or
 * one search for member/uniqueMember = user DN and/or memberUid = user),
 * then one search per nesting level for groups having any group of the
 * previous level as member or uniqueMember, up to nesting_depth levels,
 * skipping groups already found (cycles end there). Only the attributes
 * the directory's groups use are searched (authz/membership.h): once per
 * connection, before its first group search, one search of at most one
 * entry per group class (groupOfNames, groupOfUniqueNames, posixGroup)
 * under the group base finds which have entries; while none has, no group
 * is searched and the lookup looks again after a minute. These searches
 * are counted in dir_status's discovery_searches, not in the result's. A level
 * of more than 64 groups is split into several searches. Every value placed in
 * a filter is escaped per RFC 4515.
 *
 * Time: one server costs at most network_timeout_ms + search_timeout_ms
 * in all: connecting and the ldaps:// TLS handshake are bounded by
 * network_timeout_ms, each bind, StartTLS and search by search_timeout_ms
 * (and by what is left of the server's budget). A lookup therefore takes
 * at most that times the number of servers tried. While a TLS handshake
 * runs, a short-lived watchdog thread (all signals blocked) enforces its
 * deadline, because libldap with GnuTLS does not.
 *
 * Returns 0 and sets *out (free with dir_result_free()). Errors:
 * PG_ERR_BAD_USER (name fails username_check), PG_ERR_NOTFOUND (no entry
 * has a user_attr value equal to user byte for byte: entries the server
 * matched in another case do not count), PG_ERR_AMBIGUOUS (more than one
 * entry has, or over DIR_USER_MATCH_MAX entries match), PG_ERR_UNAVAIL (no
 * server could be reached, or all are in backoff), PG_ERR_TIMEOUT (the last
 * server tried timed out), PG_ERR_CONFIG (a server refused our credentials or
 * access, or the password file failed its checks; no backoff, as the server is
 * fine), PG_ERR_TOOLONG (over DIR_MAX_GROUPS groups, or a server size
 * limit hit), PG_ERR_NOMEM. *out is untouched on error.
 */
int dir_lookup(struct dir *d, const char *user, struct dir_result **out);

/* Free a lookup result. Accepts NULL. */
void dir_result_free(struct dir_result *r);

/*
 * The network part of a fail-back check: probe server index of cfg (a
 * configuration that passed dir_config_check(), e.g. a copy of the one a
 * handle was made from) on a connection of its own, closed before this
 * returns: TLS as configured, an anonymous read of the root DSE, then the
 * configured bind. It touches no handle, so it may run on a thread of its
 * own while another thread does lookups; it blocks for at most
 * network_timeout_ms + search_timeout_ms. Returns 0 if the server
 * answered, else as dir_lookup() (PG_ERR_TIMEOUT, PG_ERR_UNAVAIL,
 * PG_ERR_CONFIG, PG_ERR_NOMEM), or PG_ERR_INVAL (no such server).
 */
int dir_probe_server(const struct dir_config *cfg, size_t index);

/*
 * Apply to d what dir_probe_server() returned (rc) for server index of
 * d's configuration, without network I/O. Only a server still preferred
 * to the active one is affected (otherwise lookups have learned more
 * since): a failure puts it (further) into backoff, as a failed lookup
 * does (credentials refused: last_err only); an answer makes it healthy
 * and the active server, and closes the previous one's connection (the
 * new one connects at the next lookup). Returns 1 if it failed back to
 * index, else 0.
 */
int dir_probe_apply(struct dir *d, size_t index, int rc);

/*
 * Both of the above in one call, for each more preferred server whose
 * backoff has expired, in URI order, until one answers: a fail-back check
 * for a caller that may block (up to the time above per server probed).
 * Returns 0 if the first URI's server is the active one (now or already;
 * no I/O then), PG_ERR_UNAVAIL if a less preferred one still is.
 */
int dir_probe(struct dir *d);

/* Searches per attribute timed by dir_index_times(); the fastest counts. */
#define DIR_INDEX_SAMPLES 3

/* What dir_index_times() measured, in microseconds. */
struct dir_index_times {
	/* Attributes timed (enum membership_attr, authz/membership.h): the
	 * ones lookups with this configuration search. */
	unsigned attrs;
	int64_t baseline_us; /* objectClass=<no such class>: a round trip */
	/* Per membership_kind(i): attr=<a value nothing has>; -1 if not
	 * timed. */
	int64_t attr_us[MEMBERSHIP_NKINDS];
	/* The last timed search ran out of search_timeout_ms (its figure is
	 * the time it took); later ones were not timed. */
	int timed_out;
};

/*
 * Whether the searches lookups will make are answered from an index: on a
 * connection of its own to server index of cfg (closed before return),
 * time DIR_INDEX_SAMPLES searches of at most one entry under the group
 * base that match nothing: first an objectClass equality with a class no
 * schema defines, then one per membership attribute lookups will search
 * (found as dir_lookup() finds them) with a value no entry holds. Blocks
 * for at most network_timeout_ms + search_timeout_ms: run it off the
 * event loop. Touches no handle. Returns 0 and sets *out (also when a
 * search timed out: see timed_out); else as dir_probe_server().
 */
int dir_index_times(const struct dir_config *cfg, size_t index,
                    struct dir_index_times *out);

/* Snapshot of per-server health and counters into *st. */
void dir_status(const struct dir *d, struct dir_status *st);

#endif
