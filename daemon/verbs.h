/* SPDX-License-Identifier: BSD-3-Clause */
/* The verb handlers and what they are given. Each handler implements one
 * verb of common/proto.h; dispatch.c has already checked the caller. */
#ifndef PHIGUARD_DAEMON_VERBS_H
#define PHIGUARD_DAEMON_VERBS_H

#include <stdint.h>

#include "peer.h"
#include "proto.h"

struct pg_conf;
struct pg_server;
struct pg_state;
struct pg_statelog;

/* Everything a handler may use; owned by main.c, borrowed by handlers. */
struct pg_daemon {
	const struct pg_conf *conf;
	struct pg_state *state;
	struct pg_statelog *log;
	const struct pg_server *server; /* for STATUS counters */
	unsigned long seq;              /* request ids for log lines */
};

/* One request as a handler sees it. */
struct pg_request {
	const struct pg_peer *peer; /* SO_PEERCRED of the connection */
	const struct pg_msg *msg;   /* the parsed request */
	const char *user; /* user=, validated and permitted; NULL if the
	                     verb takes no user */
	int64_t now;      /* wall clock, unix seconds, read once */
};

/*
 * A handler either fills *resp (OK, or an ERR that carries extra fields)
 * and returns 0, or returns a negative pg_err for dispatch to answer as a
 * plain ERR. A response never carries a secret: it is logged verbatim.
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

#endif
