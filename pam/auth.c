/* SPDX-License-Identifier: BSD-3-Clause */
/* The TOTP auth flow: each step returns 0 or a pg_err and names the reason
 * that goes to the log line and to the daemon's REPORT. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "auth.h"
#include "conf.h"
#include "conv.h"
#include "daemon_req.h"
#include "err.h"
#include "pamcfg.h"
#include "pamlog.h"
#include "result.h"
#include "secret.h"
#include "tokens.h"
#include "totp.h"
#include "username.h"

#define AUTH_EVENT  "auth"
#define AUTH_FACTOR "totp"

struct auth {
	pam_handle_t *pamh;
	int flags;
	struct pamcfg cfg;
	struct pam_items it;
	struct daemon_req dr;
	struct pg_token_list tokens; /* holds secrets: wiped */
	char *answer;                /* the raw reply: wiped */
	char code[TOTP_MAX_DIGITS + 1];
	const char *reason; /* short token for the log and REPORT */
	char detail[PG_CONF_ERRLEN];
	int has_detail;
};

PAMLOG_PRINTF(2, 3) static void set_detail(struct auth *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
	va_end(ap);
	a->has_detail = 1;
}

static void tell_locked(struct auth *a, int64_t until)
{
	char msg[128], hm[8];
	time_t t = (time_t)until;
	struct tm tm;

	if (until > 0 && gmtime_r(&t, &tm) != NULL &&
	    strftime(hm, sizeof(hm), "%H:%M", &tm) > 0)
		snprintf(msg, sizeof(msg),
		         "Too many failed verification attempts: this account "
		         "is locked until %s UTC.",
		         hm);
	else
		snprintf(msg, sizeof(msg),
		         "Too many failed verification attempts: this account "
		         "is locked.");
	conv_tell(a->pamh, a->flags, PAM_ERROR_MSG, msg);
}

static void log_unknown_args(struct auth *a)
{
	char esc[128];
	size_t i;

	for (i = 0; i < a->cfg.n_unknown && i < PAMCFG_MAX_UNKNOWN; i++)
		pamlog_msg(
		    a->pamh, LOG_WARNING, "unknown option '%s' ignored",
		    pamlog_escape(a->cfg.unknown[i], 0, esc, sizeof(esc)));
	if (a->cfg.n_unknown > PAMCFG_MAX_UNKNOWN)
		pamlog_msg(a->pamh, LOG_WARNING,
		           "%zu more unknown options ignored",
		           a->cfg.n_unknown - PAMCFG_MAX_UNKNOWN);
}

/* Arguments, items, user name, config file: nothing leaves the process. */
static int setup(struct auth *a, int argc, const char **argv)
{
	char err[PG_CONF_ERRLEN];
	int r, rargs;

	pamcfg_defaults(&a->cfg);
	rargs = pamcfg_parse_args(&a->cfg, argc, argv, err, sizeof(err));
	/* Items first, so that even a bad-option line names the user. */
	r = conv_items(a->pamh, &a->it);
	if (rargs != 0) {
		a->reason = "bad-option";
		set_detail(a, "%s", err);
		return rargs;
	}
	log_unknown_args(a);
	/* A name that can never be enrolled is refused before anything
	 * else: nothing about it is worth asking the daemon. */
	if (r != 0 || (r = username_check(a->it.user)) != 0) {
		a->reason = "bad-user";
		return PG_ERR_BAD_USER;
	}
	if ((r = pamcfg_resolve(&a->cfg, err, sizeof(err))) != 0) {
		a->reason = "config";
		set_detail(a, "%s", err);
		return r;
	}
	daemon_req_init(&a->dr, a->cfg.socket, a->cfg.timeout_ms);
	pamlog_debug(
	    a->pamh, a->cfg.debug,
	    "config=%s tokens=%s socket=%s window=%ld "
	    "daemon_timeout=%dms no_token=%s code_from=%s",
	    a->cfg.config, a->cfg.tokens, a->cfg.socket, a->cfg.window,
	    a->cfg.timeout_ms,
	    a->cfg.no_token == PAMCFG_NO_TOKEN_DENY ? "deny" : "ignore",
	    a->cfg.authtok == PAMCFG_AUTHTOK_USE   ? "authtok"
	    : a->cfg.authtok == PAMCFG_AUTHTOK_TRY ? "authtok-or-prompt"
	                                           : "prompt");
	return 0;
}

static int preauth(struct auth *a)
{
	int64_t until = 0;
	int r;

	if ((r = daemon_preauth(&a->dr, &a->it, &until)) != 0) {
		a->reason = "daemon";
		set_detail(a, "preauth: %s", pg_strerror(r));
		return r;
	}
	if (until != 0) {
		/* No prompt: a locked user must not be able to keep
		 * guessing, and a right code would not help anyway. */
		tell_locked(a, until);
		a->reason = "locked";
		return PG_ERR_LOCKED;
	}
	return 0;
}

static int load_tokens(struct auth *a)
{
	char err[PG_CONF_ERRLEN];
	unsigned bad = 0;
	int r;

	r = tokens_load_user(a->cfg.tokens, 1, a->it.user, &a->tokens, &bad,
	                     err, sizeof(err));
	if (r != 0) {
		a->reason = "token-store";
		set_detail(a, "%s", err);
		return r;
	}
	/* The reason names a line and a field, never the line's text,
	 * which could hold a secret. */
	if (bad > 0)
		pamlog_msg(a->pamh, LOG_WARNING,
		           "token store: %u bad line(s) skipped; first: %s",
		           bad, err);
	pamlog_debug(a->pamh, a->cfg.debug, "%zu token(s) for this user",
	             a->tokens.n);
	return 0;
}

/* The answer: from an earlier module (use/try_first_pass) or one prompt. */
static int get_answer(struct auth *a)
{
	int r;

	if (a->cfg.authtok != PAMCFG_AUTHTOK_PROMPT) {
		r = conv_authtok(a->pamh, &a->answer);
		if (r == PG_ERR_NOTFOUND &&
		    a->cfg.authtok == PAMCFG_AUTHTOK_USE) {
			a->reason = "no-authtok";
			return PG_ERR_AUTH;
		}
		if (r != 0 && r != PG_ERR_NOTFOUND) {
			a->reason = "internal";
			return r;
		}
	}
	if (a->answer == NULL &&
	    conv_ask(a->pamh, a->cfg.prompt, &a->answer) != 0) {
		a->reason = "conv-error";
		return PG_ERR_AUTH;
	}
	return 0;
}

static int check_code(struct auth *a, uint64_t *step_start)
{
	int r;

	r = totp_parse_answer(a->answer, a->code);
	if (r == 0)
		r = totp_verify(&a->tokens, a->code, time(NULL),
		                (unsigned)a->cfg.window, step_start);
	/* Decided only now, after the prompt and the same work as for an
	 * enrolled user, so the prompt does not reveal enrollment. */
	if (a->tokens.n == 0) {
		a->reason = "no-token";
		return PG_ERR_AUTH;
	}
	switch (r) {
	case 0:
		return 0;
	case PG_ERR_INVAL:
		a->reason = "bad-input";
		return PG_ERR_AUTH;
	case PG_ERR_AUTH:
		a->reason = "bad-code";
		return PG_ERR_AUTH;
	default:
		a->reason = "liboath";
		return PG_ERR_INTERNAL;
	}
}

/* Answer, verify, CLAIM, REPORT. */
static int second_factor(struct auth *a)
{
	uint64_t step_start = 0;
	int64_t until = 0;
	int r, rr;

	if ((r = get_answer(a)) == 0 &&
	    (r = check_code(a, &step_start)) == 0) {
		pamlog_debug(a->pamh, a->cfg.debug,
		             "code matches the step starting at %llu",
		             (unsigned long long)step_start);
		r = daemon_claim(&a->dr, &a->it, step_start, &until);
		if (r == PG_ERR_REPLAY) {
			a->reason = "replay";
		} else if (r == PG_ERR_LOCKED) {
			/* Locked since PREAUTH by a parallel attempt. */
			tell_locked(a, until);
			a->reason = "locked";
			return r;
		} else if (r == PG_ERR_INVAL) {
			/* The step starts too far ahead of the daemon's
			 * clock: the code may be right, a clock is wrong.
			 * Not the user's doing, so not reported. */
			a->reason = "clock-skew";
			set_detail(a, "the daemon's clock is behind this "
			              "host's; check time synchronisation");
			return PG_ERR_UNAVAIL;
		} else if (r != 0) {
			a->reason = "daemon";
			set_detail(a, "claim: %s", pg_strerror(r));
			return r;
		}
	}
	/* Only what the user did is reported: a local failure is not a
	 * guess and must not count towards a lockout. */
	if (r != 0 && r != PG_ERR_AUTH && r != PG_ERR_REPLAY)
		return r;
	if (r == 0)
		a->reason = "ok";
	rr = daemon_report(&a->dr, &a->it, AUTH_FACTOR, r == 0, a->reason,
	                   &until);
	if (rr != 0) {
		/* Fail closed even after a good code: the daemon must see
		 * every outcome, and it is unreachable. */
		set_detail(a, "report: %s", pg_strerror(rr));
		return rr;
	}
	if (r != 0 && until != 0)
		tell_locked(a, until);
	return r;
}

static int log_priority(int pam_rc)
{
	switch (pam_rc) {
	case PAM_SUCCESS:
	case PAM_IGNORE:
		return LOG_INFO;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
		return LOG_NOTICE;
	default:
		return LOG_ERR;
	}
}

int auth_authenticate(pam_handle_t *pamh, int flags, int argc,
                      const char **argv)
{
	struct auth a;
	const char *result = "failure";
	int r, pam_rc, ignore = 0;

	memset(&a, 0, sizeof(a));
	a.pamh = pamh;
	a.flags = flags;
	a.reason = "internal";
	a.it.user = a.it.service = a.it.rhost = a.it.tty = "";

	if ((r = totp_init()) != 0) {
		a.reason = "liboath";
	} else if ((r = setup(&a, argc, argv)) == 0 && (r = preauth(&a)) == 0 &&
	           (r = load_tokens(&a)) == 0) {
		/* The admin lets unenrolled users through other modules;
		 * prompting first would only cost them a keystroke. */
		if (a.tokens.n == 0 &&
		    a.cfg.no_token == PAMCFG_NO_TOKEN_IGNORE) {
			a.reason = "no-token";
			ignore = 1;
		} else {
			r = second_factor(&a);
		}
	}
	if (ignore) {
		pam_rc = PAM_IGNORE;
		result = "ignore";
	} else {
		pam_rc = result_to_pam(r);
		if (pam_rc == PAM_SUCCESS)
			result = "success";
	}
	pamlog_outcome(pamh, log_priority(pam_rc), AUTH_EVENT, &a.it, result,
	               a.reason, a.has_detail ? a.detail : NULL);

	secret_strfree(a.answer);
	secret_wipe(a.code, sizeof(a.code));
	tokens_list_wipe(&a.tokens);
	totp_done();
	return pam_rc;
}
