/* SPDX-License-Identifier: BSD-3-Clause */
/* The module's requests to phiguardd (PREAUTH, CLAIM, REPORT, AUTHZ,
 * SESSION; see common/proto.h): a stage's requests share one connection,
 * each request within one deadline. */
#ifndef PHIGUARD_PAM_ASK_DAEMON_H
#define PHIGUARD_PAM_ASK_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

#include "client.h"
#include "conv.h"

/*
 * How to reach the daemon, and the connection a stage holds. Whom to
 * believe is the daemon: a peer running as root, or as PG_DAEMON_USER
 * (looked up once per process, and only when a peer other than root
 * answers: most stages never ask the name service).
 */
struct ask_daemon {
	const char *socket; /* borrowed */
	int timeout_ms;     /* bound on one whole request, connect included */
	struct pg_client *conn; /* opened by the first request, or NULL */
};

/* Set up *d; no connection yet. socket is borrowed and must outlive *d. */
void ask_init(struct ask_daemon *d, const char *socket, int timeout_ms);

/*
 * Close the connection, if one is open; the next request opens another.
 * Called at the end of a stage, and before the module waits for a person
 * (a prompt, a push): the daemon serves max_clients connections and
 * closes idle ones, so none is held while nobody knows how long.
 */
void ask_release(struct ask_daemon *d);

/* PREAUTH's answer in full. */
struct ask_state {
	int64_t locked_until; /* 0 = not locked */
	int source_blocked;   /* 1: the lock is the request's source's
	                         (reason=source-blocked), not the user's */
	int push;           /* 1: a push may be offered (push=yes or absent) */
	int64_t push_until; /* push=no: end of the suspension, 0 if not given */
};

/*
 * PREAUTH: is the user locked out, and may a push be offered? locked_until
 * is 0 (not locked) or the end of the lockout (unix seconds). push=yes or
 * no push key -> push 1; push=no [push_until=N] -> push 0. Any other push
 * value, or a bad push_until, is PG_ERR_PROTO. locked=yes with
 * reason=source-blocked sets source_blocked; another reason is a lock of
 * the user. Errors: the pg_client ones (PG_ERR_UNAVAIL, PG_ERR_TIMEOUT,
 * PG_ERR_CRED, ...), or the ERR code the daemon answered with; *out is
 * written only on success.
 */
int ask_preauth(struct ask_daemon *d, const struct pam_items *it,
                struct ask_state *out);

/*
 * ask_preauth() in site mode ([tokens] store = ldap): the answer must also
 * carry the user's token records (tokens=N token0=... , proto.h), each a
 * token-store line for it->user, parsed into *tokens (written only on
 * success). A missing tokens=, a count over PG_TOKENS_MAX_PER_USER or a
 * record that does not parse or names another user: PG_ERR_PROTO.
 */
struct pg_token_list;
int ask_preauth_tokens(struct ask_daemon *d, const struct pam_items *it,
                       struct ask_state *out, struct pg_token_list *tokens);

/*
 * CLAIM the step starting at unix time step_start for the user, with
 * report=yes reason=reason: an accepted claim is also the attempt's
 * success REPORT. Returns 0 if claimed, with *reported 1 if the daemon
 * recorded the success with it (reported=yes), 0 if it did not (a daemon
 * older than report=: the caller reports as before); PG_ERR_REPLAY; or
 * PG_ERR_LOCKED with *locked_until set (0 if the daemon gave no time) and
 * *source_blocked set to 1 if the daemon said the request's source is
 * blocked (msg=source-blocked), else 0; else the transport or daemon
 * errors as for ask_preauth().
 */
int ask_claim(struct ask_daemon *d, const struct pam_items *it,
              uint64_t step_start, const char *reason, int *reported,
              int64_t *locked_until, int *source_blocked);

#define ASK_REPORT_FAILURE 0 /* counted towards lockout (and push fatigue) */
#define ASK_REPORT_SUCCESS 1
#define ASK_REPORT_ERROR   2 /* push only: the provider failed; not counted */
#define ASK_REPORT_SENT    3 /* push only: a push is on its way; not counted */
/* totp only: a failure of a user with no token (any name typed at the
 * prompt), sent as result=failure enrolled=no: counted like any failure,
 * but the daemon bounds such users' entries apart. */
#define ASK_REPORT_NO_TOKEN 4

/*
 * REPORT the outcome of one attempt (factor "totp" or "push"; result one
 * of ASK_REPORT_*; reason a short token such as "bad-code" or
 * "push-denied", never a secret). Returns 0 and sets *locked_until as for
 * ask_preauth() (a failure may just have locked the user), or the
 * errors of ask_preauth().
 */
int ask_report(struct ask_daemon *d, const struct pam_items *it,
               const char *factor, int result, const char *reason,
               int64_t *locked_until);

#define ASK_MAX_SCOPES 1024 /* bytes of the scope list */
#define ASK_MAX_TOKEN  64   /* bytes of a role, reason or source */

/* AUTHZ's answer, every string checked: safe for the PAM environment. */
struct ask_authz {
	int allowed;
	/* allowed: one or more scope names of [a-z0-9._-], separated by
	 * single spaces; else "". */
	char scopes[ASK_MAX_SCOPES + 1];
	/* allowed: [a-z0-9._ -], not empty, not starting or ending with a
	 * space; else "". */
	char role[ASK_MAX_TOKEN + 1];
	/* refused: a token of [a-z0-9-] (no-rule, terminal, unknown-user,
	 * directory-unreachable or one a newer daemon adds); else "". */
	char reason[ASK_MAX_TOKEN + 1];
	/* fresh, cache, stale or none; "" if the daemon gave none. */
	char source[ASK_MAX_TOKEN + 1];
};

/*
 * AUTHZ: may the user log in here, with which scopes? Returns 0 with *out
 * filled (allowed or not), or the errors of ask_preauth(); an answer
 * with a missing, malformed or oversized field is PG_ERR_PROTO (or
 * PG_ERR_MISSING), never a partial *out: *out is written only on success.
 */
int ask_authz(struct ask_daemon *d, const struct pam_items *it,
              struct ask_authz *out);

/* SESSION action=open|close (open != 0). Returns 0 or the errors of
 * ask_preauth(). */
int ask_session(struct ask_daemon *d, const struct pam_items *it, int open);

#endif
