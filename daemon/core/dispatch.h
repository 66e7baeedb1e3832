/* SPDX-License-Identifier: BSD-3-Clause */
/* From a request line to a response line: parse, look the verb up in the
 * permission table, check the caller, run the handler; then, at once or
 * once a parked request is completed (pending.h), the one way out: audit,
 * format, log the decision, count. */
#ifndef PHIGUARD_DAEMON_DISPATCH_H
#define PHIGUARD_DAEMON_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/peer.h"
#include "core/pending.h"
#include "core/verbs.h"

/*
 * Answer one request line (len bytes, without "\n") from peer: exactly one
 * response line ending in "\n" goes to out (outsz >= PG_PROTO_MAX_LINE +
 * 1), its length to *outlen. The request buffer is wiped afterwards.
 * A request a handler parked (VERB_PARKED) writes nothing (*outlen 0)
 * and returns 0: its answer comes through dispatch_complete() later.
 * Returns 0 for an OK response, else the pg_err carried by the ERR.
 * Matches the pg_server_hooks request contract.
 */
int dispatch_line(struct pg_daemon *d, const struct pg_peer *peer,
                  const char *line, size_t len, char *out, size_t outsz,
                  size_t *outlen);

/*
 * The one completion path of a parked request (pending.h): rc 0 and resp
 * the answer, or rc a pg_err for a plain ERR (resp may be NULL). Audited
 * like any answer (replaced by a refusal if it grants what the trail
 * cannot record), or, if its client is gone, recorded as what the client
 * got: no answer (auditmap_late()), never a grant. Then formatted,
 * logged and counted as dispatch_line() does, and sent if the client
 * still waits. An unknown ticket is logged and dropped.
 */
void dispatch_complete(struct pg_daemon *d, uint64_t ticket, int rc,
                       const struct pg_msg *resp);

/* The completion callback that leads to dispatch_complete(d, ...), for
 * the parts that park requests (authz.h, audit.h). */
void dispatch_completion(struct pg_daemon *d, struct pg_completion *out);

/* Record an event born outside any request (daemon start and stop, a
 * SIGHUP reload): no user, no peer. */
void dispatch_audit_event(struct pg_daemon *d, const char *event,
                          const char *decision, const char *reason);

/*
 * Count repeated refusals into aggregates (auditagg.h), handed out to the
 * trail by a timer on d's server. 0, or PG_ERR_NOMEM / PG_ERR_IO
 * (logged). Stop hands out every aggregate still held (before the
 * daemon-stop record) and frees; it accepts a daemon that never started.
 */
int dispatch_start_aggregation(struct pg_daemon *d);
void dispatch_stop_aggregation(struct pg_daemon *d);

/* Forget the requests still parked (at shutdown, after the parts that
 * hold them have answered). */
void dispatch_free_parked(struct pg_daemon *d);

#endif
