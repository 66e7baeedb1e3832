/* SPDX-License-Identifier: BSD-3-Clause */
/* Parked requests: a handler that cannot answer at once (it waits for the
 * directory worker, the audit writer, ...) parks its request under the
 * request's ticket, and the part that does the work hands its typed result
 * back later through a completion callback the core gave it. The core
 * (dispatch.c) keeps one struct pending per parked request: what the one
 * completion path needs to audit, format, log, count and send. */
#ifndef PHIGUARD_DAEMON_PENDING_H
#define PHIGUARD_DAEMON_PENDING_H

#include <stdint.h>

#include "audit/auditmap.h"
#include "core/peer.h"
#include "proto.h"

/*
 * How a part below the core hands back the result of a parked request:
 * done(arg, ticket, rc, resp) with rc 0 and resp the answer (OK, or an ERR
 * carrying its own text), or rc a negative pg_err for a plain ERR (resp
 * may then be NULL). Called on the event loop's thread, never from inside
 * the handler call that parked ticket; once per ticket.
 */
struct pg_completion {
	void (*done)(void *arg, uint64_t ticket, int rc,
	             const struct pg_msg *resp);
	void *arg;
};

/* One parked request; at most one per connection (the server reads no
 * further request from a connection while it is parked), so the registry
 * is bounded by max_clients. One whose client hangs up stays until its
 * part answers, which every part does within a bounded wait (directory
 * timeouts, login_refresh, the audit writer's rotation). */
struct pending {
	struct pending *next;
	uint64_t ticket;
	struct pg_peer peer;
	int has_user;        /* req's user= is the validated user */
	int64_t start_us;    /* when its line was read (verbstats) */
	struct audit_req ar; /* its audit context (auditmap.h) */
	struct pg_msg req;   /* the request: verb and logged keys */
};

/*
 * Park: a new pending for ticket with a copy of req (user: the validated
 * user= or NULL) in front of *list. Returns 0, or PG_ERR_NOMEM.
 */
int pending_add(struct pending **list, uint64_t ticket,
                const struct pg_peer *peer, const struct pg_msg *req,
                const char *user, const struct audit_req *ar, int64_t start_us);

/* Take ticket's pending out of *list (the caller frees it), or NULL. */
struct pending *pending_take(struct pending **list, uint64_t ticket);

/* The validated user of p's request, or NULL. */
const char *pending_user(const struct pending *p);

/* Copy from into to (a pg_msg points into its own buffer: field by
 * field). Returns 0, or as proto_add(), which cannot happen for a message
 * that fitted a pg_msg. */
int pending_copy_msg(struct pg_msg *to, const struct pg_msg *from);

/* Free every pending of *list (at shutdown) and empty it. */
void pending_free_all(struct pending **list);

#endif
