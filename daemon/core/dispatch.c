/* SPDX-License-Identifier: BSD-3-Clause */
/* The verb table (after OpenSSH's mon_table): who may call what, and the
 * one path every request takes from line to logged and audited response. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "detect/alert.h"
#include "audit/audit.h"
#include "audit/auditagg.h"
#include "audit/auditmap.h"
#include "conf.h"
#include "core/dispatch.h"
#include "core/pending.h"
#include "err.h"
#include "log.h"
#include "noinit.h"
#include "core/server.h"
#include "login/state.h"
#include "strbuf.h"
#include "timeutil.h"
#include "username.h"

#define D_ROOT_ONLY 0x1 /* uid 0 only */
#define D_SELF_ONLY 0x2 /* names a user; a non-root uid only itself */
#define D_USER      0x4 /* names a user (user= required and validated) */

struct dispatch_entry {
	enum pg_verb verb;
	unsigned flags;
	int (*handler)(struct pg_daemon *d, const struct pg_request *req,
	               struct pg_msg *resp);
};

/* A new verb is one row here and one handler in verbs_*.c. */
static const struct dispatch_entry dispatch_table[] = {
    {PG_VERB_PREAUTH, D_SELF_ONLY, verb_preauth},
    {PG_VERB_CLAIM, D_SELF_ONLY, verb_claim},
    {PG_VERB_REPORT, D_SELF_ONLY, verb_report},
    {PG_VERB_STATUS, D_ROOT_ONLY, verb_status},
    {PG_VERB_UNLOCK, D_ROOT_ONLY | D_USER, verb_unlock},
    {PG_VERB_AUTHZ, D_SELF_ONLY, verb_authz},
    {PG_VERB_CHECK, D_SELF_ONLY, verb_check},
    {PG_VERB_SESSION, D_SELF_ONLY, verb_session},
    {PG_VERB_EXPLAIN, D_ROOT_ONLY | D_USER, verb_explain},
    /* user= is optional: the handler checks it. */
    {PG_VERB_FLUSH, D_ROOT_ONLY, verb_flush},
    {PG_VERB_RELOAD, D_ROOT_ONLY, verb_reload},
    {PG_VERB_AUDIT, D_ROOT_ONLY, verb_audit},
};

/*
 * Request keys that may appear in the decision log. A whitelist, so that a
 * future verb carrying a secret cannot leak it through a generic logger.
 */
static const char *const logged_keys[] = {
    "step_start", "factor", "result", "reason",   "service", "rhost",
    "tty",        "scope",  "action", "enrolled", "report"};

#define DISPATCH_LOG_VALUE_MAX 64

static const struct dispatch_entry *lookup(enum pg_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(dispatch_table) / sizeof(dispatch_table[0]); i++)
		if (dispatch_table[i].verb == verb)
			return &dispatch_table[i];
	return NULL;
}

/*
 * Apply the entry's flags to the caller. On success *user is the
 * validated user= value (or NULL). Otherwise a pg_err, and *text a
 * message for the ERR.
 */
static int check_caller(const struct dispatch_entry *ent,
                        const struct pg_peer *peer, const struct pg_msg *msg,
                        const char **user, const char **text)
{
	const char *u;

	/* Root-only first: what a refused caller named is of no interest. */
	if ((ent->flags & D_ROOT_ONLY) && !peer_is_root(peer)) {
		*text = "root only";
		return PG_ERR_PERM;
	}
	*user = NULL;
	if (!(ent->flags & (D_SELF_ONLY | D_USER)))
		return 0;
	if ((u = proto_get(msg, "user")) == NULL) {
		*text = "user";
		return PG_ERR_MISSING;
	}
	/* Validated before it reaches NSS, a log line or the state file. */
	if (username_check(u) != 0) {
		*text = "invalid user name";
		return PG_ERR_BAD_USER;
	}
	/* Set before the permission check, so a refusal logs the name. */
	*user = u;
	if ((ent->flags & D_SELF_ONLY) && peer_may_ask(peer, u) != 0) {
		*text = "may only ask about yourself";
		return PG_ERR_PERM;
	}
	return 0;
}

/* value as it may go into a log line: short printable ASCII, or a mark. */
static const char *log_safe(const char *value)
{
	size_t i;

	for (i = 0; value[i] != '\0'; i++)
		if (i >= DISPATCH_LOG_VALUE_MAX || value[i] < 0x21 ||
		    value[i] > 0x7e)
			return "(unprintable)";
	return value;
}

/* How much of a response (len bytes) may be logged: all of it, or up to
 * its token records (proto.h PREAUTH tokenN=), which hold secrets. */
static size_t logged_len(const char *resp, size_t len)
{
	static const char mark[] = " token0=";
	size_t i;

	for (i = 0; i + sizeof(mark) - 1 <= len; i++)
		if (memcmp(resp + i, mark, sizeof(mark) - 1) == 0)
			return i;
	return len;
}

static void log_decision(const struct pg_peer *peer, const struct pg_msg *req,
                         const char *verb, const char *user, int decided,
                         const char *out, size_t outlen, const char *note)
{
	/* Room for a whole response and every logged key at its cap. */
	char line[PG_PROTO_MAX_LINE + 1024] PG_NOINIT;
	struct strbuf sb;
	const char *v;
	size_t i, shown;
	/* Lines that never got past parsing or the verb lookup are noise a
	 * local user could flood the log with; decisions are not. An allowed
	 * CHECK is an application's hot path: debug (denials stay at info;
	 * the audit trail records CHECKs per audit_checks). */
	int info = decided && !(req->verb == PG_VERB_CHECK &&
	                        strncmp(out, "v1 OK allowed=yes", 17) == 0);

	/* Not even built when nobody would see it: the warm CHECK path. */
	if (!log_enabled(info ? PG_LOG_INFO : PG_LOG_DEBUG))
		return;
	strbuf_init(&sb, line, sizeof(line));
	strbuf_puts(&sb, verb);
	if (user != NULL) {
		strbuf_puts(&sb, " user=");
		strbuf_puts(&sb, user);
	}
	strbuf_puts(&sb, " uid=");
	strbuf_put_u64(&sb, peer->uid);
	strbuf_puts(&sb, " pid=");
	strbuf_put_i64(&sb, peer->pid);
	for (i = 0; decided && i < sizeof(logged_keys) / sizeof(logged_keys[0]);
	     i++) {
		if ((v = proto_get(req, logged_keys[i])) == NULL)
			continue;
		strbuf_putc(&sb, ' ');
		strbuf_puts(&sb, logged_keys[i]);
		strbuf_putc(&sb, '=');
		strbuf_puts(&sb, log_safe(v));
	}
	/* The response without "v1 " and "\n": encoded, so log-safe, and
	 * secret-free by the handlers' contract, but for the token records
	 * of a site-mode PREAUTH, which come last and are withheld. */
	strbuf_puts(&sb, " -> ");
	shown = req->verb == PG_VERB_PREAUTH ? logged_len(out + 3, outlen - 4)
	                                     : outlen - 4;
	strbuf_put(&sb, out + 3, shown);
	if (shown < outlen - 4)
		strbuf_puts(&sb, " token0...=(withheld)");
	if (note != NULL)
		strbuf_puts(&sb, note);
	if (info)
		log_info("%s", line);
	else
		log_debug("%s", line);
}

/* ------------------------------------------------------------- audit */

static const char *nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* One-shot, in ms from now (0: disarm). */
static void agg_arm(struct pg_daemon *d, int64_t ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (timerfd_settime(d->agg_timer, 0, &its, NULL) != 0)
		log_warn("audit aggregation timer");
	d->agg_armed = ms > 0;
}

static void emit_aggregate(void *arg, const struct audit_rec *rec, int noise)
{
	struct pg_daemon *d = arg;

	if (noise)
		audit_record_noise(d->audit, rec);
	else
		audit_record(d->audit, rec, 0);
}

/*
 * 1 if e of ar was counted into an aggregate instead of being recorded.
 * A non-root requester's items are its own claims: its events are keyed
 * by user and kind alone, so inventing sources does not make new keys.
 */
static int aggregated(struct pg_daemon *d, const struct audit_req *ar,
                      const struct audit_event *e)
{
	struct auditagg_event k;
	int root = ar->uid == 0, refused = e->noise;

	if (!e->aggregate || d->agg == NULL)
		return 0;
	memset(&k, 0, sizeof(k));
	k.peer = ar->uid;
	k.noise = e->noise;
	k.event = e->event;
	k.decision = e->decision;
	k.reason = e->reason;
	/* A refusal is keyed by the caller and what it was refused. */
	k.user = !refused && ar->has_user ? ar->user : NULL;
	k.service = !refused && root ? nz(ar->service) : NULL;
	k.tty = !refused && root ? nz(ar->tty) : NULL;
	k.rhost = !refused && root ? nz(ar->rhost) : NULL;
	k.uid = e->admin ? ar->uid : -1;
	if (auditagg_note(d->agg, &k, time_mono_ms(), emit_aggregate, d) == 0)
		return 1;
	if (!d->agg_armed)
		agg_arm(d, AUDITAGG_INTERVAL_MS);
	return 0;
}

static int record(struct pg_daemon *d, const struct audit_req *ar,
                  const struct audit_event *e)
{
	struct audit_rec r;

	memset(&r, 0, sizeof(r));
	r.event = e->event;
	r.user = ar->has_user ? ar->user : NULL;
	r.service = nz(ar->service);
	r.tty = nz(ar->tty);
	r.rhost = nz(ar->rhost);
	r.factor = e->factor;
	r.decision = e->decision;
	r.scopes = e->scopes;
	r.reason = e->reason;
	r.rule = e->rule;
	r.source = e->source;
	r.uid = e->admin ? ar->uid : -1;
	if (e->noise)
		return audit_record_noise(d->audit, &r);
	return audit_record(d->audit, &r, e->alert);
}

/* What a grant (from) becomes when the trail cannot take its record. */
static void refusal(enum pg_verb verb, const struct pg_msg *from,
                    struct pg_msg *to)
{
	const char *s = from != NULL ? proto_get(from, "source") : NULL;
	char source[32];

	snprintf(source, sizeof(source), "%s", s != NULL ? s : "none");
	if (verb == PG_VERB_CLAIM) {
		proto_make_error(to, PG_ERR_UNAVAIL, "audit-unavailable");
		return;
	}
	proto_msg_init(to, PG_VERB_OK);
	if (proto_add(to, "allowed", "no") != 0 ||
	    proto_add(to, "reason", "audit-unavailable") != 0 ||
	    proto_add(to, "source", source) != 0)
		proto_make_error(to, PG_ERR_UNAVAIL, "audit-unavailable");
}

/* A break-glass grant is always an alert (alert.h), besides its record. */
static void breakglass_alert(struct pg_daemon *d, const struct audit_req *ar,
                             const char *scopes)
{
	struct detect_alert a;

	detect_alert_breakglass(&a, ar->user, nz(ar->rhost), nz(ar->tty),
	                        (int64_t)time(NULL),
	                        scopes != NULL ? scopes : "");
	alert_emit_items(d->alert, &a, nz(ar->service), nz(ar->tty),
	                 nz(ar->rhost));
}

/*
 * The single place requests become audit records: the events auditmap
 * finds in ar + resp, each recorded or counted into its aggregate. A
 * grant that cannot be recorded while audit_failure = deny (trail
 * failing, or its record could not be queued) is turned into a refusal
 * in *refused first, and the refusal is recorded instead: only this
 * request is refused. Returns 1 if *refused is the answer now; *quiet 1
 * if every event was counted, none recorded.
 */
static int answer_events(struct pg_daemon *d, const struct audit_req *ar,
                         const struct pg_msg *resp, struct pg_msg *refused,
                         int *quiet)
{
	enum conf_audit_checks checks;
	struct audit_events ev PG_NOINIT; /* auditmap_events sets it */
	size_t i, counted = 0;
	int refuse = 0;

	*quiet = 0;
	if (d->audit == NULL)
		return 0;
	checks = d->conf->audit_checks;
	auditmap_events(ar, resp, checks, &ev);
	for (i = 0; i < ev.n; i++)
		if (ev.ev[i].grant && audit_refusing(d->audit))
			refuse = 1;
	for (i = 0; !refuse && i < ev.n; i++) {
		if (aggregated(d, ar, &ev.ev[i]))
			counted++;
		else if (record(d, ar, &ev.ev[i]) == PG_ERR_BUSY &&
		         ev.ev[i].grant)
			refuse = 1; /* not even queued */
	}
	*quiet = ev.n > 0 && counted == ev.n;
	if (!refuse) {
		for (i = 0; i < ev.n; i++)
			if (strcmp(ev.ev[i].event, "break-glass") == 0)
				breakglass_alert(d, ar, ev.ev[i].scopes);
		return 0;
	}
	log_info("%s user=%s: grant refused: the audit trail cannot record it",
	         proto_verb_name(ar->verb), ar->has_user ? ar->user : "-");
	refusal(ar->verb, resp, refused);
	auditmap_events(ar, refused, checks, &ev);
	for (i = 0; i < ev.n; i++)
		record(d, ar, &ev.ev[i]);
	return 1;
}

/* An answer its client never got (it stopped waiting): the trail says
 * so, and never records the grant it would have been. */
static void audit_late(struct pg_daemon *d, const struct audit_req *ar,
                       const struct pg_msg *resp)
{
	struct audit_events ev;
	size_t i;

	if (d->audit == NULL)
		return;
	auditmap_late(ar, resp, d->conf->audit_checks, &ev);
	for (i = 0; i < ev.n; i++)
		record(d, ar, &ev.ev[i]);
}

/* A request being answered, at once or after it was parked. */
struct answered {
	const struct pg_peer *peer;
	const struct pg_msg *req;
	const char *verb; /* as received, for the log */
	const char *user; /* validated, or NULL */
	int checked;      /* reached the permission check: ar is set */
	int gone;         /* parked, and its client has stopped waiting */
	const struct audit_req *ar;
	int64_t start_us;
};

/*
 * The one way every request is answered: audited (maybe rewritten into a
 * refusal), formatted once into out, logged by the one decision logger,
 * counted. Returns the status the line carries.
 */
static int conclude(struct pg_daemon *d, const struct answered *a,
                    const struct pg_msg *resp, char *out, size_t outsz,
                    size_t *outlen)
{
	struct pg_msg refused PG_NOINIT; /* set before any use */
	int quiet = 0;                   /* its events were only counted */

	if (a->checked && a->gone)
		audit_late(d, a->ar, resp);
	else if (a->checked && answer_events(d, a->ar, resp, &refused, &quiet))
		resp = &refused;
	if (proto_format(resp, out, outsz, outlen) != 0) {
		proto_make_error(&refused, PG_ERR_INTERNAL, NULL);
		resp = &refused;
		proto_format(resp, out, outsz, outlen);
	}
	/* A repeat counted into an aggregate is as quiet in the log: the
	 * aggregate's record says how many (auditagg.h). */
	log_decision(a->peer, a->req, a->verb, a->user, a->checked && !quiet,
	             out, *outlen,
	             a->gone ? " (late: the client had stopped waiting; "
	                       "nothing delivered)"
	                     : NULL);
	if (a->checked)
		verbstats_add(&d->stats, a->req->verb,
		              time_mono_us() - a->start_us);
	return proto_response_status(resp);
}

void dispatch_complete(struct pg_daemon *d, uint64_t ticket, int rc,
                       const struct pg_msg *resp)
{
	struct pending *p = pending_take(&d->pending, ticket);
	char out[PG_PROTO_MAX_LINE + 1];
	struct pg_msg err;
	struct answered a;
	size_t len = 0;
	int status;

	if (p == NULL) {
		log_errx("an answer for ticket %llu, which is not parked",
		         (unsigned long long)ticket);
		return;
	}
	if (rc != 0 || resp == NULL) {
		proto_make_error(&err, rc != 0 ? rc : PG_ERR_INTERNAL,
		                 pg_strerror(rc != 0 ? rc : PG_ERR_INTERNAL));
		resp = &err;
	}
	a.peer = &p->peer;
	a.req = &p->req;
	a.verb = p->req.verb_name;
	a.user = pending_user(p);
	a.checked = 1;
	a.gone = !server_waiting(d->server, ticket);
	a.ar = &p->ar;
	a.start_us = p->start_us;
	status = conclude(d, &a, resp, out, sizeof(out), &len);
	if (!a.gone)
		server_answer(d->server, ticket, out, len, status);
	proto_msg_clear(&p->req);
	free(p);
}

static void complete_cb(void *arg, uint64_t ticket, int rc,
                        const struct pg_msg *resp)
{
	dispatch_complete(arg, ticket, rc, resp);
}

void dispatch_completion(struct pg_daemon *d, struct pg_completion *out)
{
	out->done = complete_cb;
	out->arg = d;
}

void dispatch_audit_event(struct pg_daemon *d, const char *event,
                          const char *decision, const char *reason)
{
	struct audit_rec r;

	if (d->audit == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.event = event;
	r.decision = decision;
	r.reason = reason;
	r.uid = -1;
	audit_record(d->audit, &r, 0);
}

static void on_agg_timer(void *arg)
{
	struct pg_daemon *d = arg;
	uint64_t n;
	int64_t next;

	if (read(d->agg_timer, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("audit aggregation timer");
	next = auditagg_expire(d->agg, time_mono_ms(), 0, emit_aggregate, d);
	/* +1: the next one is due once that much has passed, not before. */
	agg_arm(d, next >= 0 ? next + 1 : 0);
}

int dispatch_start_aggregation(struct pg_daemon *d)
{
	int rc;

	d->agg_timer = -1;
	if ((rc = auditagg_new(&d->agg)) != 0)
		return rc;
	d->agg_timer =
	    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->agg_timer < 0) {
		log_err("timerfd");
		return PG_ERR_IO;
	}
	return server_watch(d->server, d->agg_timer, on_agg_timer, d);
}

void dispatch_stop_aggregation(struct pg_daemon *d)
{
	if (d->agg != NULL && d->audit != NULL)
		auditagg_expire(d->agg, time_mono_ms(), 1, emit_aggregate, d);
	auditagg_free(d->agg);
	d->agg = NULL;
	if (d->agg_timer >= 0)
		close(d->agg_timer);
	d->agg_timer = -1;
}

void dispatch_free_parked(struct pg_daemon *d)
{
	pending_free_all(&d->pending);
}

/*
 * The handler of r parked it under r->ticket: remember what its answer
 * needs and hold its connection. VERB_PARKED, or PG_ERR_NOMEM if it
 * cannot be remembered (then the part's late answer finds no pending and
 * is dropped, and this client gets an ERR now).
 */
static int park(struct pg_daemon *d, const struct pg_request *r,
                const struct audit_req *ar, int64_t start_us)
{
	if (pending_add(&d->pending, r->ticket, r->peer, r->msg, r->user, ar,
	                start_us) != 0) {
		log_errx("no memory to park a request");
		return PG_ERR_NOMEM;
	}
	server_park(d->server, r->ticket);
	return VERB_PARKED;
}

int dispatch_line(struct pg_daemon *d, const struct pg_peer *peer,
                  const char *line, size_t len, char *out, size_t outsz,
                  size_t *outlen)
{
	const struct dispatch_entry *ent = NULL;
	struct pg_request r = {peer, NULL, NULL, (int64_t)time(NULL), 0};
	struct answered a = {peer, NULL, "(malformed)", NULL, 0, 0, NULL, 0};
	const char *text = NULL;
	/* Set before use (noinit.h): req by proto_parse, ar by
	 * auditmap_request, resp by the handler or an error below; resp
	 * starts as a message with no verb, as zeroing left it, so a handler
	 * that answered nothing is an internal error, never stale bytes. */
	struct pg_msg req PG_NOINIT, resp PG_NOINIT;
	struct audit_req ar PG_NOINIT;
	int64_t until = 0;
	int rc;

	a.start_us = time_mono_us();
	proto_msg_init(&resp, PG_VERB_UNKNOWN);
	r.ticket = ++d->seq;
	log_setrequest(r.ticket);
	r.msg = a.req = &req;
	rc = proto_parse(line, len, &req);
	if (rc == 0) {
		a.verb = req.verb_name;
		if ((ent = lookup(req.verb)) == NULL) {
			rc = PG_ERR_UNKNOWN_VERB;
			text = req.verb_name;
		}
	}
	if (rc == 0) {
		rc = check_caller(ent, peer, &req, &r.user, &text);
		/* Permission refusals are decisions worth an info line. */
		a.checked =
		    rc == 0 || rc == PG_ERR_PERM || rc == PG_ERR_BAD_USER;
	}
	a.user = r.user;
	if (a.checked) {
		/* Whether this request is the one that locks the user: only
		 * a REPORT's audit asks (auditmap.h), so no other verb looks
		 * up the login state here (CHECK's warm path). */
		if (req.verb == PG_VERB_REPORT && r.user != NULL &&
		    d->state != NULL)
			state_lock_until(d->state, r.user, r.now, &until);
		auditmap_request(&ar, &req, r.user, (long)peer->uid,
		                 until != 0);
		a.ar = &ar;
	}
	alert_hold(d->alert);
	if (rc == 0 && auditmap_may_grant(req.verb) &&
	    audit_refusing(d->audit)) {
		/* No new login without its record: not even asked. */
		refusal(req.verb, NULL, &resp);
	} else if (rc == 0 && !peer_is_root(peer) &&
	           !audit_peer_room(d->audit)) {
		/* Back-pressure on this requester alone: the rest of the
		 * queue is for root's decisions (audit.h). */
		rc = PG_ERR_BUSY;
		text = "audit-busy";
		d->audit_busy++;
	} else if (rc == 0)
		rc = ent->handler(d, &r, &resp);
	if (rc == VERB_PARKED)
		rc = park(d, &r, &ar, a.start_us);
	if (rc == VERB_PARKED) {
		alert_release(d->alert, nz(ar.service), nz(ar.tty),
		              nz(ar.rhost));
		/* Logged when answered (dispatch_complete). */
		log_debug("%s user=%s uid=%u: parked", a.verb,
		          r.user != NULL ? r.user : "-", (unsigned)peer->uid);
		*outlen = 0;
		proto_msg_clear(&req);
		log_setrequest(0);
		return 0;
	}
	if (rc != 0)
		proto_make_error(&resp, rc,
		                 text != NULL ? text : pg_strerror(rc));
	rc = conclude(d, &a, &resp, out, outsz, outlen);
	/* Alerts it raised follow its records, with its items. */
	if (a.checked)
		alert_release(d->alert, nz(ar.service), nz(ar.tty),
		              nz(ar.rhost));
	else
		alert_release(d->alert, NULL, NULL, NULL);
	/* Today's verbs carry no secret; wipe anyway so tomorrow's need not
	 * remember to. */
	proto_msg_clear(&req);
	log_setrequest(0);
	return rc;
}
