/* SPDX-License-Identifier: BSD-3-Clause */
/* Authorization in phiguardd: the policy, the directory cache and the
 * directory lookups on the event loop (connecting and fail-back probes on
 * threads of their own), and the answers to AUTHZ, CHECK and EXPLAIN. */
#ifndef PHIGUARD_DAEMON_AUTHZ_H
#define PHIGUARD_DAEMON_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "proto.h"

struct pg_authz;
struct pg_completion;

/* authz_answer() parked the request: its answer comes through the
 * completion callback given to authz_new(). */
#define AUTHZ_PARKED 1

/* How long an AUTHZ waits for its login_refresh before it falls back to
 * the cached entry: well inside the PAM client's daemon_timeout. */
#define AUTHZ_LOGIN_REFRESH_MS 1000

enum authz_kind { AUTHZ_LOGIN, AUTHZ_CHECK, AUTHZ_EXPLAIN };

struct authz_query {
	enum authz_kind kind;
	const char *user;  /* validated by dispatch */
	const char *scope; /* AUTHZ_CHECK only */
	int64_t now;       /* wall clock, seconds */
	uint64_t ticket;   /* the request's, to complete it with if parked */
};

/*
 * The directory settings and policy of conf (which has [ldap]), checked
 * as a whole: everything that can be wrong with them is found here, so
 * a reload can refuse a bad file before anything changes. Returns 0, or
 * PG_ERR_CONFIG with "[section]: key: reason" in err, or PG_ERR_NOMEM.
 * On 0, warn (warnlen bytes) holds what is valid but will not work as
 * meant ("" if nothing): [ldap] timeouts that do not fit inside the PAM
 * module's default daemon_timeout. authz_new() and authz_reconfigure()
 * log the same warning.
 */
int authz_check_config(const struct pg_conf *conf, char *err, size_t errlen,
                       char *warn, size_t warnlen);

/*
 * Start authorization for conf (checked as above; no directory I/O before
 * the first question but the index probe's). Parked requests are answered
 * through done (copied; pending.h). The caller's loop watches
 * authz_done_fd() (authz_drain() when readable) and authz_timer_fd()
 * (authz_tick()). Returns 0 and *out, PG_ERR_CONFIG (err), PG_ERR_NOMEM
 * or PG_ERR_IO.
 */
int authz_new(const struct pg_conf *conf, const struct pg_completion *done,
              struct pg_authz **out, char *err, size_t errlen);

/* Readable when lookups have news (a server's answer, a connection made,
 * a search's deadline): authz_drain() makes progress on them and answers
 * the clients of those done. */
int authz_done_fd(const struct pg_authz *a);
void authz_drain(struct pg_authz *a);

/* Readable every 100 ms while a lookup is in flight, else every second:
 * authz_tick() answers logins whose refresh is late from the cache, and
 * once a second refreshes ahead and probes. */
int authz_timer_fd(const struct pg_authz *a);
void authz_tick(struct pg_authz *a);

/* Stop (waiting for connecting and fail-back probe threads in progress,
 * each bounded by the directory timeouts) and free all.
 * Clients still parked get an ERR (unavailable) through the completion
 * callback. Accepts NULL. */
void authz_free(struct pg_authz *a);

/*
 * Apply a new configuration atomically: the policy and cache settings at
 * once (cached groups are kept: scopes come from the policy at answer
 * time), the directory settings too: lookups in flight start again with
 * them. On error
 * nothing changes. Returns 0, or as authz_check_config().
 */
int authz_reconfigure(struct pg_authz *a, const struct pg_conf *conf, char *err,
                      size_t errlen);

/*
 * Answer q into *resp (0), or park the request under q->ticket
 * (AUTHZ_PARKED) and complete it later, once the directory has spoken or
 * the login_refresh deadline has passed. Never blocks. Errors:
 * PG_ERR_NOMEM.
 */
int authz_answer(struct pg_authz *a, const struct authz_query *q,
                 struct pg_msg *resp);

/* Drop user's cached entry (NULL: all). Returns how many went. */
size_t authz_flush(struct pg_authz *a, const char *user);

/* Add the STATUS fields of proto.h to resp. 0 or PG_ERR_TOOLONG. */
int authz_status(struct pg_authz *a, struct pg_msg *resp);

#endif
