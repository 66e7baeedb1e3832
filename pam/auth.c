/* SPDX-License-Identifier: BSD-3-Clause */
/* The auth flow: PREAUTH, then the offered second factor (a TOTP code, or
 * a push in auth_push.c); each step returns 0 or a pg_err and names the
 * reason that goes to the log line and to the daemon's REPORT. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ask_daemon.h"
#include "auth.h"
#include "auth_push.h"
#include "conf.h"
#include "conv.h"
#include "err.h"
#include "pamcfg.h"
#include "pamlog.h"
#include "result.h"
#include "seal.h"
#include "secret.h"
#include "stage.h"
#include "tokens.h"
#include "totp.h"

#define AUTH_EVENT  "auth"
#define AUTH_FACTOR "totp"
/* One prompt for both factors: a code, or nothing for a push. */
#define AUTH_BOTH_PROMPT                                                       \
	"Verification code (or press Enter for a push to your phone): "
/* What the person reads; keep in step with pam_phiguard(8). Without them
 * an outage or a used code looks like a mistyped password. */
#define MSG_UNAVAILABLE                                                        \
	"The second-factor service is not available on this terminal. Call "   \
	"the help desk."
#define MSG_REPLAY                                                             \
	"This code was already used. Wait for the next code and try again."

struct auth {
	struct stage st; /* st.reason also goes to the daemon's REPORT */
	struct pg_token_list tokens; /* holds secrets: wiped */
	char *answer;                /* the raw reply: wiped */
	char code[TOTP_MAX_DIGITS + 1];
	unsigned factors; /* PAMCFG_FACTOR_* offered to this user now */
};

/* " until HH:MM UTC", or "" when the daemon gave no usable time. */
static void until_text(int64_t until, char *buf, size_t len)
{
	char hm[8];
	time_t t = (time_t)until;
	struct tm tm;

	buf[0] = '\0';
	if (until > 0 && gmtime_r(&t, &tm) != NULL &&
	    strftime(hm, sizeof(hm), "%H:%M", &tm) > 0)
		snprintf(buf, len, " until %s UTC", hm);
}

/*
 * A lock, told as what it is: of the account (its failures), or of the
 * place the login comes from ([detect] spray_block: failures for several
 * accounts from there), which the person can do nothing about but call.
 * The daemon's source is the remote host, else the terminal.
 */
static void tell_lock(struct auth *a, int64_t until, int source)
{
	char msg[192], when[32];

	until_text(until, when, sizeof(when));
	if (source)
		snprintf(msg, sizeof(msg),
		         "Logins %s are blocked%s after failed verification "
		         "attempts for several accounts. Call the help desk.",
		         a->st.it.rhost[0] != '\0' ? "from this address"
		                                   : "at this terminal",
		         when);
	else
		snprintf(msg, sizeof(msg),
		         "Too many failed verification attempts: this account "
		         "is locked%s.",
		         when);
	stage_tell(&a->st, PAM_ERROR_MSG, msg);
}

static void tell_locked(struct auth *a, int64_t until)
{
	tell_lock(a, until, 0);
}

/* Push suspended by the daemon (push fatigue): TOTP only, logged. */
static void push_suspended(struct auth *a, int64_t until)
{
	char when[32] = "unknown";
	time_t t = (time_t)until;
	struct tm tm;

	if (until > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pamlog_msg(a->st.pamh, LOG_NOTICE,
	           "push suspended for this user until %s (too many denied "
	           "or unanswered pushes): offering a verification code only",
	           when);
	a->factors = PAMCFG_FACTOR_TOTP;
}

static int preauth(struct auth *a)
{
	struct ask_state ds;
	int r;

	/* Site mode: the token records come with the answer. */
	if ((r = ask_preauth_tokens(&a->st.daemon, &a->st.it, &ds,
	                            a->st.cfg.store_ldap ? &a->tokens
	                                                 : NULL)) != 0) {
		a->st.reason = "daemon";
		stage_detail(&a->st, "preauth: %s", pg_strerror(r));
		return r;
	}
	if (ds.locked_until != 0) {
		/* No prompt: a locked user must not be able to keep
		 * guessing, and a right code would not help anyway. */
		tell_lock(a, ds.locked_until, ds.source_blocked);
		a->st.reason = ds.source_blocked ? "source-blocked" : "locked";
		return PG_ERR_LOCKED;
	}
	a->factors = a->st.cfg.factors;
	if ((a->factors & PAMCFG_FACTOR_PUSH) && !ds.push)
		push_suspended(a, ds.push_until);
	return 0;
}

/*
 * Open the user's sealed secrets with the site key, read only when one is
 * sealed. Anything amiss (no key_file, an unreadable key file, a key
 * missing, the wrong key, a secret of another user's or altered) is the
 * site's doing: a refusal before the prompt, never a plain fallback and
 * never a failure counted against the user. The detail names the file,
 * the token and the key id, never a secret.
 */
static int open_tokens(struct auth *a)
{
	struct seal_keyring kr;
	char err[PG_CONF_ERRLEN];
	size_t i;
	int r = 0;

	memset(&kr, 0, sizeof(kr));
	for (i = 0; i < a->tokens.n && a->tokens.tok[i].sealed[0] == '\0'; i++)
		;
	if (i == a->tokens.n)
		goto out;
	if (a->st.cfg.key_file[0] != '\0' &&
	    (r = seal_keyring_load(a->st.cfg.key_file, 1, &kr, err,
	                           sizeof(err))) != 0) {
		stage_detail(&a->st, "key_file %s", err);
		goto out;
	}
	if ((r = tokens_open_list(&a->tokens, &kr, err, sizeof(err))) != 0)
		stage_detail(&a->st, "%s", err);
out:
	seal_keyring_wipe(&kr);
	if (r == 0)
		return 0;
	a->st.reason = "token-sealed";
	return PG_ERR_CONFIG;
}

static int load_tokens(struct auth *a)
{
	char err[PG_CONF_ERRLEN];
	unsigned bad = 0;
	int r;

	/* Site mode: PREAUTH brought them (preauth()), sealed or not. */
	if (a->st.cfg.store_ldap) {
		pamlog_debug(a->st.pamh, a->st.cfg.debug,
		             "%zu token(s) for this user, from the directory",
		             a->tokens.n);
		return open_tokens(a);
	}
	r = tokens_load_user(a->st.cfg.tokens, 1, a->st.it.user, &a->tokens,
	                     &bad, err, sizeof(err));
	if (r != 0) {
		a->st.reason = "token-store";
		stage_detail(&a->st, "%s", err);
		return r;
	}
	/* The reason names a line and a field, never the line's text,
	 * which could hold a secret. */
	if (bad > 0)
		pamlog_msg(a->st.pamh, LOG_WARNING,
		           "token store: %u bad line(s) skipped; first: %s",
		           bad, err);
	pamlog_debug(a->st.pamh, a->st.cfg.debug, "%zu token(s) for this user",
	             a->tokens.n);
	return open_tokens(a);
}

/* The answer: from an earlier module (use/try_first_pass) or one prompt. */
static int get_answer(struct auth *a, const char *prompt)
{
	int r;

	if (a->st.cfg.authtok != PAMCFG_AUTHTOK_PROMPT) {
		r = conv_authtok(a->st.pamh, &a->answer);
		if (r == PG_ERR_NOTFOUND &&
		    a->st.cfg.authtok == PAMCFG_AUTHTOK_USE) {
			a->st.reason = "no-authtok";
			return PG_ERR_AUTH;
		}
		if (r != 0 && r != PG_ERR_NOTFOUND) {
			a->st.reason = "internal";
			return r;
		}
	}
	/* A person may take their time: hold no daemon connection. */
	if (a->answer == NULL)
		ask_release(&a->st.daemon);
	if (a->answer == NULL &&
	    conv_ask(a->st.pamh, prompt, &a->answer) != 0) {
		a->st.reason = "conv-error";
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
		                (unsigned)a->st.cfg.window, step_start);
	/* Decided only now, after the prompt and the same work as for an
	 * enrolled user, so the prompt does not reveal enrollment. */
	if (a->tokens.n == 0) {
		a->st.reason = "no-token";
		return PG_ERR_AUTH;
	}
	switch (r) {
	case 0:
		return 0;
	case PG_ERR_INVAL:
		a->st.reason = "bad-input";
		return PG_ERR_AUTH;
	case PG_ERR_AUTH:
		a->st.reason = "bad-code";
		return PG_ERR_AUTH;
	default:
		a->st.reason = "liboath";
		return PG_ERR_INTERNAL;
	}
}

/*
 * Verify the answer, CLAIM, REPORT. r is get_answer()'s result: a failed
 * conversation (or a missing PAM_AUTHTOK) is reported like a wrong code.
 *
 * A right code costs one request: the CLAIM carries its outcome
 * (report=yes), and the daemon makes the step used and the success
 * recorded (audit, failures cleared) in one change, durable before it
 * answers. So no crash between two requests can leave a code used and
 * its login unrecorded: there is no second request. Every other outcome
 * claims nothing, so a REPORT after it burns no code either: a wrong code
 * is one REPORT; a refused claim (replay) changed nothing at the daemon
 * but its own audit record, and its failure is the next REPORT on the
 * same connection. A daemon that answers the CLAIM without reported=yes
 * (older than report=) gets the success REPORT as before.
 */
static int totp_factor(struct auth *a, int r)
{
	uint64_t step_start = 0;
	int64_t until = 0;
	int rr, source = 0, reported = 0;

	if (r == 0 && (r = check_code(a, &step_start)) == 0) {
		pamlog_debug(a->st.pamh, a->st.cfg.debug,
		             "code matches the step starting at %llu",
		             (unsigned long long)step_start);
		r = ask_claim(&a->st.daemon, &a->st.it, step_start, "ok",
		              &reported, &until, &source);
		if (r == PG_ERR_REPLAY) {
			a->st.reason = "replay";
		} else if (r == PG_ERR_LOCKED) {
			/* Locked (or the source blocked) since PREAUTH by
			 * a parallel attempt. */
			tell_lock(a, until, source);
			a->st.reason = source ? "source-blocked" : "locked";
			return r;
		} else if (r == PG_ERR_INVAL) {
			/* The step starts too far ahead of the daemon's
			 * clock: the code may be right, a clock is wrong.
			 * Not the user's doing, so not reported. */
			a->st.reason = "clock-skew";
			stage_detail(&a->st,
			             "the daemon's clock is behind this "
			             "host's; check time synchronisation");
			return PG_ERR_UNAVAIL;
		} else if (r != 0) {
			a->st.reason = "daemon";
			stage_detail(&a->st, "claim: %s", pg_strerror(r));
			return r;
		}
	}
	/* Only what the user did is reported: a local failure is not a
	 * guess and must not count towards a lockout. */
	if (r != 0 && r != PG_ERR_AUTH && r != PG_ERR_REPLAY)
		return r;
	if (r == 0)
		a->st.reason = "ok";
	if (r == 0 && reported)
		return 0;
	/* A name without a token fails like any other, so the lockout does
	 * not reveal enrollment; marked, so that the daemon can keep names
	 * typed at random from crowding out enrolled users. */
	rr = ask_report(&a->st.daemon, &a->st.it, AUTH_FACTOR,
	                r == 0             ? ASK_REPORT_SUCCESS
	                : a->tokens.n == 0 ? ASK_REPORT_NO_TOKEN
	                                   : ASK_REPORT_FAILURE,
	                a->st.reason, &until);
	if (rr != 0) {
		/* Fail closed even after a good code: the daemon must see
		 * every outcome, and it is unreachable. */
		stage_detail(&a->st, "report: %s", pg_strerror(rr));
		return rr;
	}
	if (r != 0 && until != 0)
		tell_locked(a, until);
	else if (r == PG_ERR_REPLAY)
		stage_tell(&a->st, PAM_ERROR_MSG, MSG_REPLAY);
	return r;
}

/* A push; under failmode=safe a failed provider leads to the TOTP
 * prompt instead. */
static int push_factor(struct auth *a)
{
	int64_t until = 0;
	int r;

	r = auth_push_run(&a->st, &until);
	if (r == AUTH_PUSH_FALLBACK) {
		pamlog_msg(a->st.pamh, LOG_NOTICE,
		           "push provider failed (%s); failmode=safe: "
		           "prompting for a verification code",
		           a->st.reason);
		return totp_factor(a, get_answer(a, a->st.cfg.prompt));
	}
	if (r != 0 && until != 0)
		tell_locked(a, until);
	return r;
}

/*
 * The factors offered: both -> one prompt, an empty answer is a push and
 * anything else a code; push only -> a push without a prompt; TOTP only
 * (or push suspended) -> the code prompt.
 */
static int second_factor(struct auth *a)
{
	int r;

	if (a->factors == PAMCFG_FACTOR_PUSH)
		return push_factor(a);
	if (!(a->factors & PAMCFG_FACTOR_PUSH))
		return totp_factor(a, get_answer(a, a->st.cfg.prompt));
	if ((r = get_answer(a, AUTH_BOTH_PROMPT)) == 0 &&
	    a->answer[0] == '\0') {
		secret_strfree(a->answer);
		a->answer = NULL;
		return push_factor(a);
	}
	return totp_factor(a, r);
}

int auth_authenticate(pam_handle_t *pamh, int flags, int argc,
                      const char **argv)
{
	struct auth a;
	const char *result = "failure";
	int r, pam_rc, ignore = 0;

	memset(&a, 0, sizeof(a));
	stage_init(&a.st, pamh, flags);

	if ((r = totp_init()) != 0) {
		a.st.reason = "liboath";
	} else if ((r = stage_setup(&a.st, argc, argv)) == 0 &&
	           (r = preauth(&a)) == 0 && (r = load_tokens(&a)) == 0) {
		/* The admin lets unenrolled users through other modules;
		 * prompting first would only cost them a keystroke. */
		if (a.tokens.n == 0 && !(a.factors & PAMCFG_FACTOR_PUSH) &&
		    a.st.cfg.no_token == PAMCFG_NO_TOKEN_IGNORE) {
			a.st.reason = "no-token";
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
	stage_log(&a.st, AUTH_EVENT, pam_rc, result);
	/* Not the person's doing (daemon, config, token store): they can
	 * only call for help, and must not think their password wrong. */
	if (!a.st.told &&
	    (pam_rc == PAM_AUTHINFO_UNAVAIL || pam_rc == PAM_SERVICE_ERR))
		stage_tell(&a.st, PAM_ERROR_MSG, MSG_UNAVAILABLE);

	ask_release(&a.st.daemon);
	secret_strfree(a.answer);
	secret_wipe(a.code, sizeof(a.code));
	tokens_list_wipe(&a.tokens);
	totp_done();
	return pam_rc;
}
