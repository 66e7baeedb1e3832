/* SPDX-License-Identifier: BSD-3-Clause */
/* The root-only admin verbs: STATUS (counters, push suspensions), UNLOCK
 * (lift a lockout or push suspension), AUDIT (the trail's head,
 * rotation), FLUSH (drop cached directory entries) and RELOAD (re-read
 * the configuration). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/auditagg.h"
#include "authz/authz.h"
#include "conf.h"
#include "err.h"
#include "tokens/tokstore.h"
#include "core/server.h"
#include "login/state.h"
#include "login/statelog.h"
#include "strbuf.h"
#include "username.h"
#include "core/verbs.h"

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

/* The users whose push is suspended: all counted, the first listed as
 * "user until" LF items while they fit PG_PROTO_STATUS_LIST_MAX bytes. */
struct suspended {
	int64_t now;
	uint64_t n;
	struct strbuf sb; /* over list */
	char list[PG_PROTO_STATUS_LIST_MAX];
};

static int add_suspended(const struct pg_user_rec *rec, void *arg)
{
	struct suspended *s = arg;
	size_t start = strbuf_len(&s->sb);

	if (s->now >= rec->push_until)
		return 0;
	s->n++;
	/* Whole items only: one that does not fit ends the list. */
	if (start > 0)
		strbuf_putc(&s->sb, '\n');
	strbuf_puts(&s->sb, rec->user);
	strbuf_putc(&s->sb, ' ');
	strbuf_put_i64(&s->sb, rec->push_until);
	if (strbuf_finish(&s->sb) != 0)
		strbuf_truncate(&s->sb, start);
	return 0;
}

/* STATUS's push_suspended=<n> and, when n > 0, push_suspended_users=. */
static int suspended_fields(const struct pg_state *st, int64_t now,
                            struct pg_msg *resp)
{
	struct suspended s;
	int rc;

	s.now = now;
	s.n = 0;
	strbuf_init(&s.sb, s.list, sizeof(s.list));
	state_foreach(st, add_suspended, &s);
	if ((rc = proto_add_u64(resp, "push_suspended", s.n)) != 0 || s.n == 0)
		return rc;
	return proto_add(resp, "push_suspended_users", s.list);
}

/* STATUS's statelog_commits= statelog_records=: group commit at work. */
static int statelog_fields(struct pg_daemon *d, struct pg_msg *resp)
{
	uint64_t commits, records;
	int rc;

	statelog_counts(d->log, &commits, &records);
	if ((rc = proto_add_u64(resp, "statelog_commits", commits)) != 0)
		return rc;
	return proto_add_u64(resp, "statelog_records", records);
}

/* STATUS's state=ok|recovered|failed [state_reason=]: a failing log
 * first, as it refuses changes. */
static int state_fields(struct pg_daemon *d, int64_t now, struct pg_msg *resp)
{
	const char *why = statelog_failure(d->log);
	int rc;

	if (why != NULL) {
		if ((rc = proto_add(resp, "state", "failed")) != 0)
			return rc;
		return proto_add(resp, "state_reason", why);
	}
	return proto_add(resp, "state",
	                 state_recovery(d->state, now, NULL, NULL) ? "recovered"
	                                                           : "ok");
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
	    (rc = proto_add_u64(resp, "unenrolled",
	                        state_unenrolled(d->state))) != 0 ||
	    (rc = proto_add_u64(resp, "locked", locked)) != 0 ||
	    (rc = suspended_fields(d->state, req->now, resp)) != 0 ||
	    (rc = proto_add_u64(resp, "clients", ss.clients)) != 0 ||
	    (rc = proto_add_u64(resp, "requests", ss.requests)) != 0 ||
	    (rc = proto_add_u64(resp, "errors", ss.errors)) != 0 ||
	    (rc = statelog_fields(d, resp)) != 0 ||
	    (rc = state_fields(d, req->now, resp)) != 0)
		return rc;
	if (d->audit != NULL && (rc = audit_fields(d, resp)) != 0)
		return rc;
	if (d->authz != NULL && (rc = authz_status(d->authz, resp)) != 0)
		return rc;
	/* The file store's STATUS stays as it was. */
	if (d->tokens != NULL && (rc = tokstore_status(d->tokens, resp)) != 0)
		return rc;
	/* Counted when answered: this STATUS is not in its own figures. */
	if ((rc = verbstats_format(&d->stats, verbs, sizeof(verbs))) != 0)
		return rc;
	return proto_add(resp, "verbs", verbs);
}

/* UNLOCK's cleared=: what was in force and is gone, or "none". */
static void cleared_list(const struct pg_unlock_result *u, char *out,
                         size_t size)
{
	const char *item[] = {
	    u->was_locked ? "lockout" : NULL,
	    u->push_until != 0 ? "push-suspension" : NULL,
	    u->nfail != 0 ? "failures" : NULL,
	    u->npush != 0 ? "push-failures" : NULL,
	};
	struct strbuf sb;
	size_t i;

	strbuf_init(&sb, out, size);
	for (i = 0; i < sizeof(item) / sizeof(item[0]); i++) {
		if (item[i] == NULL)
			continue;
		if (strbuf_len(&sb) > 0)
			strbuf_putc(&sb, ' ');
		strbuf_puts(&sb, item[i]);
	}
	if (strbuf_len(&sb) == 0)
		strbuf_puts(&sb, "none");
}

int verb_unlock(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp)
{
	struct pg_unlock_result u;
	char cleared[64];
	int rc;

	if ((rc = state_unlock(d->state, req->user, req->now, &u)) != 0)
		return rc;
	cleared_list(&u, cleared, sizeof(cleared));
	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = proto_add(resp, "was_locked", u.was_locked ? "yes" : "no")) !=
	        0 ||
	    (rc = proto_add(resp, "cleared", cleared)) != 0)
		return rc;
	if (d->tokens != NULL)
		return verb_unlock_site(d, req, resp, u.changed);
	/* Durable before OK, so an admin's unlock survives a crash. */
	return u.changed ? verb_persist(d, req, resp, NULL) : 0;
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
	if ((rc = audit_rotate(d->audit, req->ticket, (long)req->peer->uid,
	                       "request")) != 0)
		return rc;
	return VERB_PARKED;
}

int verb_flush(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp)
{
	const char *user = proto_get(req->msg, "user");

	if (verb_no_directory(d, resp))
		return 0;
	if (user != NULL && username_check(user) != 0)
		return PG_ERR_BAD_USER;
	proto_msg_init(resp, PG_VERB_OK);
	return proto_add_u64(resp, "flushed", authz_flush(d->authz, user));
}

int verb_reload(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp)
{
	char err[PG_CONF_ERRLEN];
	int rc;

	(void)req;
	if ((rc = d->reload(d, err, sizeof(err))) != 0) {
		proto_make_error(resp, rc, err);
		return 0;
	}
	proto_msg_init(resp, PG_VERB_OK);
	return proto_add(resp, "reloaded", "yes");
}
