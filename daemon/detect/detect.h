/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Threat detection: password/OTP spraying from one source, logins at an
 * unusual hour for the user, and one alert shape for these and for the
 * events the caller detects itself (lockout = brute force, push suspension
 * = push fatigue, break-glass use). Pure logic like state.h: the caller
 * passes the time, emits the alerts (their text forms are alertfmt.h; the
 * audit trail, webhook.h) and decides when to persist the learned hours
 * (kept by hours.h).
 *
 * Spraying. A second-factor failure counts for its source: the rhost if
 * given, else the tty (they are kept apart: rhost "x" and tty "x" are two
 * sources); a failure with neither counts nowhere. Failures for at least
 * spray_users distinct users from one source within spray_window seconds
 * raise one alert, and at most one per source per spray_window after that
 * (a spray that goes on is re-reported once per window, not per failure).
 * With spray_block > 0 the source is then refused for spray_block seconds
 * (detect_source_blocked; a re-alert extends the block).
 * Memory: at most DETECT_MAX_SOURCES sources, each remembering at most
 * spray_users distinct users (a 64-bit hash of the name and the time of
 * its last failure). A new source when full evicts the source seen least
 * recently that is not blocked (or, if all are, the one seen least
 * recently); a new user when a source is full replaces its oldest user.
 *
 * Unusual hour. Each user has 24 counters of successful logins by hour of
 * the daemon's local time (localtime_r, so TZ applies). A success at an
 * hour holding under hour_percent % of the user's counted logins, once
 * there are at least hour_min_logins of them, raises an alert (never a
 * deny); the login is then counted. How old habits fade and how many
 * users are kept: hours.h. Lookups are linear scans over bounded tables.
 *
 * Severity: LOG_ALERT (someone must look now) for spraying, brute force,
 * push fatigue and break-glass; LOG_WARNING (worth a look, often a shift
 * change) for an unusual hour.
 */
#ifndef PHIGUARD_DAEMON_DETECT_H
#define PHIGUARD_DAEMON_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "detect/hours.h"
#include "username.h"

#define DETECT_MAX_SOURCES  4096
#define DETECT_MAX_USERS    HOURS_MAX_USERS
#define DETECT_SPRAY_MAX    100       /* spray_users upper bound (config) */
#define DETECT_HOUR_CAP     HOURS_CAP /* a user's total that halves counters */
#define DETECT_HOUR_MIN_MAX 500 /* hour_min_logins upper bound (< CAP/2) */
/* Bytes of a source kept, with the NUL; a longer one is cut (and so
 * counts as the source its first 255 bytes name). */
#define DETECT_SOURCE_MAX 256
#define DETECT_DETAIL_MAX 128
#define DETECT_HOURS_FILE HOURS_FILE

struct pg_detect; /* opaque */

struct detect_limits {
	unsigned spray_users;     /* distinct users (2..DETECT_SPRAY_MAX) */
	int64_t spray_window;     /* seconds (1..604800) */
	int64_t spray_block;      /* seconds; 0 = alert only (0..604800) */
	unsigned hour_min_logins; /* 1..DETECT_HOUR_MIN_MAX */
	unsigned hour_percent;    /* 0..100; 0 = never alert */
};

enum detect_kind {
	DETECT_SPRAY,
	DETECT_BRUTEFORCE,
	DETECT_PUSHFATIGUE,
	DETECT_HOUR,
	DETECT_BREAKGLASS
};

/*
 * One alert, of any kind. Self-contained (no pointers into the detector),
 * so it may be copied to another thread. Strings are NUL-terminated and
 * "" when absent; user and source hold what the caller passed (source may
 * hold any byte but NUL: the formatters escape it).
 */
struct detect_alert {
	enum detect_kind kind;
	const char *id; /* "PG-ALERT-SPRAY", ...; static */
	int severity;   /* LOG_ALERT or LOG_WARNING (syslog.h) */
	int64_t time;   /* unix seconds */
	char user[PG_USER_MAX + 1];
	const char *source_type; /* "rhost", "tty" or ""; static */
	char source[DETECT_SOURCE_MAX];
	char detail[DETECT_DETAIL_MAX]; /* short, our own text */
};

/* Check limits. 0 or PG_ERR_INVAL. */
int detect_check_limits(const struct detect_limits *lim);

/* Create an empty detector. 0 and *out, PG_ERR_INVAL or PG_ERR_NOMEM.
 * Free with detect_free (accepts NULL). */
int detect_new(const struct detect_limits *lim, struct pg_detect **out);
void detect_free(struct pg_detect *d);

/*
 * New limits (config reload). The learned hours are kept; the spray
 * sources are forgotten when spray_users changes, blocks in force stay
 * otherwise. 0, PG_ERR_INVAL (nothing changed) or PG_ERR_NOMEM.
 */
int detect_set_limits(struct pg_detect *d, const struct detect_limits *lim);

/*
 * A second-factor failure of user (validated name) from rhost / tty (NULL
 * or "" when absent) at now. *fired = 1 and *alert filled when it raised a
 * spraying alert, else *fired = 0 and *alert untouched. 0 or PG_ERR_NOMEM
 * (nothing counted, *fired = 0).
 */
int detect_failure(struct pg_detect *d, const char *user, const char *rhost,
                   const char *tty, int64_t now, struct detect_alert *alert,
                   int *fired);

/*
 * 1 if the source of rhost / tty (as detect_failure picks it) is refused
 * at now after a spraying alert, with *until (may be NULL) the end of the
 * block; 0 otherwise (and always when spray_block is 0).
 */
int detect_source_blocked(const struct pg_detect *d, const char *rhost,
                          const char *tty, int64_t now, int64_t *until);

/*
 * A successful login of user at now (the whole login: call once, after
 * the last factor). *fired = 1 and *alert filled when the hour is unusual
 * for the user, else 0. The login is learned either way (the detector
 * becomes dirty, see detect_hours_dirty). 0 or PG_ERR_NOMEM.
 */
int detect_success(struct pg_detect *d, const char *user, const char *rhost,
                   const char *tty, int64_t now, struct detect_alert *alert,
                   int *fired);

/*
 * Alerts for what the caller saw itself; they only fill *alert (no state).
 * Lockout (brute force): nfail failures locked user until `until`.
 * Push fatigue: push suspended for user until `until`.
 * Break-glass: user was granted scopes (space-separated; cut to fit).
 */
void detect_alert_bruteforce(struct detect_alert *alert, const char *user,
                             const char *rhost, const char *tty, int64_t now,
                             unsigned nfail, int64_t until);
void detect_alert_pushfatigue(struct detect_alert *alert, const char *user,
                              const char *rhost, const char *tty, int64_t now,
                              int64_t until);
void detect_alert_breakglass(struct detect_alert *alert, const char *user,
                             const char *rhost, const char *tty, int64_t now,
                             const char *scopes);

/* The lower-case name of a kind ("spray", "bruteforce", "pushfatigue",
 * "hour", "breakglass"). */
const char *detect_kind_name(enum detect_kind kind);

/*
 * Learned hours on disk (hours_load, hours_save: the file, its format and
 * what a damaged one does). Load replaces what d has learned; 0 or
 * PG_ERR_NOMEM, never fatal.
 */
int detect_hours_load(struct pg_detect *d, int dirfd, const char *dirname);

/* Write the learned hours atomically and clear the dirty flag. 0, or
 * PG_ERR_IO / PG_ERR_NOMEM (logged; the previous file stays). */
int detect_hours_save(struct pg_detect *d, int dirfd, const char *dirname);

/* 1 if something was learned since the last load or save. */
int detect_hours_dirty(const struct pg_detect *d);

/* Numbers for STATUS: tracked spray sources, of those blocked at now, and
 * users with learned hours. Any pointer may be NULL. */
void detect_counts(const struct pg_detect *d, int64_t now, size_t *sources,
                   size_t *blocked, size_t *users);

#endif
