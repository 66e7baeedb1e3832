/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The phiguard wire protocol, version 1: the contract between phiguardd and
 * its clients (pam_phiguard.so, phiguardctl, local applications).
 * The code follows this header; change this header first.
 *
 * TRANSPORT
 *   A Unix stream socket (default /run/phiguard/phiguardd.sock). The daemon
 *   identifies the caller with SO_PEERCRED only; no field of a request can
 *   claim an identity. A connection may carry many requests; each request
 *   gets exactly one response, in order.
 *
 * LINES
 *   One request per line, one response per line, each terminated by "\n"
 *   and at most PG_PROTO_MAX_LINE bytes including the "\n". UTF-8.
 *
 *     request  = "v1" SP verb *( SP key "=" value ) LF
 *     response = "v1" SP "OK"  *( SP key "=" value ) LF
 *              / "v1" SP "ERR" SP "code=" errname [ SP "msg=" value ]
 *                *( SP key "=" value ) LF
 *
 *   Fields are separated by exactly one space. A verb is 1..16 upper-case
 *   letters. A key is 1..32 bytes of [a-z0-9_]. In a value the bytes below
 *   0x21 (controls and space), '%', '=' and 0x7f are written as "%XX"
 *   (upper-case hex); every other byte is literal. A decoder accepts upper
 *   or lower case hex and rejects a bad escape. A value may be empty.
 *   The PAM items service=, rhost= and tty= hold at most PG_PROTO_MAX_ITEM
 *   bytes: a client cuts a longer item before sending it (proto_item_len,
 *   at a UTF-8 character boundary), and the daemon records no more of one.
 *   At most PG_PROTO_MAX_FIELDS fields per line; a key given twice is
 *   malformed. Unknown keys are ignored by both sides (forward
 *   compatibility); a missing required key is ERR code=missing-field.
 *   A malformed line gets ERR code=protocol, never a crash or a hang; a
 *   line longer than the limit gets ERR code=too-long and the connection
 *   is closed (the stream cannot be resynchronised safely).
 *
 * PERMISSIONS (enforced by the daemon's dispatch table)
 *   SELF  - root may ask about anyone; another uid only about the user
 *           whose name resolves (getpwnam) to its own uid.
 *   ROOT  - root only.
 *   Anything else gets ERR code=permission.
 *   A request of a non-root uid that passed these checks gets
 *   ERR code=busy msg=audit-busy, and nothing is decided, while the audit
 *   trail's queue has no room for its records in the share non-root
 *   requests may use (phiguardd(8) AUDIT TRAIL): back-pressure on that
 *   asker alone. Retry later.
 *
 * LISTS
 *   A value holding a list separates its items with one space (scope
 *   names, which never contain one) or with LF (DNs, rules), both
 *   percent-encoded on the wire like any other byte below 0x21.
 *
 * VERBS
 *
 *   PREAUTH user= [service=] [rhost=] [tty=]                     SELF
 *     Before prompting: is the user locked out, may a push be offered?
 *     -> OK locked=no push=yes
 *     -> OK locked=yes until=<unix seconds> push=...
 *     -> OK ... push=no push_until=<unix seconds>
 *     push=no: push is suspended for the user (push fatigue, see REPORT)
 *     until push_until; offer TOTP only. A missing push key means yes.
 *     -> OK locked=yes until=<unix seconds> reason=source-blocked push=...
 *     The request's source (rhost, else tty) is refused for a while after
 *     a spraying alert ([detect] spray_block); CLAIM from it then gets
 *     ERR code=locked msg=source-blocked until=<unix seconds>.
 *     A locked=yes answer is a refused login: audited (preauth-deny),
 *     repeats aggregated per user and source.
 *     Site mode ([tokens] store = ldap): the answer waits for the user's
 *     token record in the directory, the lock is also the directory's
 *     (oathFailureCount, oathLastFailure), and a root peer's answer ends
 *     with the records:
 *     -> OK locked=... push=... tokens=<N> token0=<line> ... token<N-1>=
 *     each a token-store line (common/tokens.h; the secret column in
 *     Base32, or sealed text as read) for the module's tokens_parse_line;
 *     tokens=0 for an unknown user, another case of a name, or no token.
 *     Other peers never get records. The decision log withholds them.
 *     -> ERR code=unavailable msg=directory-unreachable
 *     when the directory could not be read, unless the user's record was
 *     read within [cache] offline_grace: then it is answered from the
 *     record kept (offline mode) with offline=yes before tokens=, and
 *     the CLAIM (decided on the daemon's floor and the kept watermark)
 *     and REPORT answers that follow carry offline=yes too. With the
 *     file store nothing changes (no tokens=).
 *
 *   CLAIM user= step_start= [report=yes [reason=]] [service=] [rhost=]
 *         [tty=]                                                  SELF
 *     Site mode: after the daemon's own floor, decided in the directory
 *     (step_start / the token's period against oathTOTPLastTimeStep, by
 *     compare-and-swap on the write target); ERR code=unavailable
 *     msg=directory-unreachable when it cannot be, code=not-found when
 *     the user has no token there, code=invalid when step_start is not a
 *     step of the token. REPORT and UNLOCK also count and clear failures
 *     there.
 *     Claim the TOTP time step a code matched, given as the Unix time at
 *     which that step starts (counter x period), so that steps of tokens
 *     with different periods compare correctly. Accepted only if strictly
 *     greater than the last step_start accepted for that user, not more
 *     than PG_PROTO_MAX_SKEW seconds after the daemon's clock, and the
 *     user is not locked; it is made durable before the reply. The module
 *     never accepts a code whose step starts more than PG_PROTO_MAX_SKEW
 *     seconds from its own clock: the daemon's recovery floor relies on it.
 *     -> OK claimed=yes
 *     report=yes: the claim is also the attempt's outcome. An accepted
 *     claim is then recorded as REPORT factor=totp result=success
 *     [reason=] would record it (failures cleared, the login event, the
 *     audit record factor-success after totp-claim), in the same change
 *     as the step, durable with it: no crash can leave the step used and
 *     its success unrecorded, and the success needs no REPORT.
 *     -> OK claimed=yes reported=yes
 *     A refused claim records nothing more: the client REPORTs its
 *     failure as before. Without report= an accepted claim waits for the
 *     client's REPORT (as before report= existed); a client that gets no
 *     reported=yes (an older daemon) sends it. Any other report= value,
 *     or a reason= that is not a REPORT reason token, is ERR code=invalid.
 *     -> ERR code=replay     (step_start <= last accepted)
 *     -> ERR code=invalid    (step_start too far in the future)
 *     -> ERR code=locked msg=... until=<unix seconds>
 *     -> ERR code=busy msg=state-table-full table=enrolled limit=<n>
 *
 *   REPORT user= factor= result= [reason=] [enrolled=no] [service=]
 *          [rhost=] [tty=]                                        SELF
 *     The outcome of a second-factor attempt. factor = totp | push;
 *     result = success | failure | error (error: push only). A failure
 *     is counted; max_failures failures within failure_window lock the
 *     user for lockout seconds. A success clears the failure count. A
 *     push failure (denied or unanswered) also counts towards push
 *     fatigue: [push] push_max_unanswered of them within failure_window
 *     suspend push for the user for lockout seconds (an ALERT log line);
 *     a push success clears that count. result=sent (push only) says a
 *     push is on its way, for the audit trail; nothing is counted. The
 *     rest of this paragraph: result=error means the provider
 *     failed (unreachable, TLS, malformed reply): recorded, never
 *     counted. reason is a short token (bad-code, replay, no-token,
 *     bad-input, conv-error, push-denied, push-timeout, ...), never a
 *     secret. UNLOCK also ends a push suspension.
 *     enrolled=no (factor=totp, result=failure): the module found no
 *     token for the user, as for any name typed at a prompt. Counted like
 *     any failure (a lockout must not tell who is enrolled), but a user
 *     known only from such reports is held apart: at most
 *     PG_STATE_MAX_UNENROLLED (10000, daemon/login/state.h) of them, and the
 *     bound on other users (100000) does not count them, so invented
 *     names cannot crowd enrolled users out. A REPORT or CLAIM that would
 *     add a user beyond the bound of its kind:
 *     -> ERR code=busy msg=state-table-full table=unenrolled|enrolled
 *            limit=<n>
 *     enrolled=yes, or no enrolled key: an ordinary report.
 *     -> OK locked=no failures=<n> push=yes
 *     -> OK locked=yes until=<unix seconds> failures=<n> push=...
 *     -> OK ... push=no push_until=<unix seconds>
 *
 *   STATUS                                                        ROOT
 *     -> OK version=<pkg version> uptime=<s> users=<n> unenrolled=<n>
 *           locked=<n> push_suspended=<n> [push_suspended_users=<"user
 *           until" LF list>] clients=<n> requests=<n> errors=<n>
 *           statelog_commits=<n> statelog_records=<n>
 *           state=<ok|recovered|failed> [state_reason=<text>]
 *     push_suspended counts the users whose push is suspended (REPORT);
 *     push_suspended_users, present when that is not 0, names them with
 *     the end of each suspension (unix seconds), as many as fit in
 *     PG_PROTO_STATUS_LIST_MAX bytes before encoding.
 *     statelog_records counts the state-log records made durable since
 *     the start (CLAIM, REPORT and UNLOCK changes), statelog_commits the
 *     syncs that did it (one fdatasync per batch, or a rewrite of the
 *     log): records queued while one is in progress share the next
 *     (group commit), so under concurrent logins commits < records.
 *     state=failed: the state log could not be written (a full disk,
 *     an I/O error); state_reason says what failed. Meanwhile CLAIM,
 *     REPORT and UNLOCK that change a user's state answer ERR code=io
 *     (the change is kept in memory and written once the log is
 *     rewritten: the daemon retries after 1 s, doubling to 16 s).
 *
 *   UNLOCK user=                                                  ROOT
 *     Clear a lockout, a push suspension and the failure counts (the last
 *     used step is kept).
 *     -> OK was_locked=yes|no cleared=<list>
 *     cleared: what was in force and is gone, space-separated: lockout,
 *     push-suspension, failures (inside failure_window), push-failures;
 *     or "none".
 *
 *   AUTHZ user= [service=] [tty=] [rhost=]                       SELF
 *     The account stage: may user log in here, with which PHI scopes?
 *     Answered from the in-memory cache; an entry older than
 *     [cache] login_refresh first gets one directory refresh bounded by a
 *     tight deadline, falling back to the cached entry. While the
 *     directory is unreachable a cached entry is served stale for at most
 *     [cache] offline_grace.
 *     -> OK allowed=yes scopes=<scope list> role=<role> rule=<role list>
 *           source=fresh|cache|stale age=<s>
 *     -> OK allowed=no reason=<reason> source=fresh|cache|stale|none
 *        reason = no-rule (no mapped group), unknown-user (no entry
 *                 whose user_attr value is the name byte for byte),
 *                 ambiguous-user (several such entries),
 *                 directory-unreachable, terminal (no scope applies on
 *                 this terminal), audit-unavailable (the audit trail
 *                 cannot be written and [audit] audit_failure = deny)
 *     An allowed=yes answer whose scopes include some granted only by a
 *     break-glass role also carries breakglass=<those scopes> (recorded
 *     as a "break-glass" audit event).
 *
 *   CHECK user= scope=                                            SELF
 *     Does user hold scope on this terminal now? For applications; never
 *     waits for the directory on a cached user.
 *     -> OK allowed=yes source=... [breakglass=<scope>]
 *     -> OK allowed=no reason=<reason> source=...
 *     breakglass=: the scope is held only through a break-glass role;
 *     such an allow is refused (allowed=no reason=audit-unavailable)
 *     while the audit trail is down under audit_failure = deny.
 *
 *   SESSION user= action=open|close [service=] [tty=] [rhost=]    SELF
 *     A login session opened or closed (audit).
 *     -> OK
 *
 *   EXPLAIN user=                                                 ROOT
 *     Why user gets what: groups found, the rule behind each scope, cache
 *     age, source and server. Does not change the cache.
 *     -> OK found=yes|no dn=<dn> groups=<DN list> role=<role>
 *           scopes=<scope list> rules=<"scope role" LF list> source=...
 *           age=<s> server=<uri>
 *
 *   FLUSH [user=]                                                 ROOT
 *     Drop one user's cache entry, or all of them.
 *     -> OK flushed=<n>
 *
 *   RELOAD                                                        ROOT
 *     Re-read phiguard.conf (as SIGHUP does). A bad file is refused and
 *     the old configuration stays in force.
 *     -> OK reloaded=yes
 *     -> ERR code=config msg=<file:line: key: reason>
 *
 *   AUDIT action=head|rotate                                      ROOT
 *     The audit trail (phiguardd(8) AUDIT TRAIL). head: the hash of the
 *     last line written, to compare with a later
 *     "phiguardctl audit verify --head". rotate: the current file
 *     becomes FILE.N and a new one starts, chained to the old one's last
 *     line (as SIGUSR1 does); answered once done.
 *     -> OK head=<64 hex> file=<path> records=<n>     (head)
 *     -> OK rotated=<path of the old file> head=<64 hex>   (rotate)
 *     -> ERR code=io msg=...    (the rotation failed; writing goes on)
 *
 *   While the audit trail cannot be written and [audit] audit_failure =
 *   deny, CLAIM answers ERR code=unavailable msg=audit-unavailable and
 *   AUTHZ allowed=no reason=audit-unavailable: no new login without its
 *   record. The same answer refuses a single grant whose record could
 *   not be queued (counted in audit_lost), and no other request.
 *
 *   STATUS (above) also carries audit=ok|failed [audit_reason=<text>]
 *           audit_head=<64 hex> audit_records=<n> audit_lost=<n>
 *           audit_dropped=<n> audit_aggregated=<n> audit_busy=<n>,
 *   counted since the start: audit_records lines written; audit_lost
 *   decision records (logins, grants, denials, admin actions, the
 *   daemon's own) that could not be queued, so are in syslog only -- no
 *   non-root peer can make it grow; audit_dropped noise records
 *   (refusals of requests beyond the asker's rights, and their
 *   aggregates) dropped while the queue was busy; audit_aggregated
 *   events counted into an aggregate record instead of recorded one by
 *   one; audit_busy non-root requests answered audit-busy. And,
 *           once the directory is configured:
 *           membership=<attr>[,<attr>...]|none|- directory=online|offline
 *           server=<uri> cache_entries=<n> cache_hits=<n>
 *           cache_misses=<n> refresh_queue=<n>
 *   then, in site mode only ([tokens] store = ldap; the file store's
 *   STATUS is unchanged), tokens_store=ldap
 *           tokens_write_target=<uri> tokens_write_failovers=<n>
 *   (the server claims and failures go to, and how often it changed)
 *   (membership: the attributes the active server's groups were found to
 *   use, among member, uniqueMember, memberUid; "-" before its first
 *   lookup)
 *   and last, per verb answered since the start (this STATUS excluded):
 *           verbs=<"VERB count mean_us max_us" LF list>
 *   (time from the request line read to its answer; a parked AUTHZ
 *   counts its wait for the directory).
 *
 * ERRORS
 *   The names are those of enum pg_err (err.h): protocol, too-long,
 *   unknown-verb, missing-field, invalid, bad-user, permission, locked,
 *   replay, busy, version, unavailable (no directory configured, or the
 *   daemon is shutting down), config (RELOAD refused a bad config), io,
 *   internal.
 *
 * EXAMPLES
 *   > v1 PREAUTH user=nurse1 service=login tty=tty1
 *   < v1 OK locked=no
 *   > v1 CLAIM user=nurse1 step_start=1777203690
 *   < v1 OK claimed=yes
 *   > v1 CLAIM user=nurse2 step_start=1777203690 report=yes reason=ok
 *   < v1 OK claimed=yes reported=yes
 *   > v1 CLAIM user=nurse1 step_start=1777203690
 *   < v1 ERR code=replay msg=step%20already%20used
 *   > v1 FROB x=1
 *   < v1 ERR code=unknown-verb msg=FROB
 *
 * HISTORY
 *   2026-11-28  v1: PREAUTH, CLAIM, REPORT, STATUS, UNLOCK.
 *   2026-11-28  v1: CLAIM carries step_start (seconds), not a step index.
 *   2026-11-28  v1: AUTHZ, CHECK, SESSION, EXPLAIN, FLUSH, RELOAD. AUTHZ's
 *               rule= lists the granting roles separated by LF; without
 *               an [ldap] section they answer ERR code=unavailable.
 *   2026-11-29  v1: PREAUTH and REPORT answer push=yes|no [push_until=];
 *               REPORT accepts result=error|sent for factor=push. PREAUTH may
 *               add reason=source-blocked ([detect] spray_block).
 *               STATUS ends with verbs= (per-verb counts and latency).
 *   2026-11-29  v1: AUDIT (head, rotate); STATUS audit fields; AUTHZ and
 *               CHECK breakglass=; reason/msg audit-unavailable.
 *   2026-12-03  v1: AUTHZ/CHECK reason=ambiguous-user; unknown-user also
 *               for entries whose name differs from the asked one only by
 *               case (the match is exact now).
 *   2026-12-03  v1: STATUS push_suspended= [push_suspended_users=];
 *               UNLOCK cleared=.
 *   2026-12-03  v1: STATUS state=failed state_reason= (state log not
 *               writable).
 *   2026-12-03  v1: REPORT enrolled=no; ERR code=busy msg=state-table-full
 *               table= limit= (CLAIM too); STATUS unenrolled=.
 *   2026-12-03  v1: service=, rhost=, tty= at most PG_PROTO_MAX_ITEM (256)
 *               bytes; clients cut longer PAM items (a 4 KiB PAM_RHOST made
 *               the line too long, and the login failed unrecorded).
 *   2026-12-03  v1: ERR code=busy msg=audit-busy for non-root requests
 *               while the audit queue is busy; STATUS audit_dropped,
 *               audit_aggregated, audit_busy; audit_lost counts decision
 *               records only, and a lost one refuses only its own grant.
 *   2026-12-03  v1: CLAIM report=yes [reason=] -> reported=yes: an
 *               accepted claim is its own success REPORT.
 *   2026-12-03  v1: STATUS statelog_commits= statelog_records= (group
 *               commit of the state log).
 *   2026-12-03  v1: site mode: PREAUTH tokens= token<i>= (root peers),
 *               ERR msg=directory-unreachable; STATUS tokens_store=ldap
 *               tokens_write_target= tokens_write_failovers=.
 *   2026-12-03  v1: site mode offline: PREAUTH, CLAIM and REPORT answers
 *               offline=yes when decided without the directory.
 */
#ifndef PHIGUARD_COMMON_PROTO_H
#define PHIGUARD_COMMON_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PG_PROTO_VERSION  "v1"
#define PG_PROTO_MAX_LINE 4096 /* bytes, including the final "\n" */
/* Fields per line. The widest answer is STATUS: 30 fields in site mode,
 * 33 with its three optional ones (audit_reason, state_reason,
 * push_suspended_users), the moment an admin most needs it; room is left
 * for more. */
#define PG_PROTO_MAX_FIELDS 48
#define PG_PROTO_MAX_VERB   16
#define PG_PROTO_MAX_KEY    32
/* Seconds a TOTP step may start after "now" and still be accepted: the
 * verification window in time, whatever the token's period (CLAIM). */
#define PG_PROTO_MAX_SKEW 300
/* Bytes of a list STATUS gives in full only while it fits (users). */
#define PG_PROTO_STATUS_LIST_MAX 1024

/* Bytes of a PAM item value (service=, rhost=, tty=). A client cuts a
 * longer item (proto_item_len) rather than fail: with every item this
 * long, percent-encoded, a request still fits one line. The daemon keeps
 * no more than this of whatever a client sends. */
#define PG_PROTO_MAX_ITEM 256

/* Verbs. PG_VERB_OK/ERR are the two response kinds. */
enum pg_verb {
	PG_VERB_UNKNOWN = 0,
	PG_VERB_OK,
	PG_VERB_ERR,
	PG_VERB_PREAUTH,
	PG_VERB_CLAIM,
	PG_VERB_REPORT,
	PG_VERB_STATUS,
	PG_VERB_UNLOCK,
	PG_VERB_AUTHZ,
	PG_VERB_CHECK,
	PG_VERB_SESSION,
	PG_VERB_EXPLAIN,
	PG_VERB_FLUSH,
	PG_VERB_RELOAD,
	PG_VERB_AUDIT,
};

struct pg_field {
	const char *key;   /* points into the message's storage */
	const char *value; /* decoded, NUL-terminated; may be "" */
};

/*
 * A parsed or to-be-sent message. All strings live in buf, so a message is
 * one flat object: no allocation, copy with memcpy is NOT safe (pointers).
 * Values may hold secrets in future verbs: proto_msg_clear() wipes buf.
 */
struct pg_msg {
	enum pg_verb verb;
	char verb_name[PG_PROTO_MAX_VERB + 1]; /* as received, for ERR msg= */
	size_t nfields;
	struct pg_field fields[PG_PROTO_MAX_FIELDS];
	size_t used; /* bytes of buf in use */
	char buf[PG_PROTO_MAX_LINE];
};

/* Name <-> verb. proto_verb_name returns NULL for PG_VERB_UNKNOWN. */
const char *proto_verb_name(enum pg_verb verb);
enum pg_verb proto_verb_from_name(const char *name);

/* Start an empty message with this verb. */
void proto_msg_init(struct pg_msg *msg, enum pg_verb verb);

/* Wipe the message storage (explicit_bzero) and reset it. */
void proto_msg_clear(struct pg_msg *msg);

/*
 * Append key=value. key must match [a-z0-9_]{1,32}. Returns 0,
 * PG_ERR_INVAL (bad key, duplicate key), or PG_ERR_TOOLONG (the message
 * would not fit into one line once encoded, or too many fields).
 */
int proto_add(struct pg_msg *msg, const char *key, const char *value);
/* proto_add() with a decimal value. */
int proto_add_u64(struct pg_msg *msg, const char *key, uint64_t value);
int proto_add_i64(struct pg_msg *msg, const char *key, int64_t value);

/*
 * Parse one line (with or without the final "\n"; no other "\n" allowed)
 * of len bytes into *msg. Returns 0, PG_ERR_TOOLONG, PG_ERR_VERSION (first
 * token is not "v1"), or PG_ERR_PROTO. An unknown but well-formed verb
 * parses with verb = PG_VERB_UNKNOWN and verb_name set, so the caller can
 * answer ERR code=unknown-verb. *msg is left cleared on error.
 */
int proto_parse(const char *line, size_t len, struct pg_msg *msg);

/*
 * Encode *msg as one line ending in "\n" into out (outsz bytes, at least
 * PG_PROTO_MAX_LINE + 1 is always enough) and NUL-terminate it. Stores the
 * length without the NUL in *outlen. Returns 0, PG_ERR_TOOLONG, or
 * PG_ERR_INVAL (no verb: PG_VERB_UNKNOWN with an empty verb_name, or a
 * hand-set key outside [a-z0-9_]{1,32}). An unknown verb is written as
 * its verb_name, so a parsed message always formats.
 */
int proto_format(const struct pg_msg *msg, char *out, size_t outsz,
                 size_t *outlen);

/*
 * How many leading bytes of item to send as a PAM item value: all of it
 * up to PG_PROTO_MAX_ITEM bytes, else at most that many, ending before a
 * UTF-8 continuation byte so that no character is split (bytes that are
 * not UTF-8 are cut at the limit).
 */
size_t proto_item_len(const char *item);

/* Value for key, or NULL if absent. */
const char *proto_get(const struct pg_msg *msg, const char *key);

/*
 * Value for key parsed as an unsigned decimal (no sign, no spaces, no
 * overflow, at most max). Returns 0 and sets *out, PG_ERR_MISSING or
 * PG_ERR_INVAL.
 */
int proto_get_u64(const struct pg_msg *msg, const char *key, uint64_t max,
                  uint64_t *out);

/*
 * Build an error response: "v1 ERR code=<pg_err_name(err)> msg=<msg>".
 * msg may be NULL. Never fails (a msg too long is truncated).
 */
void proto_make_error(struct pg_msg *msg, int err, const char *text);

/*
 * For a response: 0 if it is OK, else the pg_err carried by ERR (or
 * PG_ERR_PROTO for any other verb).
 */
int proto_response_status(const struct pg_msg *msg);

#endif
