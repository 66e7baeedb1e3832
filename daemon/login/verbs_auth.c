/* SPDX-License-Identifier: BSD-3-Clause */
/* The login-path verbs: PREAUTH (locked? push offered?), CLAIM (a TOTP
 * step, once, and with report=yes its success) and REPORT (the outcome of a
 * second factor, for lockout and push fatigue). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "core/pending.h"
#include "detect/alert.h"
#include "err.h"
#include "log.h"
#include "login/offline.h"
#include "login/state.h"
#include "login/statelog.h"
#include "secret.h"
#include "tokens/tokstore.h"
#include "core/verbs.h"

#define REASON_MAX 64

/* Build "OK locked=no" or "OK locked=yes until=T". */
static int lock_fields(struct pg_msg *resp, int64_t until)
{
	int rc;

	if (until == 0)
		return proto_add(resp, "locked", "no");
	if ((rc = proto_add(resp, "locked", "yes")) != 0 ||
	    (rc = proto_add_i64(resp, "until", until)) != 0)
		return rc;
	return 0;
}

/* Append "push=yes" or "push=no push_until=T". */
static int push_fields(struct pg_msg *resp, int64_t push_until)
{
	int rc;

	if (push_until == 0)
		return proto_add(resp, "push", "yes");
	if ((rc = proto_add(resp, "push", "no")) != 0 ||
	    (rc = proto_add_i64(resp, "push_until", push_until)) != 0)
		return rc;
	return 0;
}

/* The state table has no room for this user: which bound (state.h) was
 * hit, rather than dispatch's "too many clients or requests". */
static int table_full(struct pg_msg *resp, int unenrolled)
{
	int rc;

	proto_make_error(resp, PG_ERR_BUSY, "state-table-full");
	if ((rc = proto_add(resp, "table",
	                    unenrolled ? "unenrolled" : "enrolled")) != 0)
		return rc;
	return proto_add_u64(resp, "limit",
	                     unenrolled ? PG_STATE_MAX_UNENROLLED
	                                : PG_STATE_MAX_USERS);
}

/* The refused source (spray_block) of a request, or 0. */
static int64_t source_block(struct pg_daemon *d, const struct pg_request *req)
{
	int64_t until = 0;

	if (!alert_source_blocked(d->alert, proto_get(req->msg, "rhost"),
	                          proto_get(req->msg, "tty"), req->now, &until))
		return 0;
	return until;
}

/* A request parked on the token store in the directory ([tokens] store
 * = ldap): a copy of what its end needs. */
struct site_req {
	struct pg_daemon *d;
	struct pg_peer peer;
	struct pg_msg msg;
	struct pg_request req;       /* pointing into the above */
	uint64_t step_start;         /* CLAIM */
	int report;                  /* CLAIM */
	struct tokjob *claim_job;    /* CLAIM: the directory's decision */
	int floor_queued;            /* CLAIM: the step's record not durable */
	int floor_rc;                /* CLAIM: why it could not be made so */
	struct pg_report_result res; /* REPORT: the local outcome */
	int64_t was_locked;          /* REPORT */
	int success;                 /* REPORT */
	int changed;                 /* UNLOCK */
	struct pg_msg resp;          /* UNLOCK: the local answer */
};

static struct site_req *site_req_new(struct pg_daemon *d,
                                     const struct pg_request *req)
{
	struct site_req *sr = calloc(1, sizeof(*sr));

	if (sr == NULL)
		return NULL;
	sr->d = d;
	sr->peer = *req->peer;
	if (pending_copy_msg(&sr->msg, req->msg) != 0) {
		free(sr);
		return NULL;
	}
	sr->req = *req;
	sr->req.peer = &sr->peer;
	sr->req.msg = &sr->msg;
	sr->req.user = proto_get(&sr->msg, "user");
	return sr;
}

/* Hand sr to the token store's worker as a job of kind, finished by
 * finish on the loop. VERB_PARKED, or an error (sr freed). */
static int site_park(struct site_req *sr, enum tokjob_kind kind,
                     void (*finish)(struct tokjob *j))
{
	struct tokjob *j = tokjob_new(kind, sr->req.user, sr->req.now);
	int rc = PG_ERR_NOMEM;

	if (j == NULL)
		goto out;
	j->step_start = sr->step_start;
	j->report = sr->report;
	j->finish = finish;
	j->arg = sr;
	if ((rc = tokstore_submit(sr->d->tokens, j)) == 0)
		return VERB_PARKED;
	tokjob_free(j);
out:
	free(sr);
	return rc;
}

/* End a parked request with what a handler would have returned, and free
 * the job and its request. */
static void site_end(struct tokjob *j, int rc, struct pg_msg *resp)
{
	struct site_req *sr = j->arg;

	if (rc != VERB_PARKED)
		dispatch_complete(sr->d, sr->req.ticket, rc,
		                  rc == 0 ? resp : NULL);
	secret_wipe(resp, sizeof(*resp));
	free(sr);
	tokjob_free(j);
}

/* The directory could not decide: a denial, logged with its reason. */
static void directory_unreachable(const struct tokjob *j, const char *verb,
                                  struct pg_msg *resp)
{
	log_warnx("tokens: %s user=%s: the directory did not answer (%s): "
	          "refused",
	          verb, j->user, pg_err_name(j->rc));
	proto_make_error(resp, PG_ERR_UNAVAIL, "directory-unreachable");
}

/* PREAUTH's answer; dir_until: the end of a lock the directory holds (0:
 * none). */
static int preauth_answer(struct pg_daemon *d, const struct pg_request *req,
                          struct pg_msg *resp, int64_t dir_until)
{
	int64_t until, push_until, blocked = source_block(d, req);
	int rc;

	state_lock_until(d->state, req->user, req->now, &until);
	if (dir_until > until)
		until = dir_until;
	state_push_until(d->state, req->user, req->now, &push_until);
	proto_msg_init(resp, PG_VERB_OK);
	/* A refused source is answered as a lock: no prompt, no guess. */
	if ((rc = lock_fields(resp, blocked > until ? blocked : until)) != 0 ||
	    (blocked != 0 &&
	     (rc = proto_add(resp, "reason", "source-blocked")) != 0))
		return rc;
	return push_fields(resp, push_until);
}

/* The token records of a site-mode PREAUTH (proto.h): last in the answer,
 * so that the decision log can withhold them. */
static int token_fields(struct pg_msg *resp, const char *line)
{
	int rc;

	if ((rc = proto_add_u64(resp, "tokens", line != NULL ? 1 : 0)) != 0 ||
	    line == NULL)
		return rc;
	return proto_add(resp, "token0", line);
}

/*
 * With the directory reachable its failure state is the truth: a lock
 * held here only (its failures cleared at another terminal, by an unlock
 * there or a success) is lifted here too, and made durable with the
 * answer. 1 if the state changed.
 */
static int follow_directory_lock(struct pg_daemon *d,
                                 const struct pg_request *req,
                                 int64_t dir_until)
{
	struct pg_unlock_result ur;
	int64_t until;

	state_lock_until(d->state, req->user, req->now, &until);
	/* Failures counted here offline and not yet written back are not
	 * in the directory's count: the local lock stands until they are. */
	if (until == 0 || dir_until != 0 || offline_unwritten(d, req->user) ||
	    state_unlock(d->state, req->user, req->now, &ur) != 0)
		return 0;
	log_info("tokens: user=%s: unlocked here, the directory holds no lock",
	         req->user);
	return ur.changed;
}

/* A PREAUTH the directory could not answer, from the kept record: the
 * lock as counted here, offline=yes. 1 if served (*rc), else 0. */
static int preauth_offline(struct tokjob *j, struct pg_msg *resp, int *rc)
{
	struct site_req *sr = j->arg;
	struct tokkeep_rec *k = offline_record(sr->d, j, sr->req.now);

	if (k == NULL)
		return 0;
	log_info("tokens: PREAUTH user=%s: directory unreachable (%s): "
	         "offline, record read %lld s ago",
	         j->user, pg_err_name(j->rc),
	         (long long)(sr->req.now - k->read_at));
	if ((*rc = preauth_answer(sr->d, &sr->req, resp, 0)) == 0 &&
	    (*rc = proto_add(resp, "offline", "yes")) == 0 &&
	    peer_is_root(&sr->peer))
		*rc = token_fields(resp, k->line);
	return 1;
}

static void preauth_done(struct tokjob *j)
{
	struct site_req *sr = j->arg;
	struct pg_msg resp;
	int64_t dir_until = 0;
	int rc = 0, changed = 0;

	if (j->rc != 0) {
		if (!preauth_offline(j, &resp, &rc))
			directory_unreachable(j, "PREAUTH", &resp);
	} else {
		offline_keep(sr->d, j->user, &j->rec, sr->req.now);
		if (j->rec.found) {
			dir_until =
			    tokrec_lock_until(&j->rec.st, &j->lim, sr->req.now);
			changed =
			    follow_directory_lock(sr->d, &sr->req, dir_until);
		}
		rc = preauth_answer(sr->d, &sr->req, &resp, dir_until);
		/* Secrets go to root only: the module runs as root at a
		 * login; a user asking about themselves gets the lock. */
		if (rc == 0 && peer_is_root(&sr->peer))
			rc = token_fields(&resp,
			                  j->rec.found ? j->rec.line : NULL);
		if (rc == 0 && changed)
			rc = verb_persist(sr->d, &sr->req, &resp, NULL);
	}
	site_end(j, rc, &resp);
}

int verb_preauth(struct pg_daemon *d, const struct pg_request *req,
                 struct pg_msg *resp)
{
	struct site_req *sr;

	if (d->tokens == NULL)
		return preauth_answer(d, req, resp, 0);
	if ((sr = site_req_new(d, req)) == NULL)
		return PG_ERR_NOMEM;
	return site_park(sr, TOKJOB_READ, preauth_done);
}

/* What a REPORT tells threat detection, once its change is durable (as
 * before the writer thread: a REPORT answered ERR raises nothing). */
struct report_event {
	struct pg_daemon *d;
	int success;
	int locked_now; /* this report locked the user */
	struct pg_report_result res;
	int64_t now;
	const char *user, *rhost, *tty, *service; /* may be NULL but user */
};

static void report_alerts(struct pg_alert *al, const struct report_event *ev)
{
	struct detect_alert a;

	if (ev->success) {
		alert_success(al, ev->user, ev->rhost, ev->tty, ev->now);
		return;
	}
	alert_failure(al, ev->user, ev->rhost, ev->tty, ev->now);
	if (ev->locked_now) {
		detect_alert_bruteforce(&a, ev->user, ev->rhost, ev->tty,
		                        ev->now, ev->res.nfail, ev->res.until);
		alert_emit(al, &a);
	}
	if (ev->res.push_suspended_now) {
		detect_alert_pushfatigue(&a, ev->user, ev->rhost, ev->tty,
		                         ev->now, ev->res.push_until);
		alert_emit(al, &a);
	}
}

/* The event of req's outcome res (success or not), its items from
 * req. */
static void report_event_init(struct report_event *ev, struct pg_daemon *d,
                              const struct pg_request *req,
                              const struct pg_report_result *res, int success)
{
	memset(ev, 0, sizeof(*ev));
	ev->d = d;
	ev->success = success;
	ev->res = *res;
	ev->now = req->now;
	ev->user = req->user;
	ev->rhost = proto_get(req->msg, "rhost");
	ev->tty = proto_get(req->msg, "tty");
	ev->service = proto_get(req->msg, "service");
}

static int reason_ok(const char *s);
static void claim_site_reset(struct site_req *sr,
                             const struct pg_report_result *res);
static int claim_report_persist(struct pg_daemon *d,
                                const struct pg_request *req,
                                const struct pg_msg *resp,
                                const struct pg_report_result *res);

/*
 * CLAIM report=yes [reason=]: is the claim also the attempt's success
 * REPORT? *report 1 if so, 0 without report=. An ERR in *resp (and 1
 * returned) for a bad report= or reason=.
 */
static int claim_reports(const struct pg_request *req, struct pg_msg *resp,
                         int *report)
{
	const char *rep = proto_get(req->msg, "report");
	const char *reason = proto_get(req->msg, "reason");

	*report = rep != NULL;
	if (rep != NULL && strcmp(rep, "yes") != 0) {
		proto_make_error(resp, PG_ERR_INVAL, "report");
		return 1;
	}
	if (*report && reason != NULL && !reason_ok(reason)) {
		proto_make_error(resp, PG_ERR_INVAL, "reason");
		return 1;
	}
	return 0;
}

/* A refused claim as its answer: locked, replay, table full; else rc. */
static int claim_refused(struct pg_msg *resp, int rc, int64_t until)
{
	if (rc == PG_ERR_LOCKED) {
		proto_make_error(resp, rc, "user is locked out");
		return proto_add_i64(resp, "until", until);
	}
	if (rc == PG_ERR_REPLAY) {
		proto_make_error(resp, rc, "step already used");
		return 0;
	}
	if (rc == PG_ERR_BUSY)
		return table_full(resp, 0);
	return rc;
}

/* CLAIM's checks before any decision: 1 if *resp holds the answer. */
static int claim_parse(struct pg_daemon *d, const struct pg_request *req,
                       struct pg_msg *resp, uint64_t *step_start, int *report,
                       int *rc)
{
	int64_t until;

	*rc = 0;
	if ((*rc = proto_get_u64(req->msg, "step_start", UINT64_MAX,
	                         step_start)) != 0) {
		proto_make_error(resp, *rc, "step_start");
		*rc = 0;
		return 1;
	}
	if (claim_reports(req, resp, report))
		return 1;
	/* A step far ahead would make every code until then a "replay":
	 * a denial of service against the user, and the recovery floor
	 * (state.h) assumes no accepted step starts beyond this. */
	if (req->now < 0 ||
	    *step_start > (uint64_t)req->now + PG_PROTO_MAX_SKEW) {
		proto_make_error(resp, PG_ERR_INVAL,
		                 "step_start is in the future");
		return 1;
	}
	if ((until = source_block(d, req)) != 0) {
		proto_make_error(resp, PG_ERR_LOCKED, "source-blocked");
		*rc = proto_add_i64(resp, "until", until);
		return 1;
	}
	return 0;
}

/* A claim with the file store: in the daemon's own state, made durable
 * before it is answered. */
static int claim_local(struct pg_daemon *d, const struct pg_request *req,
                       struct pg_msg *resp, uint64_t step_start, int report)
{
	struct pg_report_result res;
	int64_t until;
	int rc;

	rc = state_claim(d->state, req->user, step_start, req->now, &until);
	if (rc == PG_ERR_LOCKED || rc == PG_ERR_REPLAY || rc == PG_ERR_BUSY)
		return claim_refused(resp, rc, until);
	/* report=yes: what REPORT factor=totp result=success does, in the
	 * same change as the claim (one log record, below), so that no
	 * crash can separate the used step from its recorded success. The
	 * entry exists now: no bound can refuse it. */
	if (rc == 0 && report)
		rc = state_report(d->state, req->user, 1, req->now, &res);
	if (rc != 0)
		return rc;
	/*
	 * Durable before OK: once the module has told the user "accepted",
	 * a crash must not make the same code work again. If the write
	 * fails the step stays claimed in memory and the login is refused:
	 * both err on the side of denying. Meanwhile the step is claimed
	 * in memory: the same code again is a replay.
	 */
	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = proto_add(resp, "claimed", "yes")) != 0)
		return rc;
	if (!report)
		return verb_persist(d, req, resp, NULL);
	if ((rc = proto_add(resp, "reported", "yes")) != 0)
		return rc;
	return claim_report_persist(d, req, resp, &res);
}

/*
 * A site-mode claim the directory accepted (or, offline, the kept record
 * allows): the step is claimed in memory and durable already
 * (claim_site below); report=yes then resets the failures here as REPORT does.
 * That record is queued without holding the answer: the directory's count,
 * reset by the same compare-and-swap, is the truth while it answers, and
 * a reset lost in a crash only leaves a stricter count here, which the
 * next PREAUTH lifts (follow_directory_lock).
 */
static int claim_site_accepted(struct site_req *sr, struct pg_msg *resp,
                               int offline)
{
	struct pg_report_result res;
	int rc;

	if (sr->floor_rc != 0)
		return sr->floor_rc;
	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = proto_add(resp, "claimed", "yes")) != 0 ||
	    (offline && (rc = proto_add(resp, "offline", "yes")) != 0) ||
	    !sr->report)
		return rc;
	if ((rc = state_report(sr->d->state, sr->req.user, 1, sr->req.now,
	                       &res)) != 0 ||
	    (rc = proto_add(resp, "reported", "yes")) != 0)
		return rc;
	claim_site_reset(sr, &res);
	return 0;
}

/* A claim the directory could not decide, for a user with a kept record:
 * decided against the daemon's own floor (checked and raised already)
 * and the kept watermark, written back later (offline.h). 1 if decided
 * (*rc, *resp), else 0. */
static int claim_offline(struct tokjob *j, struct pg_msg *resp, int *rc)
{
	struct site_req *sr = j->arg;
	struct tokkeep_rec *k = offline_record(sr->d, j, sr->req.now);

	if (k == NULL)
		return 0;
	if (sr->step_start % k->period != 0) {
		proto_make_error(resp, PG_ERR_INVAL,
		                 "step_start is not a step of the token");
		*rc = 0;
		return 1;
	}
	/* The directory's watermark as last read is a floor too: a code
	 * another terminal used before the outage stays used. */
	if (sr->step_start / k->period <= k->dir_step) {
		*rc = claim_refused(resp, PG_ERR_REPLAY, 0);
		return 1;
	}
	log_info("tokens: CLAIM user=%s: directory unreachable (%s): decided "
	         "offline",
	         j->user, pg_err_name(j->rc));
	*rc = claim_site_accepted(sr, resp, 1);
	if (*rc == 0 && proto_response_status(resp) == 0) {
		tokkeep_claimed(tokstore_kept(sr->d->tokens), k);
		if (sr->report)
			tokkeep_succeeded(tokstore_kept(sr->d->tokens), k);
	}
	return 1;
}

/* Both halves of a site-mode claim are in (the directory's decision and
 * the step's record): its answer. */
static void claim_site_end(struct site_req *sr)
{
	struct tokjob *j = sr->claim_job;
	struct pg_msg resp;
	int rc = 0;

	switch (j->rc) {
	case 0:
		rc = claim_site_accepted(sr, &resp, 0);
		break;
	case PG_ERR_LOCKED:
	case PG_ERR_REPLAY:
		rc = claim_refused(&resp, j->rc, j->until);
		break;
	case PG_ERR_INVAL:
		proto_make_error(&resp, PG_ERR_INVAL,
		                 "step_start is not a step of the token");
		break;
	case PG_ERR_NOTFOUND:
		proto_make_error(&resp, PG_ERR_NOTFOUND,
		                 "no token in the directory");
		break;
	default:
		if (!claim_offline(j, &resp, &rc))
			directory_unreachable(j, "CLAIM", &resp);
	}
	site_end(j, rc, &resp);
}

/* The directory has decided a site-mode claim. */
static void claim_done(struct tokjob *j)
{
	struct site_req *sr = j->arg;

	sr->claim_job = j;
	if (!sr->floor_queued)
		claim_site_end(sr);
}

/* The step's record is durable (rc 0) or cannot be made so. */
static void claim_floor_durable(void *arg, int rc)
{
	struct site_req *sr = arg;

	sr->floor_queued = 0;
	sr->floor_rc = rc;
	if (sr->claim_job != NULL)
		claim_site_end(sr);
}

/*
 * A site-mode CLAIM: the daemon's own floor first (a step at or below it
 * is a replay, whatever the directory holds), then the step is claimed
 * here and its record goes to the state log's writer while the directory
 * decides, so a login waits for the slower of the two rather than for
 * both in turn; it is answered when both are in. Claiming here before
 * the directory has decided only ever refuses more: a step the directory
 * refuses was used at another terminal or belongs to a locked account,
 * and one it cannot decide is decided offline against the same floor.
 */
static int claim_site(struct pg_daemon *d, const struct pg_request *req,
                      struct pg_msg *resp, uint64_t step_start, int report)
{
	struct statelog_after floor = {claim_floor_durable, NULL};
	struct site_req *sr;
	int64_t until;
	int rc;

	rc = state_claim(d->state, req->user, step_start, req->now, &until);
	if (rc != 0)
		return claim_refused(resp, rc, until);
	if ((sr = site_req_new(d, req)) == NULL)
		return PG_ERR_NOMEM;
	sr->step_start = step_start;
	sr->report = report;
	if ((rc = site_park(sr, TOKJOB_CLAIM, claim_done)) != VERB_PARKED)
		return rc;
	/* From here sr is the job's, and claim_done comes later, on the
	 * loop: a record that cannot be queued is that claim's error. */
	floor.arg = sr;
	rc =
	    statelog_submit_then(d->log, d->state, req->user, req->now, &floor);
	sr->floor_queued = rc == PG_STATELOG_QUEUED;
	sr->floor_rc = sr->floor_queued ? 0 : rc;
	return VERB_PARKED;
}

int verb_claim(struct pg_daemon *d, const struct pg_request *req,
               struct pg_msg *resp)
{
	uint64_t step_start;
	int rc, report;

	if (claim_parse(d, req, resp, &step_start, &report, &rc))
		return rc;
	if (d->tokens == NULL)
		return claim_local(d, req, resp, step_start, report);
	return claim_site(d, req, resp, step_start, report);
}

int verb_persist(struct pg_daemon *d, const struct pg_request *req,
                 const struct pg_msg *resp, const struct statelog_after *after)
{
	int rc = statelog_submit(d->log, d->state, req->user, req->now,
	                         req->ticket, resp, after);

	return rc == PG_STATELOG_QUEUED ? VERB_PARKED : rc;
}

/* A reason is a short token; it is logged, so nothing else gets in. */
static int reason_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= REASON_MAX ||
		    !((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return 0;
	return i > 0;
}

/* key must be present and one of choices (NULL-terminated); its index. */
static int get_choice(const struct pg_msg *msg, const char *key,
                      const char *const *choices, int *index)
{
	const char *v = proto_get(msg, key);
	int i;

	if (v == NULL)
		return PG_ERR_MISSING;
	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(v, choices[i]) == 0) {
			*index = i;
			return 0;
		}
	return PG_ERR_INVAL;
}

enum report_factor { REPORT_TOTP, REPORT_PUSH };
enum report_result {
	REPORT_SUCCESS,
	REPORT_FAILURE,
	REPORT_ERROR, /* push: the provider failed */
	REPORT_SENT,  /* push: on its way (audit only) */
};

static const char *const report_factors[] = {"totp", "push", NULL};
static const char *const report_enrolled[] = {"yes", "no", NULL};
static const char *const report_results[] = {"success", "failure", "error",
                                             "sent", NULL};

/* The current lock and push state as a REPORT answer. */
static int report_answer(struct pg_msg *resp,
                         const struct pg_report_result *res, int offline)
{
	int rc;

	proto_msg_init(resp, PG_VERB_OK);
	if ((rc = lock_fields(resp, res->locked ? res->until : 0)) != 0 ||
	    (rc = proto_add_u64(resp, "failures", res->nfail)) != 0 ||
	    (rc = push_fields(resp, res->push_until)) != 0 ||
	    (offline && (rc = proto_add(resp, "offline", "yes")) != 0))
		return rc;
	return 0;
}

/* A report_event whose strings it owns, for a parked REPORT. */
struct report_later {
	struct report_event ev;
	char *user, *rhost, *tty, *service;
};

static void report_later_free(struct report_later *l)
{
	free(l->user);
	free(l->rhost);
	free(l->tty);
	free(l->service);
	free(l);
}

/* A PAM item as alert_release() takes it: NULL when absent or empty. */
static const char *item_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* statelog_after: the REPORT has been answered; its alerts follow its
 * audit records with its items, as dispatch does for unparked ones. */
static void report_after(void *arg, int rc)
{
	struct report_later *l = arg;
	struct pg_alert *al = l->ev.d->alert;

	if (rc == 0) {
		alert_hold(al);
		report_alerts(al, &l->ev);
		alert_release(al, item_or_null(l->ev.service),
		              item_or_null(l->ev.tty),
		              item_or_null(l->ev.rhost));
	}
	report_later_free(l);
}

/* strdup, NULL staying NULL; 0 or PG_ERR_NOMEM. */
static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	return s != NULL && (*out = strdup(s)) == NULL ? PG_ERR_NOMEM : 0;
}

/* ev with copies of its strings, to outlive the request; NULL if out of
 * memory. */
static struct report_later *report_later_new(const struct report_event *ev)
{
	struct report_later *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	if (dup_opt(ev->user, &l->user) != 0 ||
	    dup_opt(ev->rhost, &l->rhost) != 0 ||
	    dup_opt(ev->tty, &l->tty) != 0 ||
	    dup_opt(ev->service, &l->service) != 0) {
		report_later_free(l);
		return NULL;
	}
	l->ev = *ev;
	l->ev.user = l->user;
	l->ev.rhost = l->rhost;
	l->ev.tty = l->tty;
	l->ev.service = l->service;
	return l;
}

/* verb_persist() for a REPORT: its alerts go once it is answered, or now
 * if it is answered now. */
static int report_persist(struct pg_daemon *d, const struct pg_request *req,
                          const struct pg_msg *resp,
                          const struct report_event *ev)
{
	struct statelog_after after = {report_after, NULL};
	int rc;

	if ((after.arg = report_later_new(ev)) == NULL)
		return PG_ERR_NOMEM;
	if ((rc = verb_persist(d, req, resp, &after)) == VERB_PARKED)
		return rc;
	if (rc == 0)
		report_alerts(d->alert, ev);
	report_later_free(after.arg);
	return rc;
}

/*
 * A site-mode CLAIM report=yes accepted: the failures counted here are
 * reset (res, in memory already) in a record the answer does not wait
 * for (claim_site_accepted says why); the success's alerts go once that
 * record is durable, after the claim's audit records and with its items,
 * as for a parked REPORT.
 */
static void claim_site_reset(struct site_req *sr,
                             const struct pg_report_result *res)
{
	struct statelog_after after = {report_after, NULL};
	struct report_event ev;
	int rc = PG_ERR_NOMEM;

	report_event_init(&ev, sr->d, &sr->req, res, 1);
	if ((after.arg = report_later_new(&ev)) != NULL &&
	    (rc = statelog_submit_then(sr->d->log, sr->d->state, sr->req.user,
	                               sr->req.now, &after)) ==
	        PG_STATELOG_QUEUED)
		return;
	if (rc != 0)
		log_warnx("state: user=%s: the reset of failures after a "
		          "claim is not durable (%s)",
		          sr->req.user, pg_err_name(rc));
	if (after.arg != NULL)
		report_after(after.arg, rc);
}

/* A CLAIM report=yes: persisted like the success REPORT it stands for,
 * with that REPORT's alerts once it is answered. */
static int claim_report_persist(struct pg_daemon *d,
                                const struct pg_request *req,
                                const struct pg_msg *resp,
                                const struct pg_report_result *res)
{
	struct report_event ev;

	report_event_init(&ev, d, req, res, 1);
	return report_persist(d, req, resp, &ev);
}

/* A counted REPORT's answer, made durable if it changed the state, and
 * its alerts. */
static int report_end(struct pg_daemon *d, const struct pg_request *req,
                      struct pg_msg *resp, const struct pg_report_result *res,
                      int success, int64_t was_locked, int offline)
{
	struct report_event ev;
	int rc;

	if ((rc = report_answer(resp, res, offline)) != 0)
		return rc;
	report_event_init(&ev, d, req, res, success);
	ev.locked_now = res->locked && was_locked == 0;
	if (res->changed)
		return report_persist(d, req, resp, &ev);
	report_alerts(d->alert, &ev);
	return 0;
}

/* A REPORT the directory did not answer, of a user with a kept record:
 * counted here and kept to write back. 1 if so. */
static int report_offline(struct tokjob *j)
{
	struct site_req *sr = j->arg;
	struct tokkeep_rec *k = offline_record(sr->d, j, sr->req.now);
	struct tokkeep *kept = tokstore_kept(sr->d->tokens);

	if (k == NULL)
		return 0;
	if (sr->success)
		tokkeep_succeeded(kept, k);
	else
		tokkeep_failed(kept, k, sr->req.now);
	return 1;
}

/* The directory has counted a failure (or reset them): the answer is the
 * stricter of both counts; a directory that did not answer leaves the
 * local count alone (a REPORT grants nothing), logged, and for a user
 * with a kept record keeps the failure to write back (offline=yes). */
static void report_done(struct tokjob *j)
{
	struct site_req *sr = j->arg;
	struct pg_report_result res = sr->res;
	struct pg_msg resp;
	int rc, offline = 0;

	if (j->rc == 0 && j->kind == TOKJOB_FAIL) {
		if (j->failures > res.nfail)
			res.nfail = (unsigned)j->failures;
		if (j->until != 0 && (!res.locked || j->until > res.until)) {
			res.locked = 1;
			res.until = j->until;
		}
	} else if (j->rc != 0 && j->rc != PG_ERR_NOTFOUND) {
		offline = report_offline(j);
		log_warnx("tokens: REPORT user=%s: the directory did not "
		          "answer (%s): counted here%s",
		          j->user, pg_err_name(j->rc),
		          offline ? ", written back later" : " only");
	}
	rc = report_end(sr->d, &sr->req, &resp, &res, sr->success,
	                sr->was_locked, offline);
	site_end(j, rc, &resp);
}

static int report_site(struct pg_daemon *d, const struct pg_request *req,
                       const struct pg_report_result *res, int success,
                       int64_t was_locked)
{
	struct site_req *sr = site_req_new(d, req);

	if (sr == NULL)
		return PG_ERR_NOMEM;
	sr->res = *res;
	sr->success = success;
	sr->was_locked = was_locked;
	return site_park(sr, success ? TOKJOB_CLEAR : TOKJOB_FAIL, report_done);
}

static void unlock_done(struct tokjob *j)
{
	struct site_req *sr = j->arg;
	int rc = 0;

	if (j->rc != 0 && j->rc != PG_ERR_NOTFOUND) {
		directory_unreachable(j, "UNLOCK", &sr->resp);
	} else if (sr->changed) {
		rc = verb_persist(sr->d, &sr->req, &sr->resp, NULL);
	}
	site_end(j, rc, &sr->resp);
}

int verb_unlock_site(struct pg_daemon *d, const struct pg_request *req,
                     const struct pg_msg *resp, int changed)
{
	struct site_req *sr = site_req_new(d, req);

	if (sr == NULL)
		return PG_ERR_NOMEM;
	if (pending_copy_msg(&sr->resp, resp) != 0) {
		free(sr);
		return PG_ERR_NOMEM;
	}
	sr->changed = changed;
	return site_park(sr, TOKJOB_CLEAR, unlock_done);
}

int verb_report(struct pg_daemon *d, const struct pg_request *req,
                struct pg_msg *resp)
{
	struct pg_report_result res;
	const char *reason = proto_get(req->msg, "reason"), *bad = NULL;
	int64_t was_locked;
	int factor, result, not_enrolled = 0, rc, unenrolled;

	if ((rc = get_choice(req->msg, "factor", report_factors, &factor)) != 0)
		bad = "factor";
	else if ((rc = get_choice(req->msg, "result", report_results,
	                          &result)) != 0 ||
	         (result >= REPORT_ERROR && factor != REPORT_PUSH)) {
		rc = rc != 0 ? rc : PG_ERR_INVAL;
		bad = "result";
	} else if (reason != NULL && !reason_ok(reason)) {
		bad = "reason";
		rc = PG_ERR_INVAL;
	} else if (proto_get(req->msg, "enrolled") != NULL &&
	           (rc = get_choice(req->msg, "enrolled", report_enrolled,
	                            &not_enrolled)) != 0) {
		bad = "enrolled";
	}
	if (bad != NULL) {
		proto_make_error(resp, rc, bad);
		return 0;
	}
	if (result >= REPORT_ERROR) {
		/* The provider failed, not the user, or nothing happened
		 * yet: recorded (log line, audit trail), never counted. */
		memset(&res, 0, sizeof(res));
		state_lock_until(d->state, req->user, req->now, &res.until);
		res.locked = res.until != 0;
		state_push_until(d->state, req->user, req->now,
		                 &res.push_until);
		return report_answer(resp, &res, 0);
	}
	/* Both factors count alike towards lockout: it protects the
	 * account, not the factor. Pushes also count towards push fatigue.
	 * The failure of a name with no token (enrolled=no: whatever was
	 * typed at a prompt) counts too, so that lockout does not reveal
	 * who is enrolled, but its entry is bounded apart. */
	state_lock_until(d->state, req->user, req->now, &was_locked);
	unenrolled =
	    factor == REPORT_TOTP && result == REPORT_FAILURE && not_enrolled;
	if (factor == REPORT_PUSH)
		rc =
		    state_report_push(d->state, req->user,
		                      result == REPORT_SUCCESS, req->now, &res);
	else if (unenrolled)
		rc = state_report_unenrolled(d->state, req->user, req->now,
		                             &res);
	else
		rc = state_report(d->state, req->user, result == REPORT_SUCCESS,
		                  req->now, &res);
	if (rc == PG_ERR_BUSY)
		return table_full(resp, unenrolled);
	if (rc != 0)
		return rc;
	/* Site mode: the failure counts, and a success resets, at every
	 * terminal (a name with no token has nothing there). */
	if (d->tokens != NULL && !unenrolled)
		return report_site(d, req, &res, result == REPORT_SUCCESS,
		                   was_locked);
	return report_end(d, req, resp, &res, result == REPORT_SUCCESS,
	                  was_locked, 0);
}
