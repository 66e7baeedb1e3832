/* SPDX-License-Identifier: BSD-3-Clause */
/* The verb handlers and what they are given. Each handler implements one
 * verb of common/proto.h; dispatch.c has already checked the caller. */
#ifndef PHIGUARD_DAEMON_VERBS_H
#define PHIGUARD_DAEMON_VERBS_H

#include <stdint.h>

#include "core/peer.h"
#include "proto.h"
#include "core/verbstats.h"

struct pg_audit;
struct pg_auditagg;
struct pg_authz;
struct pg_tokstore;
struct pg_alert;
struct pg_conf;
struct pending;
struct pg_server;
struct pg_state;
struct pg_statelog;

/* Everything a handler may use; owned by main.c, borrowed by handlers. */
struct pg_daemon {
	const struct pg_conf *conf;
	struct pg_state *state;
	struct pg_statelog *log;
	struct pg_server *server; /* STATUS counters */
	struct pg_authz *authz;   /* NULL: no [ldap] configured */
	/* The token store in the directory: NULL with the file store. */
	struct pg_tokstore *tokens;
	struct pg_audit *audit; /* the audit trail (NULL only in tests) */
	struct pg_alert *alert; /* threat detection (alert.h); NULL
	                           only in tests */
	/* Repeated events counted into aggregates (auditagg.h), and the
	 * timer (a timerfd, -1: none) that hands them out (dispatch.c). */
	struct pg_auditagg *agg;
	int agg_timer;
	int agg_armed;
	uint64_t audit_busy; /* non-root requests turned away (STATUS) */
	/* Parked requests, awaiting dispatch_complete() (pending.h): at
	 * most one per connection. */
	struct pending *pending;
	unsigned long seq;      /* request ids: log lines, tickets */
	struct verbstats stats; /* per-verb counts and latency (STATUS) */
	/* Re-read the configuration file (RELOAD, SIGHUP). 0, or
	 * PG_ERR_CONFIG with "file:line: key: reason" in err and the old
	 * configuration in force. */
	int (*reload)(struct pg_daemon *d, char *err, size_t errlen);
	void *reload_arg;
};

/* One request as a handler sees it. */
struct pg_request {
	const struct pg_peer *peer; /* SO_PEERCRED of the connection */
	const struct pg_msg *msg;   /* the parsed request */
	const char *user; /* user=, validated and permitted; NULL if the
	                     verb takes no user */
	int64_t now;      /* wall clock, unix seconds, read once */
	uint64_t ticket;  /* never 0: the one to complete it with if parked */
};

/* A handler parked its request: the part doing the work completes
 * req->ticket later through the completion callback the core gave it
 * (pending.h), and dispatch writes nothing now. */
#define VERB_PARKED 1

/*
 * A handler either fills *resp (OK, or an ERR that carries extra fields)
 * and returns 0, or returns a negative pg_err for dispatch to answer as a
 * plain ERR, or VERB_PARKED. A response never carries a secret: it is
 * logged verbatim.
 */
int verb_preauth(struct pg_daemon *d, const struct pg_request *req,
                 struct pg_msg *resp);
int verb_claim(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp);
int verb_report(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp);
int verb_status(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp);
int verb_unlock(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp);
int verb_authz(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp);
int verb_check(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp);
int verb_session(struct pg_daemon *d, const struct pg_request *req,
                 struct pg_msg *resp);
int verb_explain(struct pg_daemon *d, const struct pg_request *req,
                 struct pg_msg *resp);
int verb_flush(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp);
int verb_reload(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp);
int verb_audit(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp);

/*
 * For the verbs that change a user's login state (verbs_auth.c): resp is
 * the OK answer; make req->user's entry durable before it is sent
 * (statelog_submit; after, or NULL, runs once it is answered). Returns
 * VERB_PARKED (answered once durable; after is taken), 0 (send resp now)
 * or a negative pg_err (send that instead).
 */
struct statelog_after;
int verb_persist(struct pg_daemon *d, const struct pg_request *req,
                 const struct pg_msg *resp, const struct statelog_after *after);

/*
 * UNLOCK with the token store in the directory (verbs_auth.c): resp is
 * the local answer (changed: the local state changed); clear the
 * failures in the directory too, then make the local change durable.
 * Returns VERB_PARKED or a negative pg_err.
 */
int verb_unlock_site(struct pg_daemon *d, const struct pg_request *req,
                     const struct pg_msg *resp, int changed);

/*
 * For the verbs that need [ldap] (verbs_authz.c, FLUSH): without it there
 * is nothing to decide from, an error rather than a deny, so that a
 * client can tell "not set up" from "not allowed" (the module then
 * applies its daemon_down policy). Returns 1 with the ERR in resp, or 0
 * when a directory is configured.
 */
int verb_no_directory(const struct pg_daemon *d, struct pg_msg *resp);

#endif
