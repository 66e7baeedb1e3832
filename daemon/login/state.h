/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-user login state in memory: last accepted TOTP step, recent failures,
 * lockouts, and the "recovered" defaults after a damaged state log. Pure
 * logic: the caller passes the time and persists changes (statelog.h). */
#ifndef PHIGUARD_DAEMON_STATE_H
#define PHIGUARD_DAEMON_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * Steps are compared by the Unix time they start at (proto.h CLAIM), and
 * the module accepts no code whose step starts more than PG_PROTO_MAX_SKEW
 * seconds after its clock: a code accepted before a crash therefore had a
 * step_start of at most crash time + PG_PROTO_MAX_SKEW. The recovery floor
 * (state_begin_recovery) rests on that bound, whatever the token period.
 */
#define PG_STATE_MAX_SKEW PG_PROTO_MAX_SKEW
/* Upper bounds that keep memory finite whatever clients send. */
#define PG_STATE_MAX_FAILURES 1000 /* = the max_failures config limit */
#define PG_STATE_MAX_USERS    100000
/*
 * Entries created by failures of users the module found no token for
 * (REPORT enrolled=no: any name typed at a prompt) are counted apart, and
 * PG_STATE_MAX_USERS bounds the others only: invented names cannot fill
 * the table against enrolled users.
 */
#define PG_STATE_MAX_UNENROLLED 10000
/* A user idle this long (no lock, no failures) is forgotten; see sweep. */
#define PG_STATE_FORGET_AFTER 86400

struct pg_state; /* opaque */

struct pg_state_limits {
	unsigned max_failures;  /* failures within the window that lock */
	int64_t failure_window; /* seconds a failure counts */
	int64_t lockout;        /* seconds a lockout lasts */
	/* Denied or unanswered pushes within failure_window that suspend
	 * push for lockout seconds (push fatigue); 0 = never suspend. */
	unsigned push_max_unanswered;
};

/*
 * One user's state as stored in the log. All pointers borrow: from the
 * state (state_get, state_foreach: valid until the next change to st) or
 * from the caller (state_put).
 */
struct pg_user_rec {
	const char *user;
	uint64_t
	    last_step; /* start (unix s) of the last accepted step, 0 = none */
	int64_t claimed_at;   /* unix time last_step was set */
	int64_t locked_until; /* locked while now < locked_until */
	size_t nfail;
	const int64_t *fail; /* failure times, oldest first */
	int64_t push_until;  /* push offered again once now >= push_until */
	size_t npush;
	const int64_t *push; /* failed push times, oldest first */
	int unenrolled;      /* counted against PG_STATE_MAX_UNENROLLED */
};

/* What a REPORT did. */
struct pg_report_result {
	int locked;             /* locked after this report */
	int64_t until;          /* when locked: end of the lock */
	unsigned nfail;         /* failures now counted in the window */
	int changed;            /* 1 if the user's state changed (persist it) */
	int64_t push_until;     /* push suspended until then; 0 = offered */
	int push_suspended_now; /* 1 if this report started a suspension */
};

/* Create an empty state. Returns 0 and *out, PG_ERR_INVAL (a limit out of
 * range) or PG_ERR_NOMEM. Free with state_free(). */
int state_new(const struct pg_state_limits *lim, struct pg_state **out);
void state_free(struct pg_state *st);

/*
 * Is user locked at now? Sets *until to the end of the lock, or 0 if not
 * locked. Under recovery a user without an entry is locked (see below).
 * Never fails; returns 0.
 */
int state_lock_until(const struct pg_state *st, const char *user, int64_t now,
                     int64_t *until);

/*
 * What state_claim() would answer, changing nothing: 0 (it would be
 * accepted), PG_ERR_LOCKED (*until set) or PG_ERR_REPLAY (at or below the
 * user's last accepted step: the floor, whatever a directory says).
 */
int state_claim_check(const struct pg_state *st, const char *user,
                      uint64_t step, int64_t now, int64_t *until);

/*
 * Accept the TOTP step starting at unix time step (proto.h CLAIM
 * step_start) for user if the user is not locked and step is greater than
 * the last accepted one. Returns 0 (recorded), PG_ERR_LOCKED (*until
 * set), PG_ERR_REPLAY, PG_ERR_BUSY (PG_STATE_MAX_USERS reached) or
 * PG_ERR_NOMEM. Nothing changes unless 0 is returned.
 */
int state_claim(struct pg_state *st, const char *user, uint64_t step,
                int64_t now, int64_t *until);

/*
 * Count a failure (success == 0) or clear the failures (success != 0) of
 * user at now. max_failures failures within failure_window lock the user
 * for lockout seconds; failures while locked are counted but do not extend
 * the lock; a success does not lift a lock. Returns 0 and fills *res, or
 * PG_ERR_BUSY / PG_ERR_NOMEM (nothing changed).
 */
int state_report(struct pg_state *st, const char *user, int success,
                 int64_t now, struct pg_report_result *res);

/*
 * state_report() of a failure of a user the module holds no token for
 * (REPORT enrolled=no). A new entry is an unenrolled one: PG_ERR_BUSY
 * once PG_STATE_MAX_UNENROLLED of those exist. An entry becomes an
 * ordinary one on any change state_report, state_report_push or
 * state_claim makes (then PG_ERR_BUSY means PG_STATE_MAX_USERS). Same
 * returns as state_report().
 */
int state_report_unenrolled(struct pg_state *st, const char *user, int64_t now,
                            struct pg_report_result *res);

/*
 * state_report() for a push (factor=push): a failure (denied or
 * unanswered) also counts towards push fatigue: push_max_unanswered of
 * them within failure_window suspend push for the user for lockout
 * seconds (res->push_suspended_now says this report did it). A push
 * success clears the push failures but not a suspension in force. Same
 * returns as state_report().
 */
int state_report_push(struct pg_state *st, const char *user, int success,
                      int64_t now, struct pg_report_result *res);

/* Is push suspended for user at now? *until = its end, or 0. Returns 0. */
int state_push_until(const struct pg_state *st, const char *user, int64_t now,
                     int64_t *until);

/* What state_unlock() found in force, and lifted. */
struct pg_unlock_result {
	int was_locked;     /* locked at now (a lockout, or recovery's) */
	int64_t push_until; /* end of the push suspension lifted; 0 = none */
	unsigned nfail;     /* failures inside failure_window, forgotten */
	unsigned npush;     /* failed pushes inside it, forgotten */
	int changed;        /* 1 if the user's state changed (persist it) */
};

/*
 * Lift user's lock and clear the failures; the last step is kept.
 * A push suspension and the push failures are cleared too. Under
 * recovery a user without an entry gets one (the step floor, unlocked).
 * Returns 0 with *res filled, or PG_ERR_BUSY/NOMEM (nothing changed).
 */
int state_unlock(struct pg_state *st, const char *user, int64_t now,
                 struct pg_unlock_result *res);

/* Copy user's entry into *out (borrowing). 0 or PG_ERR_NOTFOUND. */
int state_get(const struct pg_state *st, const char *user,
              struct pg_user_rec *out);

/*
 * Replace user's entry by *rec (replay of the log; rec->user must have
 * passed username_check), unenrolled or not as rec says. Failure times
 * beyond max_failures keep the newest. Returns 0, PG_ERR_BUSY or
 * PG_ERR_NOMEM.
 */
int state_put(struct pg_state *st, const struct pg_user_rec *rec);

/* Call fn for every entry, in no particular order, until it returns
 * non-zero; returns that value or 0. fn must not change st. */
int state_foreach(const struct pg_state *st,
                  int (*fn)(const struct pg_user_rec *rec, void *arg),
                  void *arg);

/*
 * Forget entries that can no longer matter at now: not locked, no failure
 * inside the window, and no step claimed within PG_STATE_FORGET_AFTER.
 * Also ends an expired recovery. Returns the number of entries removed.
 */
size_t state_sweep(struct pg_state *st, int64_t now);

/*
 * Start safe mode after a damaged log, at now: every user gets a step
 * floor of now + PG_STATE_MAX_SKEW (existing entries
 * are raised to it; locks are kept), and users without an entry are locked
 * until now + lockout unless unlocked. Ends by itself once both the floor
 * and that lock are harmless (see state_recovery).
 */
void state_begin_recovery(struct pg_state *st, int64_t now);

/* Restore a recovery read back from the log (floor step, lock end). */
void state_set_recovery(struct pg_state *st, uint64_t floor, int64_t until);

/*
 * 1 and *floor, *until set if a recovery is still in force at now (its
 * lock has not expired, or a code at or below the floor could still be
 * inside a window), else 0. floor/until may be NULL.
 */
int state_recovery(const struct pg_state *st, int64_t now, uint64_t *floor,
                   int64_t *until);

/* Number of entries, and of those locked at now. */
void state_counts(const struct pg_state *st, int64_t now, size_t *users,
                  size_t *locked);

/* Number of unenrolled entries (included in state_counts' users). */
size_t state_unenrolled(const struct pg_state *st);

#endif
