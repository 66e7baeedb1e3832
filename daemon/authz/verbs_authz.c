/* SPDX-License-Identifier: BSD-3-Clause */
/* The authorization verbs: AUTHZ, CHECK, SESSION and EXPLAIN, mapping
 * requests onto authz.c. */
#include "config.h"

#include <string.h>

#include "authz/authz.h"
#include "err.h"
#include "log.h"
#include "core/verbs.h"

int verb_no_directory(const struct pg_daemon *d, struct pg_msg *resp)
{
	if (d->authz != NULL)
		return 0;
	proto_make_error(resp, PG_ERR_UNAVAIL, "no directory configured");
	return 1;
}

static int ask(struct pg_daemon *d, const struct pg_request *req,
               enum authz_kind kind, const char *scope, struct pg_msg *resp)
{
	struct authz_query q = {kind, req->user, scope, req->now, req->ticket};
	int rc;

	if (verb_no_directory(d, resp))
		return 0;
	rc = authz_answer(d->authz, &q, resp);
	return rc == AUTHZ_PARKED ? VERB_PARKED : rc;
}

int verb_authz(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp)
{
	return ask(d, req, AUTHZ_LOGIN, NULL, resp);
}

int verb_check(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp)
{
	const char *scope = proto_get(req->msg, "scope");

	if (scope == NULL)
		return PG_ERR_MISSING;
	return ask(d, req, AUTHZ_CHECK, scope, resp);
}

int verb_explain(struct pg_daemon *d, const struct pg_request *req,
                 struct pg_msg *resp)
{
	return ask(d, req, AUTHZ_EXPLAIN, NULL, resp);
}

/* Only an audit record: dispatch logs the request with its action,
 * service, tty and rhost. */
int verb_session(struct pg_daemon *d, const struct pg_request *req,
                 struct pg_msg *resp)
{
	const char *action = proto_get(req->msg, "action");

	(void)d;
	if (action == NULL)
		return PG_ERR_MISSING;
	if (strcmp(action, "open") != 0 && strcmp(action, "close") != 0)
		return PG_ERR_INVAL;
	proto_msg_init(resp, PG_VERB_OK);
	return 0;
}
