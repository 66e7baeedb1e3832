/* SPDX-License-Identifier: BSD-3-Clause */
/* The root-only admin verbs: STATUS (counters) and UNLOCK (lift a lockout). */
#include "config.h"

#include "authz.h"
#include "err.h"
#include "server.h"
#include "state.h"
#include "statelog.h"
#include "verbs.h"

int verb_status(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp)
{
	struct pg_server_stats ss;
	size_t users, locked;
	int rc;

	server_stats(d->server, &ss);
	state_counts(d->state, req->now, &users, &locked);
	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = proto_add(resp, "version", PACKAGE_VERSION)) != 0 ||
	    (rc = proto_add_i64(resp, "uptime", ss.uptime_s)) != 0 ||
	    (rc = proto_add_u64(resp, "users", users)) != 0 ||
	    (rc = proto_add_u64(resp, "locked", locked)) != 0 ||
	    (rc = proto_add_u64(resp, "clients", ss.clients)) != 0 ||
	    (rc = proto_add_u64(resp, "requests", ss.requests)) != 0 ||
	    (rc = proto_add_u64(resp, "errors", ss.errors)) != 0 ||
	    (rc = proto_add(resp, "state",
	                    state_recovery(d->state, req->now, NULL, NULL)
	                        ? "recovered"
	                        : "ok")) != 0)
		return rc;
	return d->authz != NULL ? authz_status(d->authz, resp) : 0;
}

int verb_unlock(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp)
{
	int was_locked, changed, rc;

	if ((rc = state_unlock(d->state, req->user, req->now, &was_locked,
	                       &changed)) != 0)
		return rc;
	/* Durable before OK, so an admin's unlock survives a crash. */
	if (changed &&
	    (rc = statelog_record(d->log, d->state, req->user, req->now)) != 0)
		return rc;
	proto_msg_init(resp, PG_VERB_OK);
	return proto_add(resp, "was_locked", was_locked ? "yes" : "no");
}
