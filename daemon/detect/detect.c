/* SPDX-License-Identifier: BSD-3-Clause */
/* Threat detection: spraying per source, unusual login hours per user (on
 * the counters of hours.c), and the alert records of both and of the
 * caller's own events. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "detect/detect.h"
#include "detect/fnv.h"
#include "detect/hours.h"
#include "err.h"

struct spray_user {
	uint64_t hash; /* of the user name */
	int64_t last;  /* its last failure from this source */
};

struct spray_src {
	uint32_t hash;
	int is_tty;
	char name[DETECT_SOURCE_MAX];
	int64_t last;          /* last failure: eviction order */
	int64_t alerted;       /* last alert, 0 = none */
	int64_t blocked_until; /* refused while now < blocked_until */
	unsigned nusers;
	struct spray_user *users; /* spray_users slots */
};

struct pg_detect {
	struct detect_limits lim;
	size_t nsrc;
	struct spray_src *src[DETECT_MAX_SOURCES];
	struct hours *hours; /* the learned login hours */
};

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strnlen(src, size - 1) : 0;

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The source of a request: rhost, else tty, else none (NULL). */
static const char *pick_source(const char *rhost, const char *tty, int *is_tty)
{
	if (rhost != NULL && rhost[0] != '\0') {
		*is_tty = 0;
		return rhost;
	}
	if (tty != NULL && tty[0] != '\0') {
		*is_tty = 1;
		return tty;
	}
	return NULL;
}

int detect_check_limits(const struct detect_limits *lim)
{
	if (lim == NULL || lim->spray_users < 2 ||
	    lim->spray_users > DETECT_SPRAY_MAX || lim->spray_window < 1 ||
	    lim->spray_window > 604800 || lim->spray_block < 0 ||
	    lim->spray_block > 604800 || lim->hour_min_logins < 1 ||
	    lim->hour_min_logins > DETECT_HOUR_MIN_MAX ||
	    lim->hour_percent > 100)
		return PG_ERR_INVAL;
	return 0;
}

int detect_new(const struct detect_limits *lim, struct pg_detect **out)
{
	struct pg_detect *d;

	if (detect_check_limits(lim) != 0)
		return PG_ERR_INVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return PG_ERR_NOMEM;
	if (hours_new(&d->hours) != 0) {
		free(d);
		return PG_ERR_NOMEM;
	}
	d->lim = *lim;
	*out = d;
	return 0;
}

static void src_free(struct spray_src *s)
{
	if (s != NULL)
		free(s->users);
	free(s);
}

static void sources_clear(struct pg_detect *d)
{
	size_t i;

	for (i = 0; i < d->nsrc; i++)
		src_free(d->src[i]);
	d->nsrc = 0;
}

void detect_free(struct pg_detect *d)
{
	if (d == NULL)
		return;
	sources_clear(d);
	hours_free(d->hours);
	free(d);
}

int detect_set_limits(struct pg_detect *d, const struct detect_limits *lim)
{
	if (detect_check_limits(lim) != 0)
		return PG_ERR_INVAL;
	/* The per-source user slots are sized by spray_users. */
	if (lim->spray_users != d->lim.spray_users)
		sources_clear(d);
	d->lim = *lim;
	return 0;
}

static struct spray_src *src_find(const struct pg_detect *d, const char *name,
                                  int is_tty, uint32_t hash)
{
	size_t i;

	for (i = 0; i < d->nsrc; i++)
		if (d->src[i]->hash == hash && d->src[i]->is_tty == is_tty &&
		    strcmp(d->src[i]->name, name) == 0)
			return d->src[i];
	return NULL;
}

/* Index of the source to evict: not blocked and seen least recently, or
 * (all blocked) seen least recently. */
static size_t src_victim(const struct pg_detect *d, int64_t now)
{
	size_t i, best = 0;
	int best_blocked = 1, blocked;

	for (i = 0; i < d->nsrc; i++) {
		blocked = now < d->src[i]->blocked_until;
		if ((best_blocked && !blocked) ||
		    (blocked == best_blocked &&
		     d->src[i]->last < d->src[best]->last)) {
			best = i;
			best_blocked = blocked;
		}
	}
	return best;
}

static struct spray_src *src_add(struct pg_detect *d, const char *name,
                                 int is_tty, uint32_t hash, int64_t now)
{
	struct spray_src *s;
	size_t v;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->users = calloc(d->lim.spray_users, sizeof(*s->users))) ==
	        NULL) {
		src_free(s);
		return NULL;
	}
	copy_str(s->name, sizeof(s->name), name);
	s->hash = hash;
	s->is_tty = is_tty;
	if (d->nsrc == DETECT_MAX_SOURCES) {
		v = src_victim(d, now);
		src_free(d->src[v]);
		d->src[v] = d->src[--d->nsrc];
	}
	d->src[d->nsrc++] = s;
	return s;
}

/* Drop users whose last failure left the window; count the rest. */
static unsigned src_prune(struct spray_src *s, int64_t now, int64_t window)
{
	unsigned i = 0;

	while (i < s->nusers) {
		if (now - s->users[i].last >= window)
			s->users[i] = s->users[--s->nusers];
		else
			i++;
	}
	return s->nusers;
}

static void src_note_user(struct spray_src *s, unsigned cap, uint64_t uh,
                          int64_t now)
{
	unsigned i, oldest = 0;

	for (i = 0; i < s->nusers; i++) {
		if (s->users[i].hash == uh) {
			s->users[i].last = now;
			return;
		}
		if (s->users[i].last < s->users[oldest].last)
			oldest = i;
	}
	if (s->nusers < cap)
		i = s->nusers++;
	else
		i = oldest;
	s->users[i].hash = uh;
	s->users[i].last = now;
}

static void alert_init(struct detect_alert *a, enum detect_kind kind,
                       const char *user, const char *rhost, const char *tty,
                       int64_t now)
{
	static const char *const ids[] = {
	    "PG-ALERT-SPRAY", "PG-ALERT-BRUTEFORCE", "PG-ALERT-PUSHFATIGUE",
	    "PG-ALERT-HOUR", "PG-ALERT-BREAKGLASS"};
	const char *src;
	int is_tty = 0;

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->id = ids[kind];
	a->severity = kind == DETECT_HOUR ? LOG_WARNING : LOG_ALERT;
	a->time = now;
	copy_str(a->user, sizeof(a->user), user);
	src = pick_source(rhost, tty, &is_tty);
	a->source_type = src == NULL ? "" : is_tty ? "tty" : "rhost";
	copy_str(a->source, sizeof(a->source), src);
}

int detect_failure(struct pg_detect *d, const char *user, const char *rhost,
                   const char *tty, int64_t now, struct detect_alert *alert,
                   int *fired)
{
	char key[DETECT_SOURCE_MAX];
	struct spray_src *s;
	const char *src;
	unsigned n;
	int is_tty;
	uint32_t h;

	*fired = 0;
	if ((src = pick_source(rhost, tty, &is_tty)) == NULL)
		return 0;
	copy_str(key, sizeof(key), src);
	h = fnv_32(key);
	if ((s = src_find(d, key, is_tty, h)) == NULL &&
	    (s = src_add(d, key, is_tty, h, now)) == NULL)
		return PG_ERR_NOMEM;
	s->last = now;
	src_prune(s, now, d->lim.spray_window);
	src_note_user(s, d->lim.spray_users, fnv_64(user), now);
	n = s->nusers;
	if (n < d->lim.spray_users ||
	    (s->alerted != 0 && now - s->alerted < d->lim.spray_window))
		return 0;
	s->alerted = now;
	if (d->lim.spray_block > 0)
		s->blocked_until = now + d->lim.spray_block;
	alert_init(alert, DETECT_SPRAY, user, rhost, tty, now);
	if (d->lim.spray_block > 0)
		snprintf(alert->detail, sizeof(alert->detail),
		         "failures for %u users within %" PRId64
		         " s; source refused until %" PRId64,
		         n, d->lim.spray_window, s->blocked_until);
	else
		snprintf(alert->detail, sizeof(alert->detail),
		         "failures for %u users within %" PRId64 " s", n,
		         d->lim.spray_window);
	*fired = 1;
	return 0;
}

int detect_source_blocked(const struct pg_detect *d, const char *rhost,
                          const char *tty, int64_t now, int64_t *until)
{
	char key[DETECT_SOURCE_MAX];
	const struct spray_src *s;
	const char *src;
	int is_tty;

	if (until != NULL)
		*until = 0;
	if ((src = pick_source(rhost, tty, &is_tty)) == NULL)
		return 0;
	copy_str(key, sizeof(key), src);
	s = src_find(d, key, is_tty, fnv_32(key));
	if (s == NULL || now >= s->blocked_until)
		return 0;
	if (until != NULL)
		*until = s->blocked_until;
	return 1;
}

int detect_success(struct pg_detect *d, const char *user, const char *rhost,
                   const char *tty, int64_t now, struct detect_alert *alert,
                   int *fired)
{
	time_t t = (time_t)now;
	struct tm tm;
	unsigned count, total;
	int rc;

	*fired = 0;
	/* Without a local hour there is nothing to learn or compare. */
	if (localtime_r(&t, &tm) == NULL || tm.tm_hour < 0 || tm.tm_hour > 23)
		return 0;
	rc = hours_learn(d->hours, user, tm.tm_hour, now, &count, &total);
	if (rc != 0)
		return rc;
	/* count * 100 < percent * total, in integers: "under P %" of the
	 * logins counted before this one. */
	if (total >= d->lim.hour_min_logins &&
	    (uint64_t)count * 100 < (uint64_t)d->lim.hour_percent * total) {
		alert_init(alert, DETECT_HOUR, user, rhost, tty, now);
		snprintf(alert->detail, sizeof(alert->detail),
		         "login at %02d:xx local time; %u of %u past logins "
		         "in that hour",
		         tm.tm_hour, count, total);
		*fired = 1;
	}
	return 0;
}

void detect_alert_bruteforce(struct detect_alert *alert, const char *user,
                             const char *rhost, const char *tty, int64_t now,
                             unsigned nfail, int64_t until)
{
	alert_init(alert, DETECT_BRUTEFORCE, user, rhost, tty, now);
	snprintf(alert->detail, sizeof(alert->detail),
	         "%u failures; locked until %" PRId64, nfail, until);
}

void detect_alert_pushfatigue(struct detect_alert *alert, const char *user,
                              const char *rhost, const char *tty, int64_t now,
                              int64_t until)
{
	alert_init(alert, DETECT_PUSHFATIGUE, user, rhost, tty, now);
	snprintf(alert->detail, sizeof(alert->detail),
	         "repeated denied or unanswered pushes; push suspended until "
	         "%" PRId64,
	         until);
}

void detect_alert_breakglass(struct detect_alert *alert, const char *user,
                             const char *rhost, const char *tty, int64_t now,
                             const char *scopes)
{
	alert_init(alert, DETECT_BREAKGLASS, user, rhost, tty, now);
	snprintf(alert->detail, sizeof(alert->detail), "break-glass grant: %s",
	         scopes != NULL ? scopes : "");
}

const char *detect_kind_name(enum detect_kind kind)
{
	switch (kind) {
	case DETECT_SPRAY:
		return "spray";
	case DETECT_BRUTEFORCE:
		return "bruteforce";
	case DETECT_PUSHFATIGUE:
		return "pushfatigue";
	case DETECT_HOUR:
		return "hour";
	case DETECT_BREAKGLASS:
		return "breakglass";
	}
	return "unknown";
}

int detect_hours_load(struct pg_detect *d, int dirfd, const char *dirname)
{
	return hours_load(d->hours, dirfd, dirname);
}

int detect_hours_save(struct pg_detect *d, int dirfd, const char *dirname)
{
	return hours_save(d->hours, dirfd, dirname);
}

int detect_hours_dirty(const struct pg_detect *d)
{
	return hours_dirty(d->hours);
}

void detect_counts(const struct pg_detect *d, int64_t now, size_t *sources,
                   size_t *blocked, size_t *users)
{
	size_t i, b = 0;

	for (i = 0; i < d->nsrc; i++)
		if (now < d->src[i]->blocked_until)
			b++;
	if (sources != NULL)
		*sources = d->nsrc;
	if (blocked != NULL)
		*blocked = b;
	if (users != NULL)
		*users = hours_users(d->hours);
}
