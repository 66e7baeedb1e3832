/* SPDX-License-Identifier: BSD-3-Clause */
/* From a request line to a response line: parse, look the verb up in the
 * permission table, check the caller, run the handler, log the decision. */
#ifndef PHIGUARD_DAEMON_DISPATCH_H
#define PHIGUARD_DAEMON_DISPATCH_H

#include <stddef.h>

#include "peer.h"
#include "verbs.h"

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

#endif
