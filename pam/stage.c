/* SPDX-License-Identifier: BSD-3-Clause */
/* The steps every pam_phiguard stage takes before and after its own work. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "err.h"
#include "stage.h"
#include "username.h"

void stage_init(struct stage *s, pam_handle_t *pamh, int flags)
{
	memset(s, 0, sizeof(*s));
	s->pamh = pamh;
	s->flags = flags;
	s->reason = "internal";
	s->it.user = s->it.service = s->it.rhost = s->it.tty = "";
}

void stage_detail(struct stage *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	s->has_detail = 1;
}

void stage_tell(struct stage *s, int style, const char *text)
{
	conv_tell(s->pamh, s->flags, style, text);
	if (style == PAM_ERROR_MSG)
		s->told = 1;
}

static void log_unknown_args(const struct stage *s)
{
	char esc[128];
	size_t i;

	for (i = 0; i < s->cfg.n_unknown && i < PAMCFG_MAX_UNKNOWN; i++)
		pamlog_msg(
		    s->pamh, LOG_WARNING, "unknown option '%s' ignored",
		    pamlog_escape(s->cfg.unknown[i], 0, esc, sizeof(esc)));
	if (s->cfg.n_unknown > PAMCFG_MAX_UNKNOWN)
		pamlog_msg(s->pamh, LOG_WARNING,
		           "%zu more unknown options ignored",
		           s->cfg.n_unknown - PAMCFG_MAX_UNKNOWN);
}

/* Errors in the file that the module went past, with the default used:
 * once per call, so each login's log shows why it ran on defaults. */
static void log_conf_errors(const struct stage *s)
{
	char esc[PG_CONF_ERRLEN];
	size_t i;

	for (i = 0; i < s->cfg.n_conf_errors && i < PAMCFG_MAX_CONF_ERRORS; i++)
		pamlog_msg(
		    s->pamh, LOG_ERR,
		    "config error ignored, built-in default used: %s",
		    pamlog_escape(s->cfg.conf_errors[i], 1, esc, sizeof(esc)));
	if (s->cfg.n_conf_errors > PAMCFG_MAX_CONF_ERRORS)
		pamlog_msg(s->pamh, LOG_ERR,
		           "%zu more config errors ignored, built-in defaults "
		           "used",
		           s->cfg.n_conf_errors - PAMCFG_MAX_CONF_ERRORS);
}

int stage_setup(struct stage *s, int argc, const char **argv)
{
	char err[PG_CONF_ERRLEN];
	int r, rargs;

	pamcfg_defaults(&s->cfg);
	rargs = pamcfg_parse_args(&s->cfg, argc, argv, err, sizeof(err));
	/* Items first, so that even a bad-option line names the user. */
	r = conv_items(s->pamh, &s->it);
	if (rargs != 0) {
		s->reason = "bad-option";
		stage_detail(s, "%s", err);
		return rargs;
	}
	log_unknown_args(s);
	/* A name that can never be enrolled is refused before anything
	 * else: nothing about it is worth asking the daemon. */
	if (r != 0 || (r = username_check(s->it.user)) != 0) {
		s->reason = "bad-user";
		return PG_ERR_BAD_USER;
	}
	if ((r = pamcfg_resolve(&s->cfg, err, sizeof(err))) != 0) {
		s->reason = "config";
		stage_detail(s, "%s", err);
		return r;
	}
	log_conf_errors(s);
	ask_init(&s->daemon, s->cfg.socket, s->cfg.timeout_ms);
	pamlog_debug(
	    s->pamh, s->cfg.debug,
	    "config=%s tokens=%s socket=%s window=%ld "
	    "daemon_timeout=%dms no_token=%s code_from=%s daemon_down=%s "
	    "factors=%s%s%s failmode=%s push=%s",
	    s->cfg.config, s->cfg.tokens, s->cfg.socket, s->cfg.window,
	    s->cfg.timeout_ms,
	    s->cfg.no_token == PAMCFG_NO_TOKEN_DENY ? "deny" : "ignore",
	    s->cfg.authtok == PAMCFG_AUTHTOK_USE   ? "authtok"
	    : s->cfg.authtok == PAMCFG_AUTHTOK_TRY ? "authtok-or-prompt"
	                                           : "prompt",
	    s->cfg.daemon_down == PAMCFG_DAEMON_DOWN_DENY ? "deny" : "ignore",
	    (s->cfg.factors & PAMCFG_FACTOR_TOTP) ? "totp" : "",
	    s->cfg.factors == (PAMCFG_FACTOR_TOTP | PAMCFG_FACTOR_PUSH) ? ","
	                                                                : "",
	    (s->cfg.factors & PAMCFG_FACTOR_PUSH) ? "push" : "",
	    s->cfg.failmode == PAMCFG_FAILMODE_SAFE ? "safe" : "secure",
	    conf_provider_name(s->cfg.push.provider));
	return 0;
}

/*
 * Could the daemon not be asked at all (no socket, refused, dropped, no
 * answer in time)? Only these fall under daemon_down=ignore.
 */
static int daemon_unreachable(int err)
{
	return err == PG_ERR_UNAVAIL || err == PG_ERR_TIMEOUT;
}

static int log_priority(int pam_rc)
{
	switch (pam_rc) {
	case PAM_SUCCESS:
	case PAM_IGNORE:
		return LOG_INFO;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_PERM_DENIED:
		return LOG_NOTICE;
	default:
		return LOG_ERR;
	}
}

void stage_log(const struct stage *s, const char *event, int pam_rc,
               const char *result)
{
	pamlog_outcome(s->pamh, log_priority(pam_rc), event, &s->it, result,
	               s->reason, s->has_detail ? s->detail : NULL);
}

int stage_finish(const struct stage *s, enum result_stage stage,
                 const char *event, int r)
{
	const char *result = "failure";
	int pam_rc;

	/* Only an outage is the admin's to wave through: a daemon that
	 * answers wrongly, or an impostor, always fails. */
	if (r != 0 && daemon_unreachable(r) &&
	    s->cfg.daemon_down == PAMCFG_DAEMON_DOWN_IGNORE) {
		pam_rc = PAM_IGNORE;
		result = "ignore";
	} else {
		pam_rc = result_to_pam_stage(stage, r);
		if (pam_rc == PAM_SUCCESS)
			result = "success";
	}
	stage_log(s, event, pam_rc, result);
	return pam_rc;
}
