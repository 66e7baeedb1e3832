/* SPDX-License-Identifier: BSD-3-Clause */
/* The root-only admin verbs: STATUS (counters), UNLOCK (lift a lockout) and
 * AUDIT (the trail's head, rotation). */
#include "config.h"

#include <string.h>

#include "audit.h"
#include "auditagg.h"
#include "authz.h"
#include "err.h"
#include "server.h"
#include "state.h"
#include "statelog.h"
#include "verbs.h"

/* STATUS's audit=ok|failed [audit_reason=] audit_head= audit_records=
 * audit_lost= audit_dropped= audit_aggregated= audit_busy=. */
static int audit_fields(struct pg_daemon *d, struct pg_msg *resp)
{
	struct audit_status st;
	int rc;

	audit_get_status(d->audit, &st);
	if ((rc = proto_add(resp, "audit", st.failed ? "failed" : "ok")) != 0 ||
	    (st.failed &&
	     (rc = proto_add(resp, "audit_reason", st.reason)) != 0) ||
	    (rc = proto_add(resp, "audit_head", st.head)) != 0 ||
	    (rc = proto_add_u64(resp, "audit_records", st.records)) != 0 ||
	    (rc = proto_add_u64(resp, "audit_lost", st.lost)) != 0 ||
	    (rc = proto_add_u64(resp, "audit_dropped", st.dropped)) != 0 ||
	    (rc = proto_add_u64(resp, "audit_aggregated",
	                        d->agg != NULL ? auditagg_counted(d->agg)
	                                       : 0)) != 0)
		return rc;
	return proto_add_u64(resp, "audit_busy", d->audit_busy);
}

int verb_status(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp)
{
	char verbs[VERBSTATS_MAX * 80];
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
	if (d->audit != NULL && (rc = audit_fields(d, resp)) != 0)
		return rc;
	if (d->authz != NULL && (rc = authz_status(d->authz, resp)) != 0)
		return rc;
	/* Counted when answered: this STATUS is not in its own figures. */
	if ((rc = verbstats_format(&d->stats, verbs, sizeof(verbs))) != 0)
		return rc;
	return proto_add(resp, "verbs", verbs);
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

int verb_audit(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp)
{
	const char *action = proto_get(req->msg, "action");
	struct audit_status st;
	int rc;

	if (action == NULL)
		return PG_ERR_MISSING;
	if (d->audit == NULL)
		return PG_ERR_UNAVAIL;
	if (strcmp(action, "head") == 0) {
		audit_get_status(d->audit, &st);
		proto_msg_init(resp, PG_VERB_OK);
		if ((rc = proto_add(resp, "head", st.head)) != 0 ||
		    (rc = proto_add(resp, "file", st.file)) != 0)
			return rc;
		return proto_add_u64(resp, "records", st.records);
	}
	if (strcmp(action, "rotate") != 0)
		return PG_ERR_INVAL;
	/* Answered by the writer once the new file has its first line. */
	if (!audit_rotate_room(d->audit))
		return PG_ERR_BUSY;
	if ((rc = audit_rotate(d->audit, server_park(d->server),
	                       (long)req->peer->uid, "request")) != 0)
		return rc;
	return VERB_PARKED;
}
