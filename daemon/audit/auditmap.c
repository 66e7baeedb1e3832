/* SPDX-License-Identifier: BSD-3-Clause */
/* Request + response -> audit events. Every event name the trail can hold
 * for a client request is written here and nowhere else. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "audit/auditmap.h"
#include "err.h"

/* v cut to size - 1 bytes, or "" (copies: every request comes here). */
static void copy(char *dst, size_t size, const char *v)
{
	size_t n = v != NULL ? strnlen(v, size - 1) : 0;

	memcpy(dst, n > 0 ? v : "", n);
	dst[n] = '\0';
}

/* dst has AUDITMAP_ITEM_MAX + 1 bytes. */
static void copy_item(char *dst, const char *v)
{
	size_t n = v != NULL ? proto_item_len(v) : 0;

	memcpy(dst, n > 0 ? v : "", n);
	dst[n] = '\0';
}

void auditmap_request(struct audit_req *ar, const struct pg_msg *req,
                      const char *user, long uid, int was_locked)
{
	const char *named = user == NULL ? proto_get(req, "user") : NULL;

	/* Verbs whose user= is optional (FLUSH) or a request refused before
	 * its user was checked: the name asked about, if it is a name. */
	if (named != NULL && username_check(named) == 0)
		user = named;
	memset(ar, 0, sizeof(*ar));
	ar->verb = req->verb;
	ar->uid = uid;
	ar->was_locked = was_locked;
	ar->has_user = user != NULL;
	copy(ar->user, sizeof(ar->user), user);
	copy_item(ar->service, proto_get(req, "service"));
	copy_item(ar->tty, proto_get(req, "tty"));
	copy_item(ar->rhost, proto_get(req, "rhost"));
	copy(ar->scope, sizeof(ar->scope), proto_get(req, "scope"));
	copy(ar->factor, sizeof(ar->factor), proto_get(req, "factor"));
	copy(ar->result, sizeof(ar->result), proto_get(req, "result"));
	copy(ar->reason, sizeof(ar->reason), proto_get(req, "reason"));
	copy(ar->action, sizeof(ar->action), proto_get(req, "action"));
}

int auditmap_may_grant(enum pg_verb verb)
{
	return verb == PG_VERB_CLAIM || verb == PG_VERB_AUTHZ;
}

/* The next event; beyond AUDITMAP_MAX a sink that is never recorded
 * (cannot happen: every path adds at most that many). */
static struct audit_event *add(struct audit_events *out, const char *event,
                               const char *decision)
{
	struct audit_event *e;

	e = out->n < AUDITMAP_MAX ? &out->ev[out->n++] : &out->spill;
	memset(e, 0, sizeof(*e));
	e->event = event;
	e->decision = decision;
	return e;
}

static const char *nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static int is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static void report(const struct audit_req *ar, const struct pg_msg *resp,
                   struct audit_events *out)
{
	const char *reason = nz(ar->reason), *event, *decision = "deny";
	struct audit_event *e;

	if (is(ar->factor, "push")) {
		if (is(ar->result, "success")) {
			event = "push-approved";
			decision = "allow";
		} else if (is(ar->result, "error"))
			event = "push-error";
		else if (is(ar->result, "sent")) {
			event = "push-sent";
			decision = NULL;
		} else if (is(reason, "push-denied"))
			event = "push-denied";
		else if (is(reason, "push-timeout"))
			event = "push-timeout";
		else
			event = "factor-failure";
	} else if (is(ar->result, "success")) {
		event = "factor-success";
		decision = "allow";
	} else
		event = "factor-failure";
	e = add(out, event, decision);
	e->factor = nz(ar->factor);
	e->reason = reason;
	/* This report locked the user: a lockout of its own. */
	if (is(proto_get(resp, "locked"), "yes") && !ar->was_locked) {
		e = add(out, "lockout", "deny");
		e->factor = nz(ar->factor);
		e->reason = "max-failures";
		e->alert = 1;
	}
}

/* AUTHZ and CHECK answers, OK or ERR. */
static void authz(const struct audit_req *ar, const struct pg_msg *resp,
                  int status, enum conf_audit_checks checks,
                  struct audit_events *out)
{
	int check = ar->verb == PG_VERB_CHECK;
	const char *bg = nz(proto_get(resp, "breakglass"));
	struct audit_event *e;

	if (status != 0 || !is(proto_get(resp, "allowed"), "yes")) {
		if (check && checks == CONF_AUDIT_CHECKS_NONE)
			return;
		e = add(out, check ? "check-deny" : "authz-deny", "deny");
		e->reason = status != 0 ? nz(proto_get(resp, "code"))
		                        : nz(proto_get(resp, "reason"));
		e->source = nz(proto_get(resp, "source"));
		e->scopes = check ? nz(ar->scope) : NULL;
		return;
	}
	if (!check || checks == CONF_AUDIT_CHECKS_ALL) {
		e = add(out, check ? "check-allow" : "authz-allow", "allow");
		e->scopes =
		    check ? nz(ar->scope) : nz(proto_get(resp, "scopes"));
		e->rule = nz(proto_get(resp, "rule"));
		e->source = nz(proto_get(resp, "source"));
		e->grant = !check;
	}
	/* Loud whatever audit_checks says, and a grant in its own right. */
	if (bg != NULL) {
		e = add(out, "break-glass", "allow");
		e->scopes = bg;
		e->rule = nz(proto_get(resp, "rule"));
		e->source = nz(proto_get(resp, "source"));
		e->reason = check ? "check" : "login";
		e->grant = 1;
		e->alert = 1;
	}
}

void auditmap_late(const struct audit_req *ar, const struct pg_msg *resp,
                   enum conf_audit_checks checks, struct audit_events *out)
{
	int check = ar->verb == PG_VERB_CHECK;
	struct audit_event *e;

	memset(out, 0, sizeof(*out));
	if ((!check && ar->verb != PG_VERB_AUTHZ) ||
	    (check && checks == CONF_AUDIT_CHECKS_NONE))
		return;
	e = add(out, check ? "check-late" : "authz-late", "deny");
	e->reason = "late";
	e->source = nz(proto_get(resp, "source"));
	e->scopes = check ? nz(ar->scope) : NULL;
}

/* The records of a verb's answer (status, code), other than a refusal. */
static void verb_events(const struct audit_req *ar, const struct pg_msg *resp,
                        int status, const char *code,
                        enum conf_audit_checks checks,
                        struct audit_events *out);

void auditmap_events(const struct audit_req *ar, const struct pg_msg *resp,
                     enum conf_audit_checks checks, struct audit_events *out)
{
	int status = proto_response_status(resp);
	const char *code = nz(proto_get(resp, "code"));
	const char *verb = proto_verb_name(ar->verb);
	struct audit_event *e;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* A caller asking beyond its rights, or turned away while the trail
	 * is busy (dispatch.c): worth a record whatever it asked, with its
	 * uid and the verb, once per interval. */
	if (status == PG_ERR_PERM || status == PG_ERR_BAD_USER ||
	    (status == PG_ERR_BUSY &&
	     is(proto_get(resp, "msg"), "audit-busy"))) {
		e = add(out, "refused", "deny");
		snprintf(out->note, sizeof(out->note), "%s %s",
		         code != NULL ? code : "?", verb != NULL ? verb : "?");
		e->reason = out->note;
		e->admin = 1;
		e->aggregate = 1;
		e->noise = 1;
		return;
	}
	verb_events(ar, resp, status, code, checks, out);
	/* Site mode decided without the directory (offline.h): every
	 * record of it says so, as a serve-stale AUTHZ says source=stale. */
	if (is(proto_get(resp, "offline"), "yes"))
		for (i = 0; i < out->n; i++)
			out->ev[i].source = "offline";
}

static void verb_events(const struct audit_req *ar, const struct pg_msg *resp,
                        int status, const char *code,
                        enum conf_audit_checks checks, struct audit_events *out)
{
	struct audit_event *e;

	switch (ar->verb) {
	case PG_VERB_PREAUTH:
		/* Answered "locked": no prompt, a login refused. */
		if (status == 0 && is(proto_get(resp, "locked"), "yes")) {
			e = add(out, "preauth-deny", "deny");
			e->reason = nz(proto_get(resp, "reason")) != NULL
			                ? nz(proto_get(resp, "reason"))
			                : "locked";
			e->aggregate = 1;
		}
		break;
	case PG_VERB_CLAIM:
		if (status == 0) {
			e = add(out, "totp-claim", "allow");
			e->grant = 1;
			/* report=yes: the success REPORT it stands for, as
			 * that REPORT's own record. */
			if (is(proto_get(resp, "reported"), "yes")) {
				e->factor = "totp";
				e = add(out, "factor-success", "allow");
				e->reason = nz(ar->reason);
			}
		} else if (status == PG_ERR_REPLAY) {
			e = add(out, "replay", "deny");
			e->reason = "replay";
		} else {
			e = add(out, "totp-claim", "deny");
			e->reason =
			    is(proto_get(resp, "msg"), "audit-unavailable")
			        ? "audit-unavailable"
			        : code;
		}
		e->factor = "totp";
		break;
	case PG_VERB_REPORT:
		if (status == 0)
			report(ar, resp, out);
		break;
	case PG_VERB_AUTHZ:
	case PG_VERB_CHECK:
		authz(ar, resp, status, checks, out);
		break;
	case PG_VERB_SESSION:
		if (status == 0)
			add(out,
			    is(ar->action, "open") ? "session-open"
			                           : "session-close",
			    NULL);
		break;
	case PG_VERB_UNLOCK:
		if (status == 0) {
			e = add(out, "unlock", "allow");
			e->admin = 1;
			e->reason = is(proto_get(resp, "was_locked"), "yes")
			                ? "was-locked"
			                : "not-locked";
		}
		break;
	case PG_VERB_FLUSH:
		if (status == 0) {
			e = add(out, "cache-flush", "allow");
			e->admin = 1;
			snprintf(out->note, sizeof(out->note), "flushed=%s",
			         proto_get(resp, "flushed") != NULL
			             ? proto_get(resp, "flushed")
			             : "?");
			e->reason = out->note;
		}
		break;
	case PG_VERB_RELOAD:
		e = add(out, "reload", status == 0 ? "allow" : "deny");
		e->admin = 1;
		e->reason =
		    status == 0 ? "accepted" : nz(proto_get(resp, "msg"));
		break;
	default:
		/* STATUS, EXPLAIN, AUDIT: no decision to record (an AUDIT
		 * rotation records itself). */
		break;
	}
}
