/* SPDX-License-Identifier: BSD-3-Clause */
/* From a request line to a response line: parse, look the verb up in the
 * permission table, check the caller, run the handler, log the decision. */
#ifndef PHIGUARD_DAEMON_DISPATCH_H
#define PHIGUARD_DAEMON_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/peer.h"
#include "core/verbs.h"

/*
 * Answer one request line (len bytes, without "\n") from peer: exactly one
 * response line ending in "\n" goes to out (outsz >= PG_PROTO_MAX_LINE +
 * 1), its length to *outlen. The request buffer is wiped afterwards.
 * A request a handler parked (VERB_PARKED) writes nothing (*outlen 0)
 * and returns 0: its answer goes through server_answer() later.
 * Returns 0 for an OK response, else the pg_err carried by the ERR.
 * Matches the pg_server_hooks request contract.
 */
int dispatch_line(struct pg_daemon *d, const struct pg_peer *peer,
                  const char *line, size_t len, char *out, size_t outsz,
                  size_t *outlen);

/* Parked requests remembered for their audit record, at most. */
#define DISPATCH_MAX_PARKED 4096

/*
 * The late answer of a parked request (the pg_server_hooks answering
 * contract): recorded in the audit trail like any answer, and replaced by
 * a refusal if it grants what the trail cannot record; or, if its client
 * is gone, recorded as what the client got: no answer (auditmap_late()),
 * never as a grant. line is len bytes with its "\n"; the line to send goes
 * to out.
 */
int dispatch_answered(struct pg_daemon *d, uint64_t ticket, int gone,
                      const char *line, size_t len, int rc, char *out,
                      size_t outsz, size_t *outlen);

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

/* Forget the parked requests' audit contexts (at shutdown). */
void dispatch_free_parked(struct pg_daemon *d);

#endif
