/* SPDX-License-Identifier: BSD-3-Clause */
/* Threat detection: spraying per source, unusual login hours per user, the
 * alert record and its syslog and JSON forms, and the hours file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "detect/detect.h"
#include "err.h"
#include "fileio.h"
#include "log.h"

#define HOURS_TMP     DETECT_HOURS_FILE ".tmp"
#define HOURS_CORRUPT DETECT_HOURS_FILE ".corrupt"
#define HOURS_HEADER  "phiguard-hours 1"
/* "U " + name + 25 numbers of at most 20 digits + blanks: fits easily. */
#define HOURS_LINE_MAX 1024
/* A file bigger than DETECT_MAX_USERS full lines is damage. */
#define HOURS_FILE_MAX ((off_t)HOURS_LINE_MAX * (DETECT_MAX_USERS + 2))

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

struct hour_user {
	uint32_t hash;
	char *name;
	int64_t last; /* last success: eviction order */
	unsigned total;
	uint16_t count[24];
};

struct pg_detect {
	struct detect_limits lim;
	size_t nsrc;
	struct spray_src *src[DETECT_MAX_SOURCES];
	size_t nusers;
	struct hour_user *users; /* DETECT_MAX_USERS slots, allocated lazily */
	int dirty;
};

/* FNV-1a: quick pre-compare for the linear scans, and the spray identity
 * of a user name (64 bits: a collision between two real user names is a
 * one-in-2^64 chance per pair, and costs at most one uncounted user). */
static uint64_t fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t fnv32(const char *s)
{
	uint64_t h = fnv64(s);

	return (uint32_t)(h ^ (h >> 32));
}

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

static void users_clear(struct pg_detect *d)
{
	size_t i;

	for (i = 0; i < d->nusers; i++)
		free(d->users[i].name);
	d->nusers = 0;
}

void detect_free(struct pg_detect *d)
{
	if (d == NULL)
		return;
	sources_clear(d);
	users_clear(d);
	free(d->users);
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
	h = fnv32(key);
	if ((s = src_find(d, key, is_tty, h)) == NULL &&
	    (s = src_add(d, key, is_tty, h, now)) == NULL)
		return PG_ERR_NOMEM;
	s->last = now;
	src_prune(s, now, d->lim.spray_window);
	src_note_user(s, d->lim.spray_users, fnv64(user), now);
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
	s = src_find(d, key, is_tty, fnv32(key));
	if (s == NULL || now >= s->blocked_until)
		return 0;
	if (until != NULL)
		*until = s->blocked_until;
	return 1;
}

static struct hour_user *user_find(const struct pg_detect *d, const char *name,
                                   uint32_t hash)
{
	size_t i;

	for (i = 0; i < d->nusers; i++)
		if (d->users[i].hash == hash &&
		    strcmp(d->users[i].name, name) == 0)
			return &d->users[i];
	return NULL;
}

/* A fresh entry for name (counters zero), evicting the user seen least
 * recently when full. NULL on no memory. */
static struct hour_user *user_add(struct pg_detect *d, const char *name,
                                  uint32_t hash)
{
	struct hour_user *u;
	size_t i, v = 0;
	char *copy;

	if (d->users == NULL &&
	    (d->users = calloc(DETECT_MAX_USERS, sizeof(*d->users))) == NULL)
		return NULL;
	if ((copy = strdup(name)) == NULL)
		return NULL;
	if (d->nusers == DETECT_MAX_USERS) {
		for (i = 1; i < d->nusers; i++)
			if (d->users[i].last < d->users[v].last)
				v = i;
		free(d->users[v].name);
		u = &d->users[v];
	} else {
		u = &d->users[d->nusers++];
	}
	memset(u, 0, sizeof(*u));
	u->name = copy;
	u->hash = hash;
	return u;
}

static void user_learn(struct hour_user *u, int hour)
{
	int i;

	if (u->count[hour] < UINT16_MAX) {
		u->count[hour]++;
		u->total++;
	}
	if (u->total >= DETECT_HOUR_CAP) {
		u->total = 0;
		for (i = 0; i < 24; i++) {
			u->count[i] /= 2;
			u->total += u->count[i];
		}
	}
}

int detect_success(struct pg_detect *d, const char *user, const char *rhost,
                   const char *tty, int64_t now, struct detect_alert *alert,
                   int *fired)
{
	struct hour_user *u;
	time_t t = (time_t)now;
	struct tm tm;
	uint32_t h = fnv32(user);
	unsigned pct;

	*fired = 0;
	/* Without a local hour there is nothing to learn or compare. */
	if (localtime_r(&t, &tm) == NULL || tm.tm_hour < 0 || tm.tm_hour > 23)
		return 0;
	if ((u = user_find(d, user, h)) == NULL &&
	    (u = user_add(d, user, h)) == NULL)
		return PG_ERR_NOMEM;
	/* count * 100 < percent * total, in integers: "under P %". */
	pct = d->lim.hour_percent;
	if (u->total >= d->lim.hour_min_logins &&
	    (uint64_t)u->count[tm.tm_hour] * 100 < (uint64_t)pct * u->total) {
		alert_init(alert, DETECT_HOUR, user, rhost, tty, now);
		snprintf(alert->detail, sizeof(alert->detail),
		         "login at %02d:xx local time; %u of %u past logins "
		         "in that hour",
		         tm.tm_hour, (unsigned)u->count[tm.tm_hour], u->total);
		*fired = 1;
	}
	user_learn(u, tm.tm_hour);
	u->last = now;
	d->dirty = 1;
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

/* An output buffer that remembers overflow. */
struct out {
	char *buf;
	size_t len, pos;
	int over;
};

static void put_c(struct out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos++] = c;
	else
		o->over = 1;
}

static void put_s(struct out *o, const char *s)
{
	for (; *s != '\0'; s++)
		put_c(o, *s);
}

static void put_hex(struct out *o, const char *prefix, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	put_s(o, prefix);
	put_c(o, hex[c >> 4]);
	put_c(o, hex[c & 15]);
}

/* key=value with value percent-encoded, "-" when empty. */
static void put_kv(struct out *o, const char *key, const char *val)
{
	const unsigned char *p = (const unsigned char *)val;

	put_c(o, ' ');
	put_s(o, key);
	put_c(o, '=');
	if (*p == '\0')
		put_c(o, '-');
	for (; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e || *p == '%' || *p == '=' ||
		    *p == '"')
			put_hex(o, "%", *p);
		else
			put_c(o, (char)*p);
	}
}

static void put_quoted(struct out *o, const char *val)
{
	const unsigned char *p = (const unsigned char *)val;

	put_c(o, '"');
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			put_c(o, '\\');
			put_c(o, (char)*p);
		} else if (*p < 0x20 || *p > 0x7e) {
			put_hex(o, "\\x", *p);
		} else {
			put_c(o, (char)*p);
		}
	}
	put_c(o, '"');
}

static void put_json_str(struct out *o, const char *val)
{
	const unsigned char *p = (const unsigned char *)val;

	put_c(o, '"');
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			put_c(o, '\\');
			put_c(o, (char)*p);
		} else if (*p < 0x20) {
			put_hex(o, "\\u00", *p);
		} else if (*p > 0x7e) {
			put_c(o, '?');
		} else {
			put_c(o, (char)*p);
		}
	}
	put_c(o, '"');
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

static int out_end(struct out *o)
{
	if (o->len == 0)
		return PG_ERR_TOOLONG;
	if (o->over) {
		o->buf[0] = '\0';
		return PG_ERR_TOOLONG;
	}
	o->buf[o->pos] = '\0';
	return 0;
}

static const char *sev_name(int severity)
{
	return severity == LOG_ALERT ? "alert" : "warning";
}

int detect_alert_syslog(const struct detect_alert *a, char *buf, size_t len)
{
	struct out o = {buf, len, 0, 0};
	char ts[32];

	fmt_time(a->time, ts, sizeof(ts));
	put_s(&o, a->id);
	put_kv(&o, "kind", detect_kind_name(a->kind));
	put_kv(&o, "severity", sev_name(a->severity));
	put_kv(&o, "time", ts);
	put_kv(&o, "user", a->user);
	put_kv(&o, "source_type", a->source_type);
	put_kv(&o, "source", a->source);
	put_s(&o, " detail=");
	put_quoted(&o, a->detail);
	return out_end(&o);
}

int detect_alert_json(const struct detect_alert *a, char *buf, size_t len)
{
	struct out o = {buf, len, 0, 0};
	char ts[32];

	fmt_time(a->time, ts, sizeof(ts));
	put_s(&o, "{\"time\":");
	put_json_str(&o, ts);
	put_s(&o, ",\"alert\":");
	put_json_str(&o, a->id);
	put_s(&o, ",\"kind\":");
	put_json_str(&o, detect_kind_name(a->kind));
	put_s(&o, ",\"severity\":");
	put_json_str(&o, sev_name(a->severity));
	put_s(&o, ",\"user\":");
	put_json_str(&o, a->user);
	put_s(&o, ",\"source_type\":");
	put_json_str(&o, a->source_type);
	put_s(&o, ",\"source\":");
	put_json_str(&o, a->source);
	put_s(&o, ",\"detail\":");
	put_json_str(&o, a->detail);
	put_c(&o, '}');
	return out_end(&o);
}

void detect_alert_log(const struct detect_alert *a)
{
	char line[DETECT_LINE_MAX];

	if (detect_alert_syslog(a, line, sizeof(line)) != 0)
		return;
	/* log_alert's lines start with "ALERT": SIEM rules match on it and
	 * on the stable id after it. */
	if (a->severity == LOG_ALERT)
		log_alert("ALERT %s", line);
	else
		log_warnx("ALERT %s", line);
}

/* ------------------------------------------------------------ the file */

/* Parse an unsigned decimal field of at most max; advances *p past one
 * blank. */
static int parse_u64(char **p, uint64_t max, uint64_t *out)
{
	char *s = *p, *end;
	uint64_t v;

	if (*s < '0' || *s > '9')
		return PG_ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > max || (*end != ' ' && *end != '\0'))
		return PG_ERR_INVAL;
	*p = *end == ' ' ? end + 1 : end;
	*out = v;
	return 0;
}

static int parse_user_line(struct pg_detect *d, char *line)
{
	struct hour_user *u;
	char *p = line + 2, *name;
	uint64_t v, last;
	unsigned total = 0;
	uint16_t c[24];
	int i;

	name = p;
	if ((p = strchr(p, ' ')) == NULL)
		return PG_ERR_INVAL;
	*p++ = '\0';
	if (username_check(name) != 0 || parse_u64(&p, INT64_MAX, &last) != 0)
		return PG_ERR_INVAL;
	for (i = 0; i < 24; i++) {
		if (parse_u64(&p, DETECT_HOUR_CAP, &v) != 0)
			return PG_ERR_INVAL;
		c[i] = (uint16_t)v;
		total += (unsigned)v;
	}
	if (*p != '\0' || total >= DETECT_HOUR_CAP ||
	    user_find(d, name, fnv32(name)) != NULL ||
	    d->nusers == DETECT_MAX_USERS)
		return PG_ERR_INVAL;
	if ((u = user_add(d, name, fnv32(name))) == NULL)
		return PG_ERR_NOMEM;
	memcpy(u->count, c, sizeof(c));
	u->total = total;
	u->last = (int64_t)last;
	return 0;
}

/* Parse the whole file in f into d. PG_ERR_INVAL on damage. */
static int parse_hours(struct pg_detect *d, FILE *f)
{
	char line[HOURS_LINE_MAX];
	size_t n, lineno = 0, records = 0;
	uint64_t count;
	char *p;
	int rc, ended = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n' || ended)
			return PG_ERR_INVAL;
		line[n - 1] = '\0';
		if (lineno == 1) {
			if (strcmp(line, HOURS_HEADER) != 0)
				return PG_ERR_INVAL;
		} else if (strncmp(line, "U ", 2) == 0) {
			if ((rc = parse_user_line(d, line)) != 0)
				return rc;
			records++;
		} else if (strncmp(line, "end ", 4) == 0) {
			p = line + 4;
			if (parse_u64(&p, SIZE_MAX, &count) != 0 ||
			    *p != '\0' || count != records)
				return PG_ERR_INVAL;
			ended = 1;
		} else {
			return PG_ERR_INVAL;
		}
	}
	return ferror(f) || !ended ? PG_ERR_INVAL : 0;
}

int detect_hours_load(struct pg_detect *d, int dirfd, const char *dirname)
{
	struct stat sb;
	FILE *f = NULL;
	int fd, rc = 0;

	users_clear(d);
	d->dirty = 0;
	fd = openat(dirfd, DETECT_HOURS_FILE,
	            O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		log_err("%s/%s: cannot open", dirname, DETECT_HOURS_FILE);
		rc = PG_ERR_INVAL;
		goto damaged;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > HOURS_FILE_MAX) {
		close(fd);
		rc = PG_ERR_INVAL;
		goto damaged;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return PG_ERR_NOMEM;
	}
	rc = parse_hours(d, f);
	fclose(f);
	if (rc == 0 || rc == PG_ERR_NOMEM) {
		if (rc != 0)
			users_clear(d);
		return rc;
	}
damaged:
	/* Learned habits only tune a warning: losing them is safe, so a
	 * damaged file never stops the daemon. Keep it for the admin. */
	users_clear(d);
	log_errx("%s/%s: damaged; learned login hours start empty (kept as "
	         "%s)",
	         dirname, DETECT_HOURS_FILE, HOURS_CORRUPT);
	if (renameat(dirfd, DETECT_HOURS_FILE, dirfd, HOURS_CORRUPT) != 0)
		log_err("%s/%s: rename", dirname, DETECT_HOURS_FILE);
	d->dirty = 1;
	return 0;
}

int detect_hours_save(struct pg_detect *d, int dirfd, const char *dirname)
{
	enum fileio_step failed;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *m = NULL;
	int fd = -1, rc = PG_ERR_NOMEM, j;
	const struct hour_user *u;

	if ((m = open_memstream(&buf, &len)) == NULL)
		goto out;
	fprintf(m, "%s\n", HOURS_HEADER);
	for (i = 0; i < d->nusers; i++) {
		u = &d->users[i];
		fprintf(m, "U %s %" PRId64, u->name, u->last < 0 ? 0 : u->last);
		for (j = 0; j < 24; j++)
			fprintf(m, " %u", (unsigned)u->count[j]);
		fputc('\n', m);
	}
	fprintf(m, "end %zu\n", d->nusers);
	if (fclose(m) != 0) {
		m = NULL;
		goto out;
	}
	m = NULL;
	rc = PG_ERR_IO;
	if (unlinkat(dirfd, HOURS_TMP, 0) != 0 && errno != ENOENT)
		goto fail;
	fd = openat(dirfd, HOURS_TMP,
	            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fileio_write_all(fd, buf, len) != 0)
		goto fail;
	if (fileio_commit(fd, dirfd, HOURS_TMP, DETECT_HOURS_FILE, &failed) !=
	    0) {
		if (failed != FILEIO_STEP_FSYNC_DIR)
			goto fail;
		log_warn("%s: fsync", dirname);
	}
	d->dirty = 0;
	rc = 0;
	goto out;
fail:
	log_err("%s/%s: cannot save learned login hours", dirname,
	        DETECT_HOURS_FILE);
	if (fd >= 0)
		unlinkat(dirfd, HOURS_TMP, 0);
out:
	if (m != NULL)
		fclose(m);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int detect_hours_dirty(const struct pg_detect *d)
{
	return d->dirty;
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
		*users = d->nusers;
}
