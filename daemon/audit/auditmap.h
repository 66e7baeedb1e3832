/* SPDX-License-Identifier: BSD-3-Clause */
/* Which audit events a request and its answer make: the one place that
 * turns "verb + response" into event names, decisions and reasons. Pure:
 * dispatch.c records what it returns. */
#ifndef PHIGUARD_DAEMON_AUDITMAP_H
#define PHIGUARD_DAEMON_AUDITMAP_H

#include <stddef.h>

#include "conf.h"
#include "proto.h"
#include "username.h"

/* Bytes kept of a PAM item (service, tty, rhost) from a request: what
 * the protocol says a client sends, cut the same way (proto_item_len). */
#define AUDITMAP_ITEM_MAX PG_PROTO_MAX_ITEM

/*
 * What the trail needs of a request, copied out of it, so that it can be
 * kept while the request is parked. Empty strings stand for absent keys.
 */
struct audit_req {
	enum pg_verb verb;
	long uid;       /* the peer's uid */
	int was_locked; /* the user was locked out before the request
	                 * (read for REPORT only: set by dispatch for it) */
	int has_user;
	char user[PG_USER_MAX + 1];
	char service[AUDITMAP_ITEM_MAX + 1];
	char tty[AUDITMAP_ITEM_MAX + 1];
	char rhost[AUDITMAP_ITEM_MAX + 1];
	char scope[64];
	char factor[16];
	char result[16];
	char reason[72];
	char action[16];
};

/* Fill *ar from a parsed request; user is the validated user= or NULL
 * (then a user= that passes username_check is taken, e.g. FLUSH's).
 * Over-long values are cut (the audit line escapes them anyway). */
void auditmap_request(struct audit_req *ar, const struct pg_msg *req,
                      const char *user, long uid, int was_locked);

/* At most this many events per request (REPORT: failure + lockout;
 * CLAIM report=yes: claim + success; AUTHZ: grant + break-glass). */
#define AUDITMAP_MAX 2

struct audit_event {
	const char *event;
	const char *decision; /* "allow", "deny" or NULL */
	const char *factor;
	const char *scopes; /* borrowed from the request or response */
	const char *reason;
	const char *rule;
	const char *source;
	int admin; /* record the peer's uid */
	int grant; /* a new login or grant: refused unless recorded when
	              audit_failure = deny */
	int alert; /* mirrored at warning level */
	/* Repeats are counted into one record per interval (auditagg.h):
	 * what a script can repeat at will, keyed by what it repeats. */
	int aggregate;
	/* Decides nothing about anyone's access: may be dropped when the
	 * queue is busy, never at a decision's expense (audit.h). */
	int noise;
};

struct audit_events {
	size_t n;
	struct audit_event ev[AUDITMAP_MAX];
	struct audit_event spill; /* never recorded (auditmap.c add) */
	char note[72];            /* storage for a reason made up here */
};

/*
 * The events of request ar answered by resp (an OK or ERR message).
 * Strings borrow from ar, resp and out->note: keep all three until the
 * events are recorded. Never fails; out->n may be 0.
 */
void auditmap_events(const struct audit_req *ar, const struct pg_msg *resp,
                     enum conf_audit_checks checks, struct audit_events *out);

/*
 * The events of request ar whose answer resp was never delivered (its
 * client had stopped waiting, e.g. a PAM module past daemon_timeout): what
 * the client got is no answer, so AUTHZ gives "authz-late" and CHECK
 * "check-late" (unless audit_checks is none), decision deny, reason
 * "late", with resp's source; never a grant or a break-glass record.
 * Other verbs give none. Strings borrow as auditmap_events().
 */
void auditmap_late(const struct audit_req *ar, const struct pg_msg *resp,
                   enum conf_audit_checks checks, struct audit_events *out);

/* 1 if a request of this verb can make a grant (CLAIM, AUTHZ, CHECK of
 * a break-glass scope): what audit_failure = deny refuses up front. */
int auditmap_may_grant(enum pg_verb verb);

#endif
