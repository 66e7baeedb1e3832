/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-user login state: a hash table of users with step, failure and lock
 * bookkeeping, and the lockout and replay rules applied to it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "login/state.h"

#define STATE_MIN_BUCKETS 64

/* Recent event times, oldest first, in at most cap slots allocated on the
 * first event: most users never fail, and pay nothing for it. */
struct times {
	int64_t *t;
	size_t n;
};

struct entry {
	struct entry *next; /* bucket chain */
	uint64_t hash;
	uint64_t last_step;
	int64_t claimed_at;
	int64_t locked_until;
	int64_t push_until;
	struct times fail; /* max_failures slots once the first one arrives */
	struct times push; /* push_max_unanswered slots, likewise */
	int unenrolled;    /* counted in n_unenrolled, not against MAX_USERS */
	char name[];
};

struct pg_state {
	struct pg_state_limits lim;
	uint64_t key[2]; /* SipHash key, random per process */
	struct entry **bucket;
	size_t nbuckets; /* power of two */
	size_t count;
	size_t n_unenrolled; /* of count */
	int recovering;
	uint64_t rec_floor;
	int64_t rec_until;
};

/*
 * SipHash-2-4 (Aumasson, Bernstein 2012). User names reach this table
 * from anyone who can type a login name, so a keyed hash keeps an attacker
 * from choosing names that all land in one bucket.
 */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

static uint64_t load_le(const unsigned char *p, size_t n)
{
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		m |= (uint64_t)p[i] << (8 * i);
	return m;
}

static uint64_t siphash24(const uint64_t key[2], const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	uint64_t v[4] = {
	    key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
	    key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL};
	uint64_t m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load_le(p + i, 8);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	m = load_le(p + i, len - i) | (uint64_t)len << 56;
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void seed_key(uint64_t key[2])
{
	struct timespec ts;

	/*
	 * GRND_NONBLOCK: at early boot the pool may not be ready and a login
	 * daemon must not hang on it. The fallback is weaker but only buys
	 * an attacker slower lookups, never a wrong answer.
	 */
	if (getrandom(key, 2 * sizeof(key[0]), GRND_NONBLOCK) ==
	    (ssize_t)(2 * sizeof(key[0])))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	key[0] =
	    (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	key[1] = (uint64_t)ts.tv_sec ^ (uintptr_t)key;
}

int state_new(const struct pg_state_limits *lim, struct pg_state **out)
{
	int rc = PG_ERR_INVAL;
	struct pg_state *st = NULL;

	if (lim->max_failures < 1 ||
	    lim->max_failures > PG_STATE_MAX_FAILURES ||
	    lim->failure_window < 1 || lim->lockout < 1 ||
	    lim->push_max_unanswered > PG_STATE_MAX_FAILURES)
		goto out;
	rc = PG_ERR_NOMEM;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto out;
	st->nbuckets = STATE_MIN_BUCKETS;
	if ((st->bucket = calloc(st->nbuckets, sizeof(*st->bucket))) == NULL)
		goto out;
	st->lim = *lim;
	seed_key(st->key);
	*out = st;
	st = NULL;
	rc = 0;
out:
	state_free(st);
	return rc;
}

static void entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free(e->fail.t);
	free(e->push.t);
	free(e);
}

void state_free(struct pg_state *st)
{
	struct entry *e, *next;
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; st->bucket != NULL && i < st->nbuckets; i++)
		for (e = st->bucket[i]; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	free(st->bucket);
	free(st);
}

static struct entry *find(const struct pg_state *st, const char *user,
                          uint64_t *hash_out)
{
	uint64_t h = siphash24(st->key, user, strlen(user));
	struct entry *e;

	if (hash_out != NULL)
		*hash_out = h;
	for (e = st->bucket[h & (st->nbuckets - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->name, user) == 0)
			return e;
	return NULL;
}

/* Double the bucket array; on allocation failure keep the old one (the
 * table stays correct, only chains get longer). */
static void grow(struct pg_state *st)
{
	size_t n = st->nbuckets * 2, i;
	struct entry **nb, *e, *next;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < st->nbuckets; i++)
		for (e = st->bucket[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	free(st->bucket);
	st->bucket = nb;
	st->nbuckets = n;
}

/* Unix time t as a step start, 0 before 1970. */
static uint64_t step_at(int64_t t)
{
	return t < 0 ? 0 : (uint64_t)t;
}

static int recovery_active(const struct pg_state *st, int64_t now)
{
	if (!st->recovering)
		return 0;
	/* Harmless once the implied lock is over and every step up to the
	 * floor is more than a window in the past. */
	return now < st->rec_until ||
	       step_at(now) <= st->rec_floor + PG_STATE_MAX_SKEW;
}

/* Room for one more entry of this kind? */
static int room(const struct pg_state *st, int unenrolled)
{
	if (unenrolled)
		return st->n_unenrolled < PG_STATE_MAX_UNENROLLED;
	return st->count - st->n_unenrolled < PG_STATE_MAX_USERS;
}

/* Make e an unenrolled entry or an ordinary one, if there is room. */
static int set_kind(struct pg_state *st, struct entry *e, int unenrolled)
{
	if (e->unenrolled == unenrolled)
		return 0;
	if (!room(st, unenrolled))
		return PG_ERR_BUSY;
	e->unenrolled = unenrolled;
	if (unenrolled)
		st->n_unenrolled++;
	else
		st->n_unenrolled--;
	return 0;
}

/*
 * The entry for user, created if missing, as an unenrolled entry or not
 * (an existing one only ever becomes ordinary here: state_put sets
 * either). A new entry starts empty, or under recovery with the step
 * floor and the recovery lock, so creating one never loosens what an
 * absent entry implied.
 */
static int get_or_create(struct pg_state *st, const char *user, int64_t now,
                         int unenrolled, struct entry **out)
{
	uint64_t h;
	struct entry *e = find(st, user, &h);
	size_t len;
	int rc;

	if (e != NULL) {
		if (!unenrolled && (rc = set_kind(st, e, 0)) != 0)
			return rc;
		*out = e;
		return 0;
	}
	if (!room(st, unenrolled))
		return PG_ERR_BUSY;
	len = strlen(user);
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return PG_ERR_NOMEM;
	memcpy(e->name, user, len + 1);
	e->hash = h;
	if (recovery_active(st, now)) {
		e->last_step = st->rec_floor;
		e->claimed_at = now;
		e->locked_until = st->rec_until;
	}
	e->unenrolled = unenrolled;
	e->next = st->bucket[h & (st->nbuckets - 1)];
	st->bucket[h & (st->nbuckets - 1)] = e;
	st->count++;
	if (unenrolled)
		st->n_unenrolled++;
	if (st->count > st->nbuckets)
		grow(st);
	*out = e;
	return 0;
}

static void times_clear(struct times *ts)
{
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
}

/* Drop times that fell out of the sliding window (now - window, now]. */
static void times_prune(struct times *ts, int64_t window, int64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < ts->n; i++)
		if (ts->t[i] > now - window)
			ts->t[n++] = ts->t[i];
	ts->n = n;
	if (n == 0)
		times_clear(ts);
}

/* Add now, keeping only the newest cap times: older ones cannot change a
 * decision, so memory stays bounded per user. 0 or PG_ERR_NOMEM. */
static int times_add(struct times *ts, size_t cap, int64_t now)
{
	if (ts->t == NULL && (ts->t = calloc(cap, sizeof(*ts->t))) == NULL)
		return PG_ERR_NOMEM;
	if (ts->n == cap) {
		memmove(ts->t, ts->t + 1, (ts->n - 1) * sizeof(*ts->t));
		ts->n--;
	}
	ts->t[ts->n++] = now;
	return 0;
}

/* Copy n times (the newest cap of them) into ts; 0 or PG_ERR_NOMEM. */
static int times_set(struct times *ts, size_t cap, const int64_t *t, size_t n)
{
	int64_t *copy = NULL;
	size_t skip = 0;

	/* The configured limit may have shrunk since the log was written. */
	if (n > cap) {
		skip = n - cap;
		n = cap;
	}
	if (n > 0) {
		if ((copy = calloc(cap, sizeof(*copy))) == NULL)
			return PG_ERR_NOMEM;
		memcpy(copy, t + skip, n * sizeof(*copy));
	}
	free(ts->t);
	ts->t = copy;
	ts->n = n;
	return 0;
}

int state_lock_until(const struct pg_state *st, const char *user, int64_t now,
                     int64_t *until)
{
	const struct entry *e = find(st, user, NULL);
	int64_t end = 0;

	if (e != NULL)
		end = e->locked_until;
	else if (recovery_active(st, now))
		end = st->rec_until;
	*until = now < end ? end : 0;
	return 0;
}

int state_claim_check(const struct pg_state *st, const char *user,
                      uint64_t step, int64_t now, int64_t *until)
{
	const struct entry *found = find(st, user, NULL);
	uint64_t last = 0;
	int64_t lock;

	state_lock_until(st, user, now, &lock);
	if (lock != 0) {
		*until = lock;
		return PG_ERR_LOCKED;
	}
	if (found != NULL)
		last = found->last_step;
	else if (recovery_active(st, now))
		last = st->rec_floor;
	return step <= last ? PG_ERR_REPLAY : 0;
}

int state_claim(struct pg_state *st, const char *user, uint64_t step,
                int64_t now, int64_t *until)
{
	struct entry *e;
	int rc;

	if ((rc = state_claim_check(st, user, step, now, until)) != 0)
		return rc;
	if ((rc = get_or_create(st, user, now, 0, &e)) != 0)
		return rc;
	e->last_step = step;
	e->claimed_at = now;
	return 0;
}

int state_push_until(const struct pg_state *st, const char *user, int64_t now,
                     int64_t *until)
{
	const struct entry *e = find(st, user, NULL);

	*until = e != NULL && now < e->push_until ? e->push_until : 0;
	return 0;
}

/* The bookkeeping of state_report(); e is the user's entry, or NULL for a
 * success of a user we hold nothing about. */
static int report(struct pg_state *st, struct entry *e, int success,
                  int64_t now, int *changed)
{
	int rc;

	if (e == NULL)
		return 0;
	if (success) {
		if (e->fail.n > 0) {
			times_clear(&e->fail);
			*changed = 1;
		}
		return 0;
	}
	times_prune(&e->fail, st->lim.failure_window, now);
	if ((rc = times_add(&e->fail, st->lim.max_failures, now)) != 0)
		return rc;
	/* Not extended while locked: otherwise anyone able to type a login
	 * name could keep a victim locked out for ever. */
	if (now >= e->locked_until && e->fail.n >= st->lim.max_failures)
		e->locked_until = now + st->lim.lockout;
	*changed = 1;
	return 0;
}

static void report_result(const struct pg_state *st, const char *user,
                          int64_t now, int changed,
                          struct pg_report_result *res)
{
	const struct entry *e = find(st, user, NULL);
	int64_t lock;

	state_lock_until(st, user, now, &lock);
	res->locked = lock != 0;
	res->until = lock;
	res->nfail = e != NULL ? (unsigned)e->fail.n : 0;
	res->changed = changed;
	state_push_until(st, user, now, &res->push_until);
	res->push_suspended_now = 0;
}

/* The entry a report needs: a failure creates one; a success for a user
 * we hold nothing about changes nothing and must not grow the table. */
static int report_entry(struct pg_state *st, const char *user, int success,
                        int unenrolled, int64_t now, struct entry **e)
{
	*e = find(st, user, NULL);
	if (*e == NULL && success)
		return 0;
	return get_or_create(st, user, now, unenrolled, e);
}

static int report_kind(struct pg_state *st, const char *user, int success,
                       int unenrolled, int64_t now,
                       struct pg_report_result *res)
{
	struct entry *e;
	int rc, changed = 0;

	if ((rc = report_entry(st, user, success, unenrolled, now, &e)) != 0 ||
	    (rc = report(st, e, success, now, &changed)) != 0)
		return rc;
	report_result(st, user, now, changed, res);
	return 0;
}

int state_report(struct pg_state *st, const char *user, int success,
                 int64_t now, struct pg_report_result *res)
{
	return report_kind(st, user, success, 0, now, res);
}

int state_report_unenrolled(struct pg_state *st, const char *user, int64_t now,
                            struct pg_report_result *res)
{
	return report_kind(st, user, 0, 1, now, res);
}

int state_report_push(struct pg_state *st, const char *user, int success,
                      int64_t now, struct pg_report_result *res)
{
	unsigned max = st->lim.push_max_unanswered;
	struct entry *e;
	int rc, changed = 0, suspended = 0;

	if ((rc = report_entry(st, user, success, 0, now, &e)) != 0)
		return rc;
	if (e != NULL && success && e->push.n > 0) {
		times_clear(&e->push);
		changed = 1;
	} else if (e != NULL && !success && max > 0) {
		times_prune(&e->push, st->lim.failure_window, now);
		if ((rc = times_add(&e->push, max, now)) != 0)
			return rc;
		/* Like a lockout, not extended while in force. */
		if (now >= e->push_until && e->push.n >= max) {
			e->push_until = now + st->lim.lockout;
			suspended = 1;
		}
		changed = 1;
	}
	if ((rc = report(st, e, success, now, &changed)) != 0)
		return rc;
	report_result(st, user, now, changed, res);
	res->push_suspended_now = suspended;
	return 0;
}

int state_unlock(struct pg_state *st, const char *user, int64_t now,
                 struct pg_unlock_result *res)
{
	struct entry *e = find(st, user, NULL);
	struct pg_unlock_result r = {0, 0, 0, 0, 0};
	int64_t lock;
	int rc;

	state_lock_until(st, user, now, &lock);
	r.was_locked = lock != 0;
	if (e == NULL && !recovery_active(st, now))
		goto done;
	/* Under recovery the entry is created with the floor and the lock,
	 * then the lock is lifted: the floor stays. */
	if (e == NULL && (rc = get_or_create(st, user, now, 0, &e)) != 0)
		return rc;
	r.changed = e->locked_until != 0 || e->fail.n != 0 ||
	            e->push_until != 0 || e->push.n != 0;
	/* What an admin is told was cleared: only what still counted. */
	times_prune(&e->fail, st->lim.failure_window, now);
	times_prune(&e->push, st->lim.failure_window, now);
	r.nfail = (unsigned)e->fail.n;
	r.npush = (unsigned)e->push.n;
	r.push_until = now < e->push_until ? e->push_until : 0;
	e->locked_until = 0;
	e->push_until = 0;
	times_clear(&e->fail);
	times_clear(&e->push);
done:
	*res = r;
	return 0;
}

static void to_rec(const struct entry *e, struct pg_user_rec *out)
{
	out->user = e->name;
	out->last_step = e->last_step;
	out->claimed_at = e->claimed_at;
	out->locked_until = e->locked_until;
	out->nfail = e->fail.n;
	out->fail = e->fail.t;
	out->push_until = e->push_until;
	out->npush = e->push.n;
	out->push = e->push.t;
	out->unenrolled = e->unenrolled;
}

int state_get(const struct pg_state *st, const char *user,
              struct pg_user_rec *out)
{
	const struct entry *e = find(st, user, NULL);

	if (e == NULL)
		return PG_ERR_NOTFOUND;
	to_rec(e, out);
	return 0;
}

int state_put(struct pg_state *st, const struct pg_user_rec *rec)
{
	struct times fail = {NULL, 0}, push = {NULL, 0};
	struct entry *e;
	int rc;

	/* Every field is set below, so the creation defaults do not matter. */
	if ((rc = times_set(&fail, st->lim.max_failures, rec->fail,
	                    rec->nfail)) != 0 ||
	    (rc = times_set(&push, st->lim.push_max_unanswered, rec->push,
	                    rec->npush)) != 0 ||
	    (rc = get_or_create(st, rec->user, 0, rec->unenrolled, &e)) != 0 ||
	    (rc = set_kind(st, e, rec->unenrolled)) != 0) {
		times_clear(&fail);
		times_clear(&push);
		return rc;
	}
	times_clear(&e->fail);
	times_clear(&e->push);
	e->fail = fail;
	e->push = push;
	e->last_step = rec->last_step;
	e->claimed_at = rec->claimed_at;
	e->locked_until = rec->locked_until;
	e->push_until = rec->push_until;
	return 0;
}

int state_foreach(const struct pg_state *st,
                  int (*fn)(const struct pg_user_rec *rec, void *arg),
                  void *arg)
{
	struct pg_user_rec rec;
	const struct entry *e;
	size_t i;
	int rc;

	for (i = 0; i < st->nbuckets; i++)
		for (e = st->bucket[i]; e != NULL; e = e->next) {
			to_rec(e, &rec);
			if ((rc = fn(&rec, arg)) != 0)
				return rc;
		}
	return 0;
}

/*
 * Why forgetting is safe: a code is accepted only for a step starting
 * within PG_STATE_MAX_SKEW seconds of the verifying clock, i.e. within
 * 300 s of the time it was claimed. A day after claimed_at every step <=
 * last_step is outside any window, so any step the module can still claim is
 * greater anyway and the entry adds no protection. Locks and counted failures
 * are never forgotten: only expired ones are.
 */
static int forgettable(const struct pg_state *st, struct entry *e, int64_t now)
{
	times_prune(&e->fail, st->lim.failure_window, now);
	times_prune(&e->push, st->lim.failure_window, now);
	return e->fail.n == 0 && e->push.n == 0 && now >= e->locked_until &&
	       now >= e->push_until &&
	       (e->last_step == 0 ||
	        e->claimed_at <= now - PG_STATE_FORGET_AFTER);
}

size_t state_sweep(struct pg_state *st, int64_t now)
{
	struct entry **pp, *e;
	size_t i, removed = 0;

	for (i = 0; i < st->nbuckets; i++) {
		pp = &st->bucket[i];
		while ((e = *pp) != NULL) {
			if (forgettable(st, e, now)) {
				*pp = e->next;
				if (e->unenrolled)
					st->n_unenrolled--;
				entry_free(e);
				removed++;
			} else {
				pp = &e->next;
			}
		}
	}
	st->count -= removed;
	if (st->recovering && !recovery_active(st, now))
		st->recovering = 0;
	return removed;
}

void state_set_recovery(struct pg_state *st, uint64_t floor, int64_t until)
{
	st->recovering = 1;
	st->rec_floor = floor;
	st->rec_until = until;
}

void state_begin_recovery(struct pg_state *st, int64_t now)
{
	uint64_t floor = step_at(now) + PG_STATE_MAX_SKEW;
	int64_t until = now + st->lim.lockout;
	struct entry *e;
	size_t i;

	/* An older recovery still in force may reach further: never lower
	 * its floor or shorten its lock. */
	if (recovery_active(st, now)) {
		if (st->rec_floor > floor)
			floor = st->rec_floor;
		if (st->rec_until > until)
			until = st->rec_until;
	}
	state_set_recovery(st, floor, until);
	/*
	 * Entries read from valid records keep their locks and failures, but
	 * the damaged part may have held a newer step for any of them, so the
	 * floor applies to everyone.
	 */
	for (i = 0; i < st->nbuckets; i++)
		for (e = st->bucket[i]; e != NULL; e = e->next)
			if (e->last_step < floor) {
				e->last_step = floor;
				e->claimed_at = now;
			}
}

int state_recovery(const struct pg_state *st, int64_t now, uint64_t *floor,
                   int64_t *until)
{
	if (!recovery_active(st, now))
		return 0;
	if (floor != NULL)
		*floor = st->rec_floor;
	if (until != NULL)
		*until = st->rec_until;
	return 1;
}

void state_counts(const struct pg_state *st, int64_t now, size_t *users,
                  size_t *locked)
{
	const struct entry *e;
	size_t i, n = 0;

	for (i = 0; i < st->nbuckets; i++)
		for (e = st->bucket[i]; e != NULL; e = e->next)
			if (now < e->locked_until)
				n++;
	*users = st->count;
	*locked = n;
}

size_t state_unenrolled(const struct pg_state *st)
{
	return st->n_unenrolled;
}
