/* SPDX-License-Identifier: BSD-3-Clause */
/* The push branch of pam_phiguard's auth stage. What the user sees is
 * shaped by OpenSSH: an info message is shown only with the next prompt
 * (or at the end), so anything to act on now (a number to match) is the
 * text of a prompt. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "auth_push.h"
#include "conv.h"
#include "err.h"
#include "pamlog.h"
#include "push.h"
#include "push_load.h"
#include "push_path.h"
#include "secret.h"

static const char *outcome_name(enum push_outcome o)
{
	switch (o) {
	case PUSH_APPROVED:
		return "approved";
	case PUSH_DENIED:
		return "denied";
	case PUSH_FRAUD:
		return "fraud";
	case PUSH_TIMEOUT:
		return "timeout";
	case PUSH_REFUSED:
		return "refused";
	case PUSH_REJECTED:
		return "rejected";
	case PUSH_PENDING:
		return "pending";
	case PUSH_ERROR:
	default:
		return "error";
	}
}

/* " to DEVICE" when the provider named it, else "". */
static void to_device(const struct push *p, char *buf, size_t len)
{
	if (p->res.device[0] != '\0')
		snprintf(buf, len, " to %s", p->res.device);
	else
		buf[0] = '\0';
}

/*
 * The push is on its way: say so. With a number to match this is a
 * prompt (the user must see it now); its answer is not used, and a failed
 * conversation stops the push. Returns 0 or PG_ERR_AUTH.
 */
static int tell_sent(struct stage *st, struct push *p)
{
	char msg[PUSH_TEXT_MAX + 200], dev[160];
	char *answer = NULL;

	to_device(p, dev, sizeof(dev));
	if (p->res.number[0] != '\0') {
		snprintf(msg, sizeof(msg),
		         "Push sent%s. Choose %s on your phone, then "
		         "press Enter: ",
		         dev, p->res.number);
		if (conv_ask(st->pamh, msg, &answer) != 0)
			return PG_ERR_AUTH;
		secret_strfree(answer);
		return 0;
	}
	snprintf(msg, sizeof(msg),
	         "Push sent%s. Approve it on your phone (waiting up to %d "
	         "s).%s%s",
	         dev, st->cfg.push.timeout_ms / 1000,
	         p->res.device[0] == '\0' && p->res.message[0] != '\0' ? " "
	                                                               : "",
	         p->res.device[0] == '\0' ? p->res.message : "");
	stage_tell(st, PAM_TEXT_INFO, msg);
	return 0;
}

/* The result, in words, with the provider's (sanitized) text if any. */
static void tell_result(struct stage *st, const struct push *p, int fallback)
{
	char msg[PUSH_TEXT_MAX + 200];
	const char *what;
	int style = PAM_ERROR_MSG;

	switch (p->res.outcome) {
	case PUSH_APPROVED:
		what = "Push approved.";
		style = PAM_TEXT_INFO;
		break;
	case PUSH_DENIED:
		what = "Push denied on the phone: access denied.";
		break;
	case PUSH_FRAUD:
		what = "Push reported as fraud: access denied.";
		break;
	case PUSH_TIMEOUT:
		what = "Push not answered in time: access denied.";
		break;
	case PUSH_REFUSED:
		what = "Push is not available for this account: access denied.";
		break;
	case PUSH_REJECTED:
		what = "The push service refused this login after it was "
		       "approved: access denied.";
		break;
	default:
		what = fallback ? "The push service is not available; use a "
		                  "verification code instead."
		                : "The push service is not available: access "
		                  "denied.";
		break;
	}
	if (p->res.message[0] != '\0' && p->res.outcome != PUSH_APPROVED)
		snprintf(msg, sizeof(msg), "%s (%s: %s)", what,
		         conf_provider_name(p->cfg->provider), p->res.message);
	else
		snprintf(msg, sizeof(msg), "%s", what);
	stage_tell(st, style, msg);
}

/* One line per push: provider, outcome, latency, reason. */
static void log_push(struct stage *st, const struct push_load *pl,
                     const struct push *p)
{
	char detail[512];

	snprintf(detail, sizeof(detail), "provider=%s latency_ms=%ld%s%s",
	         conf_provider_name(st->cfg.push.provider),
	         pl->api != NULL ? pl->api->latency_ms(p) : 0L,
	         p->res.detail[0] != '\0' ? " " : "", p->res.detail);
	pamlog_outcome(
	    st->pamh, p->res.outcome == PUSH_APPROVED ? LOG_INFO : LOG_NOTICE,
	    "push", &st->it, outcome_name(p->res.outcome),
	    p->res.reason != NULL ? p->res.reason : "internal", detail);
}

/*
 * The push client is missing, unsafe or of another version: a provider
 * that cannot be used (PUSH_ERROR), so failmode applies as for an
 * unreachable one: secure denies, safe falls back to a code.
 */
static void client_unavailable(struct push *p, const struct push_cfg *cfg,
                               const char *why)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->res.outcome = PUSH_ERROR;
	p->res.reason = "push-client";
	snprintf(p->res.detail, sizeof(p->res.detail), "%s", why);
}

/* Load the push client (only now: a login that sends no push maps no
 * HTTP/TLS stack) and start the push with it. */
static void start(struct stage *st, struct push_load *pl, struct push *p,
                  const char *pass)
{
	char why[sizeof(p->res.detail)];

	if (push_load_open(pl, push_path_object, why, sizeof(why)) != 0) {
		client_unavailable(p, &st->cfg.push, why);
		return;
	}
	(void)pl->api->start(p, &st->cfg.push, st->it.user, st->it.rhost,
	                     st->it.service, pass);
}

/* push_done, then the push client is released. */
static void finish(struct push_load *pl, struct push *p)
{
	if (pl->api != NULL)
		pl->api->done(p);
	push_load_close(pl);
}

int auth_push_run(struct stage *st, int64_t *locked_until)
{
	struct push_load pl;
	struct push p;
	char *pass = NULL;
	int r, report, fallback = 0, rr;

	*locked_until = 0;
	/* The provider may take its time: hold no daemon connection while
	 * it does, nor while the person answers the push. */
	ask_release(&st->daemon);
	/* trigger=password: the password an earlier module checked. */
	if (st->cfg.push.provider == CONF_PROVIDER_PRIVACYIDEA &&
	    st->cfg.push.trigger_password)
		(void)conv_authtok(st->pamh, &pass);
	start(st, &pl, &p, pass);
	/* The daemon hears of the push before the user does (audit: a push
	 * sent and never resolved is itself worth a record). */
	if (p.res.outcome == PUSH_PENDING &&
	    (rr = ask_report(&st->daemon, &st->it, "push", ASK_REPORT_SENT,
	                     "sent", locked_until)) != 0) {
		stage_detail(st, "report: %s", pg_strerror(rr));
		st->reason = "daemon";
		log_push(st, &pl, &p);
		finish(&pl, &p);
		secret_strfree(pass);
		return rr;
	}
	ask_release(&st->daemon);
	if (p.res.outcome == PUSH_PENDING) {
		if (tell_sent(st, &p) != 0) {
			/* Interrupted: no more polling, and no pass. */
			p.res.outcome = PUSH_DENIED;
			p.res.reason = "conv-error";
		} else {
			pl.api->wait(&p);
		}
	}
	if (p.res.reason == NULL)
		p.res.reason = "internal";
	switch (p.res.outcome) {
	case PUSH_APPROVED:
		r = 0;
		report = ASK_REPORT_SUCCESS;
		break;
	case PUSH_DENIED:
	case PUSH_FRAUD:
	case PUSH_TIMEOUT:
		r = PG_ERR_AUTH;
		report = ASK_REPORT_FAILURE;
		break;
	case PUSH_REFUSED:
	case PUSH_REJECTED:
		/* The provider's decision (about the account, or overruling
		 * the phone), not a guess: an error, never counted. No
		 * failmode fallback either: the provider did answer. */
		r = PG_ERR_AUTH;
		report = ASK_REPORT_ERROR;
		break;
	default:
		fallback = st->cfg.failmode == PAMCFG_FAILMODE_SAFE;
		r = fallback ? AUTH_PUSH_FALLBACK : PG_ERR_UNAVAIL;
		report = ASK_REPORT_ERROR;
		break;
	}
	st->reason = p.res.reason;
	log_push(st, &pl, &p);
	finish(&pl, &p);
	secret_strfree(pass);
	rr = ask_report(&st->daemon, &st->it, "push", report, st->reason,
	                locked_until);
	if (rr != 0) {
		/* The daemon must see every outcome: fail closed. */
		stage_detail(st, "report: %s", pg_strerror(rr));
		st->reason = "daemon";
		return rr;
	}
	tell_result(st, &p, fallback);
	return r;
}
