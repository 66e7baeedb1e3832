/* SPDX-License-Identifier: BSD-3-Clause */
/* Building, sending and reading the module's daemon requests. */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask_daemon.h"
#include "client.h"
#include "err.h"
#include "proto.h"
#include "secret.h"
#include "timeutil.h"
#include "tokens.h"

/* Lockouts end within a week; anything beyond this is a broken reply. */
#define ASK_MAX_UNTIL ((uint64_t)1 << 40)

void ask_init(struct ask_daemon *d, const char *socket, int timeout_ms)
{
	memset(d, 0, sizeof(*d));
	d->socket = socket;
	d->timeout_ms = timeout_ms;
}

void ask_release(struct ask_daemon *d)
{
	pg_client_close(d->conn);
	d->conn = NULL;
}

/*
 * PG_DAEMON_USER's uid into *uid, or PG_ERR_CRED if there is no such user
 * (a lookup error counts as none: root alone is trusted, which fails
 * closed). Found once per process: a process may be multi-threaded, so
 * the cache is two atomics, and a race costs at most a second lookup.
 */
static int daemon_user_uid(uid_t *uid)
{
	static uid_t cached_uid;
	static int cached; /* cached_uid is set */
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (__atomic_load_n(&cached, __ATOMIC_ACQUIRE)) {
		*uid = __atomic_load_n(&cached_uid, __ATOMIC_RELAXED);
		return 0;
	}
	if (getpwnam_r(PG_DAEMON_USER, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL || res->pw_uid == 0)
		return PG_ERR_CRED;
	__atomic_store_n(&cached_uid, res->pw_uid, __ATOMIC_RELAXED);
	__atomic_store_n(&cached, 1, __ATOMIC_RELEASE);
	*uid = res->pw_uid;
	return 0;
}

/* Only the real daemon may answer: its peer uid is root or
 * PG_DAEMON_USER's, as the kernel says (a socket path in a writable
 * directory could be taken over by anyone). */
static int check_daemon(const struct pg_client *c)
{
	uid_t peer, daemon;
	int r;

	if ((r = pg_client_peer_uid(c, &peer)) != 0 || peer == 0)
		return r;
	if ((r = daemon_user_uid(&daemon)) != 0)
		return r;
	return peer == daemon ? 0 : PG_ERR_CRED;
}

/* user, then the optional items the application set. */
static int add_items(struct pg_msg *m, const struct pam_items *it)
{
	int r;

	if ((r = proto_add(m, "user", it->user)) != 0)
		return r;
	if (it->service[0] != '\0' &&
	    (r = proto_add(m, "service", it->service)) != 0)
		return r;
	if (it->rhost[0] != '\0' && (r = proto_add(m, "rhost", it->rhost)) != 0)
		return r;
	if (it->tty[0] != '\0' && (r = proto_add(m, "tty", it->tty)) != 0)
		return r;
	return 0;
}

/*
 * One request on the stage's connection, opened (and its peer checked)
 * if there is none. The deadline covers connect and request together, so
 * a daemon that accepts but never answers costs at most timeout_ms.
 * Returns 0 with *resp filled (OK or ERR) or an error; after an error the
 * connection is closed (its stream may be out of step).
 */
static int call(struct ask_daemon *d, const struct pg_msg *req,
                struct pg_msg *resp)
{
	int64_t deadline = time_mono_ms() + d->timeout_ms;
	int r, left;

	if (d->conn == NULL) {
		r = pg_client_connect(d->socket, d->timeout_ms, NULL, 0,
		                      &d->conn);
		if (r == 0 && (r = check_daemon(d->conn)) != 0)
			ask_release(d);
		if (r != 0)
			return r;
	}
	if ((left = time_left_ms(deadline)) == 0) {
		r = PG_ERR_TIMEOUT;
		goto out;
	}
	r = pg_client_request(d->conn, req, resp, left);
out:
	if (r != 0)
		ask_release(d);
	return r;
}

/* locked=yes until=N -> N; locked=no -> 0. */
static int read_locked(const struct pg_msg *resp, int64_t *locked_until)
{
	const char *locked = proto_get(resp, "locked");
	uint64_t until;
	int r;

	if (locked == NULL)
		return PG_ERR_MISSING;
	if (strcmp(locked, "no") == 0) {
		*locked_until = 0;
		return 0;
	}
	if (strcmp(locked, "yes") != 0)
		return PG_ERR_PROTO;
	if ((r = proto_get_u64(resp, "until", ASK_MAX_UNTIL, &until)) != 0)
		return r;
	*locked_until = (int64_t)until;
	return 0;
}

/* push=yes (or absent) -> 1; push=no [push_until=N] -> 0 and N (0 if
 * not given); anything else is a protocol error. */
static int read_push(const struct pg_msg *resp, struct ask_state *st)
{
	const char *push = proto_get(resp, "push");
	uint64_t until = 0;
	int r;

	st->push_until = 0;
	if (push == NULL || strcmp(push, "yes") == 0) {
		st->push = 1;
		return 0;
	}
	if (strcmp(push, "no") != 0)
		return PG_ERR_PROTO;
	st->push = 0;
	if (proto_get(resp, "push_until") != NULL) {
		if ((r = proto_get_u64(resp, "push_until", ASK_MAX_UNTIL,
		                       &until)) != 0)
			return r;
		st->push_until = (int64_t)until;
	}
	return 0;
}

/* The daemon names a blocked source in reason= (PREAUTH) or msg= (CLAIM's
 * ERR); any other value, or none, leaves a lock the user's. */
static int is_source_block(const struct pg_msg *resp, const char *key)
{
	const char *v = proto_get(resp, key);

	return v != NULL && strcmp(v, "source-blocked") == 0;
}

/* The token records of a site-mode PREAUTH answer into *out. */
static int read_tokens(const struct pg_msg *resp, const char *user,
                       struct pg_token_list *out)
{
	char key[32], err[64];
	const char *line;
	uint64_t n, i;
	int r;

	if ((r = proto_get_u64(resp, "tokens", PG_TOKENS_MAX_PER_USER, &n)) !=
	    0)
		return PG_ERR_PROTO;
	out->n = 0;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "token%llu", (unsigned long long)i);
		if ((line = proto_get(resp, key)) == NULL ||
		    tokens_parse_line(line, &out->tok[i], err, sizeof(err)) !=
		        0 ||
		    strcmp(out->tok[i].user, user) != 0) {
			tokens_list_wipe(out);
			return PG_ERR_PROTO;
		}
		out->n = (size_t)i + 1;
	}
	return 0;
}

/* Send req and read locked= and push= from the daemon's OK reply (and,
 * with tokens, the token records for user). */
static int call_state(struct ask_daemon *d, const struct pg_msg *req,
                      struct ask_state *out, const char *user,
                      struct pg_token_list *tokens)
{
	struct ask_state st;
	struct pg_msg resp;
	int r;

	memset(&st, 0, sizeof(st));
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((r = call(d, req, &resp)) != 0 ||
	    (r = proto_response_status(&resp)) != 0 ||
	    (r = read_locked(&resp, &st.locked_until)) != 0 ||
	    (r = read_push(&resp, &st)) != 0 ||
	    (tokens != NULL && (r = read_tokens(&resp, user, tokens)) != 0))
		goto out;
	st.source_blocked =
	    st.locked_until != 0 && is_source_block(&resp, "reason");
	*out = st;
out:
	/* The answer may hold secrets. */
	secret_wipe(&resp, sizeof(resp));
	proto_msg_clear(&resp);
	return r;
}

int ask_preauth_tokens(struct ask_daemon *d, const struct pam_items *it,
                       struct ask_state *out, struct pg_token_list *tokens)
{
	struct pg_msg req;
	int r;

	proto_msg_init(&req, PG_VERB_PREAUTH);
	if ((r = add_items(&req, it)) != 0)
		goto out;
	r = call_state(d, &req, out, it->user, tokens);
out:
	proto_msg_clear(&req);
	return r;
}

int ask_preauth(struct ask_daemon *d, const struct pam_items *it,
                struct ask_state *out)
{
	return ask_preauth_tokens(d, it, out, NULL);
}

int ask_claim(struct ask_daemon *d, const struct pam_items *it,
              uint64_t step_start, const char *reason, int *reported,
              int64_t *locked_until, int *source_blocked)
{
	struct pg_msg req, resp;
	uint64_t until = 0;
	const char *rep;
	int r;

	proto_msg_init(&req, PG_VERB_CLAIM);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((r = add_items(&req, it)) != 0 ||
	    (r = proto_add_u64(&req, "step_start", step_start)) != 0 ||
	    (r = proto_add(&req, "report", "yes")) != 0 ||
	    (r = proto_add(&req, "reason", reason)) != 0 ||
	    (r = call(d, &req, &resp)) != 0)
		goto out;
	r = proto_response_status(&resp);
	if (r == 0) {
		rep = proto_get(&resp, "reported");
		*reported = rep != NULL && strcmp(rep, "yes") == 0;
	} else if (r == PG_ERR_LOCKED) {
		/* The time is a courtesy for the message; its absence or a
		 * bad value must not turn a lockout into something else. */
		(void)proto_get_u64(&resp, "until", ASK_MAX_UNTIL, &until);
		*locked_until = (int64_t)until;
		*source_blocked = is_source_block(&resp, "msg");
	}
out:
	proto_msg_clear(&req);
	proto_msg_clear(&resp);
	return r;
}

int ask_report(struct ask_daemon *d, const struct pam_items *it,
               const char *factor, int result, const char *reason,
               int64_t *locked_until)
{
	struct ask_state st;
	struct pg_msg req;
	const char *res = result == ASK_REPORT_SUCCESS ? "success"
	                  : result == ASK_REPORT_ERROR ? "error"
	                  : result == ASK_REPORT_SENT  ? "sent"
	                                               : "failure";
	int r;

	proto_msg_init(&req, PG_VERB_REPORT);
	if ((r = add_items(&req, it)) != 0 ||
	    (r = proto_add(&req, "factor", factor)) != 0 ||
	    (r = proto_add(&req, "result", res)) != 0 ||
	    (r = proto_add(&req, "reason", reason)) != 0 ||
	    (result == ASK_REPORT_NO_TOKEN &&
	     (r = proto_add(&req, "enrolled", "no")) != 0))
		goto out;
	if ((r = call_state(d, &req, &st, NULL, NULL)) == 0)
		*locked_until = st.locked_until;
out:
	proto_msg_clear(&req);
	return r;
}

/*
 * Copy the value of key into out (outsz bytes) if it is 1..outsz-1 bytes,
 * each of them in allowed, with spaces (if allowed at all) only single
 * and inside. These values reach the PAM environment and the log: never
 * raw daemon bytes.
 */
static int get_checked(const struct pg_msg *resp, const char *key,
                       const char *allowed, char *out, size_t outsz)
{
	const char *v = proto_get(resp, key);
	size_t len, i;

	if (v == NULL)
		return PG_ERR_MISSING;
	len = strlen(v);
	if (len == 0 || len >= outsz || v[0] == ' ' || v[len - 1] == ' ')
		return PG_ERR_PROTO;
	for (i = 0; i < len; i++) {
		if (strchr(allowed, v[i]) == NULL ||
		    (v[i] == ' ' && v[i + 1] == ' '))
			return PG_ERR_PROTO;
	}
	memcpy(out, v, len + 1);
	return 0;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

static int read_authz(const struct pg_msg *resp, struct ask_authz *a)
{
	const char *allowed = proto_get(resp, "allowed");
	int r;

	if (allowed == NULL)
		return PG_ERR_MISSING;
	/* source is informative: a missing one is not an error, a bad
	 * one is (the whole answer is then suspect). */
	if (proto_get(resp, "source") != NULL &&
	    (r = get_checked(resp, "source", LOWER_DIGITS "-", a->source,
	                     sizeof(a->source))) != 0)
		return r;
	if (strcmp(allowed, "yes") == 0) {
		a->allowed = 1;
		if ((r = get_checked(resp, "scopes", LOWER_DIGITS "._- ",
		                     a->scopes, sizeof(a->scopes))) != 0 ||
		    (r = get_checked(resp, "role", LOWER_DIGITS "._- ", a->role,
		                     sizeof(a->role))) != 0)
			return r;
		return 0;
	}
	if (strcmp(allowed, "no") != 0)
		return PG_ERR_PROTO;
	return get_checked(resp, "reason", LOWER_DIGITS "-", a->reason,
	                   sizeof(a->reason));
}

int ask_authz(struct ask_daemon *d, const struct pam_items *it,
              struct ask_authz *out)
{
	struct pg_msg req, resp;
	struct ask_authz a;
	int r;

	memset(&a, 0, sizeof(a));
	proto_msg_init(&req, PG_VERB_AUTHZ);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((r = add_items(&req, it)) != 0 || (r = call(d, &req, &resp)) != 0 ||
	    (r = proto_response_status(&resp)) != 0 ||
	    (r = read_authz(&resp, &a)) != 0)
		goto out;
	*out = a;
out:
	proto_msg_clear(&req);
	proto_msg_clear(&resp);
	return r;
}

int ask_session(struct ask_daemon *d, const struct pam_items *it, int open)
{
	struct pg_msg req, resp;
	int r;

	proto_msg_init(&req, PG_VERB_SESSION);
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	if ((r = add_items(&req, it)) != 0 ||
	    (r = proto_add(&req, "action", open ? "open" : "close")) != 0 ||
	    (r = call(d, &req, &resp)) != 0)
		goto out;
	r = proto_response_status(&resp);
out:
	proto_msg_clear(&req);
	proto_msg_clear(&resp);
	return r;
}
