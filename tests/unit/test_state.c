/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for daemon/login/state.c and daemon/login/statelog.c: lockout
 * math, step monotonicity, forgetting, persistence, torn and damaged logs. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/core/pending.h"
#include "daemon/login/state.h"
#include "daemon/login/statelog.h"
#include "err.h"
#include "log.h"
#include "testutil.h"

#define T0 1700000000 /* an arbitrary "now" */

static const struct pg_state_limits lim3 = {3, 300, 900, 2};
/* The state directory's owners besides root: whoever runs the tests. */
static uid_t owners[1];
static const size_t n_owners = 1;

/* Each test gets a fresh state (*ctx) and a fresh tu_tmpdir. */
static int setup(void **ctx)
{
	struct pg_state *st;

	assert_int_equal(state_new(&lim3, &st), 0);
	*ctx = st;
	owners[0] = geteuid();
	return tu_setup_tmpdir(ctx);
}

static int teardown(void **ctx)
{
	state_free(*ctx);
	return tu_teardown_tmpdir(ctx);
}

static void fail_at(struct pg_state *st, const char *user, int64_t t,
                    struct pg_report_result *res)
{
	assert_int_equal(state_report(st, user, 0, t, res), 0);
}

static int64_t lock_of(const struct pg_state *st, const char *user, int64_t t)
{
	int64_t until = -1;

	assert_int_equal(state_lock_until(st, user, t, &until), 0);
	return until;
}

static int64_t push_of(const struct pg_state *st, const char *user, int64_t t)
{
	int64_t until = -1;

	assert_int_equal(state_push_until(st, user, t, &until), 0);
	return until;
}

/* ------------------------------------------------------- push fatigue */

/* Defaults-like limits: push is suspended before the account locks. */
static const struct pg_state_limits lim_push = {5, 300, 900, 3};

static void test_push_fatigue_suspends(void **ctx)
{
	struct pg_report_result r;
	struct pg_state *st;
	int i;

	(void)ctx;
	assert_int_equal(state_new(&lim_push, &st), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(state_report_push(st, "nurse1", 0, T0 + i, &r),
		                 0);
		assert_false(r.push_suspended_now);
		assert_int_equal(r.push_until, 0);
	}
	assert_int_equal(push_of(st, "nurse1", T0 + 2), 0);
	assert_int_equal(state_report_push(st, "nurse1", 0, T0 + 2, &r), 0);
	assert_true(r.push_suspended_now);
	assert_int_equal(r.push_until, T0 + 2 + 900);
	assert_true(r.changed);
	/* Each push failure also counted towards the lockout. */
	assert_int_equal(r.nfail, 3);
	assert_false(r.locked);
	assert_int_equal(push_of(st, "nurse1", T0 + 3), T0 + 2 + 900);
	/* Other users are not affected. */
	assert_int_equal(push_of(st, "nurse2", T0 + 3), 0);
	/* Not extended while in force, and over after lockout seconds. */
	assert_int_equal(state_report_push(st, "nurse1", 0, T0 + 100, &r), 0);
	assert_false(r.push_suspended_now);
	assert_int_equal(r.push_until, T0 + 2 + 900);
	assert_int_equal(push_of(st, "nurse1", T0 + 2 + 900), 0);
	state_free(st);
}

static void test_push_fatigue_window_and_success(void **ctx)
{
	struct pg_report_result r;
	struct pg_state *st;

	(void)ctx;
	assert_int_equal(state_new(&lim_push, &st), 0);
	/* Spread over more than failure_window: never three at once. */
	assert_int_equal(state_report_push(st, "u", 0, T0, &r), 0);
	assert_int_equal(state_report_push(st, "u", 0, T0 + 200, &r), 0);
	assert_int_equal(state_report_push(st, "u", 0, T0 + 400, &r), 0);
	assert_int_equal(r.push_until, 0);
	/* An approved push clears the count ... */
	assert_int_equal(state_report_push(st, "u", 1, T0 + 402, &r), 0);
	assert_true(r.changed);
	assert_int_equal(r.nfail, 0);
	assert_int_equal(state_report_push(st, "u", 0, T0 + 403, &r), 0);
	assert_int_equal(state_report_push(st, "u", 0, T0 + 404, &r), 0);
	assert_int_equal(r.push_until, 0);
	/* ... a TOTP failure does not count towards push fatigue ... */
	assert_int_equal(state_report(st, "u", 0, T0 + 405, &r), 0);
	assert_int_equal(r.push_until, 0);
	/* ... but the third failed push within the window does. */
	assert_int_equal(state_report_push(st, "u", 0, T0 + 406, &r), 0);
	assert_true(r.push_suspended_now);
	state_free(st);
}

static void test_push_fatigue_unlock_and_off(void **ctx)
{
	static const struct pg_state_limits off = {5, 300, 900, 0};
	struct pg_report_result r;
	struct pg_state *st;
	struct pg_unlock_result un;
	int i;

	(void)ctx;
	assert_int_equal(state_new(&lim_push, &st), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(state_report_push(st, "u", 0, T0 + i, &r), 0);
	assert_int_not_equal(push_of(st, "u", T0 + 3), 0);
	assert_int_equal(state_unlock(st, "u", T0 + 3, &un), 0);
	assert_true(un.changed);
	assert_false(un.was_locked);
	assert_int_equal(un.push_until, T0 + 2 + 900);
	assert_int_equal(un.npush, 3);
	assert_int_equal(push_of(st, "u", T0 + 3), 0);
	state_free(st);

	/* 0 = never suspend; the failures still count for lockout. */
	assert_int_equal(state_new(&off, &st), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(state_report_push(st, "u", 0, T0 + i, &r), 0);
	assert_int_equal(r.push_until, 0);
	assert_true(r.locked);
	state_free(st);
}

/* ------------------------------------------------------------ lockout */

static void test_lockout_after_max_failures(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;

	fail_at(st, "nurse1", T0, &r);
	assert_false(r.locked);
	assert_int_equal(r.nfail, 1);
	assert_true(r.changed);
	fail_at(st, "nurse1", T0 + 10, &r);
	assert_false(r.locked);
	assert_int_equal(r.nfail, 2);
	fail_at(st, "nurse1", T0 + 20, &r);
	assert_true(r.locked);
	assert_int_equal(r.until, T0 + 20 + 900);
	assert_int_equal(r.nfail, 3);
	assert_int_equal(lock_of(st, "nurse1", T0 + 500), T0 + 920);
	/* Other users are not affected. */
	assert_int_equal(lock_of(st, "nurse2", T0 + 500), 0);
}

static void test_failures_outside_window(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;

	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0 + 100, &r);
	/* The window is (now - 300, now]: the first failure is exactly 300 s
	 * old and no longer counts. */
	fail_at(st, "nurse1", T0 + 300, &r);
	assert_false(r.locked);
	assert_int_equal(r.nfail, 2);
	fail_at(st, "nurse1", T0 + 399, &r);
	assert_true(r.locked);
	assert_int_equal(r.nfail, 3);
}

static void test_success_clears(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;
	struct pg_user_rec rec;

	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0 + 1, &r);
	assert_int_equal(state_report(st, "nurse1", 1, T0 + 2, &r), 0);
	assert_true(r.changed);
	assert_int_equal(r.nfail, 0);
	assert_false(r.locked);
	/* Two more failures do not lock: the count started again. */
	fail_at(st, "nurse1", T0 + 3, &r);
	fail_at(st, "nurse1", T0 + 4, &r);
	assert_false(r.locked);
	/* A success with nothing to clear changes nothing, and a success
	 * for a stranger does not create an entry. */
	assert_int_equal(state_report(st, "nurse1", 1, T0 + 5, &r), 0);
	assert_int_equal(state_report(st, "nurse1", 1, T0 + 6, &r), 0);
	assert_false(r.changed);
	assert_int_equal(state_report(st, "stranger", 1, T0, &r), 0);
	assert_false(r.changed);
	assert_int_equal(state_get(st, "stranger", &rec), PG_ERR_NOTFOUND);
}

static void test_success_keeps_lock(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;

	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0, &r);
	assert_true(r.locked);
	assert_int_equal(state_report(st, "nurse1", 1, T0 + 1, &r), 0);
	assert_true(r.locked);
	assert_int_equal(r.until, T0 + 900);
}

static void test_lock_expiry_and_no_extension(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;
	struct pg_user_rec rec;
	int i;

	for (i = 0; i < 3; i++)
		fail_at(st, "nurse1", T0, &r);
	/* Failures while locked count (bounded) but do not move the end. */
	for (i = 1; i <= 50; i++)
		fail_at(st, "nurse1", T0 + i, &r);
	assert_int_equal(r.until, T0 + 900);
	assert_int_equal(state_get(st, "nurse1", &rec), 0);
	assert_int_equal(rec.nfail, 3);
	assert_int_equal(rec.fail[2], T0 + 50);
	assert_int_equal(lock_of(st, "nurse1", T0 + 899), T0 + 900);
	assert_int_equal(lock_of(st, "nurse1", T0 + 900), 0);
	/* After expiry, the old failures are out of the window. */
	fail_at(st, "nurse1", T0 + 901, &r);
	assert_false(r.locked);
	assert_int_equal(r.nfail, 1);
}

/* --------------------------------------------------------------- claim */

static void test_claim_monotonic(void **ctx)
{
	struct pg_state *st = *ctx;
	int64_t until = 0;

	assert_int_equal(state_claim(st, "nurse1", 0, T0, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_claim(st, "nurse1", 100, T0, &until), 0);
	assert_int_equal(state_claim(st, "nurse1", 100, T0, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_claim(st, "nurse1", 99, T0, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_claim(st, "nurse1", 101, T0, &until), 0);
	assert_int_equal(state_claim(st, "nurse1", UINT64_MAX, T0, &until), 0);
	assert_int_equal(state_claim(st, "nurse1", UINT64_MAX, T0, &until),
	                 PG_ERR_REPLAY);
	/* Steps are per user. */
	assert_int_equal(state_claim(st, "nurse2", 100, T0, &until), 0);
}

static void test_claim_locked(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;
	struct pg_user_rec rec;
	int64_t until = 0;

	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0, &r);
	assert_int_equal(state_claim(st, "nurse1", 100, T0 + 1, &until),
	                 PG_ERR_LOCKED);
	assert_int_equal(until, T0 + 900);
	/* A refused claim does not consume the step. */
	assert_int_equal(state_get(st, "nurse1", &rec), 0);
	assert_int_equal(rec.last_step, 0);
	assert_int_equal(state_claim(st, "nurse1", 100, T0 + 900, &until), 0);
}

static void test_unlock(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;
	struct pg_user_rec rec;
	struct pg_unlock_result un;
	int64_t until = 0;

	assert_int_equal(state_claim(st, "nurse1", 500, T0, &until), 0);
	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0, &r);
	fail_at(st, "nurse1", T0, &r);
	assert_int_equal(state_unlock(st, "nurse1", T0 + 1, &un), 0);
	assert_true(un.was_locked);
	assert_true(un.changed);
	assert_int_equal(un.nfail, 3);
	assert_int_equal(un.push_until, 0);
	assert_int_equal(lock_of(st, "nurse1", T0 + 1), 0);
	assert_int_equal(state_get(st, "nurse1", &rec), 0);
	assert_int_equal(rec.nfail, 0);
	/* The last step is kept: unlocking must not re-open a used code. */
	assert_int_equal(state_claim(st, "nurse1", 500, T0 + 2, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_unlock(st, "nobody-here", T0, &un), 0);
	assert_false(un.was_locked);
	assert_false(un.changed);
	assert_int_equal(un.nfail, 0);
	assert_int_equal(state_get(st, "nobody-here", &rec), PG_ERR_NOTFOUND);
}

/* ---------------------------------------------------- memory bounds */

static void test_sweep(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;
	struct pg_user_rec rec;
	int64_t until;
	size_t users, locked;

	assert_int_equal(state_claim(st, "old", 10, T0, &until), 0);
	assert_int_equal(state_claim(st, "recent", 10,
	                             T0 + PG_STATE_FORGET_AFTER - 1, &until),
	                 0);
	fail_at(st, "failing", T0 + PG_STATE_FORGET_AFTER - 1, &r);
	fail_at(st, "locked", T0 + PG_STATE_FORGET_AFTER - 1, &r);
	fail_at(st, "locked", T0 + PG_STATE_FORGET_AFTER - 1, &r);
	fail_at(st, "locked", T0 + PG_STATE_FORGET_AFTER - 1, &r);
	assert_int_equal(state_sweep(st, T0 + PG_STATE_FORGET_AFTER), 1);
	assert_int_equal(state_get(st, "old", &rec), PG_ERR_NOTFOUND);
	assert_int_equal(state_get(st, "recent", &rec), 0);
	assert_int_equal(state_get(st, "failing", &rec), 0);
	state_counts(st, T0 + PG_STATE_FORGET_AFTER, &users, &locked);
	assert_int_equal(users, 3);
	assert_int_equal(locked, 1);
	/* Once the failure left the window and the lock expired, only the
	 * entry with a recent step stays. */
	assert_int_equal(state_sweep(st, T0 + PG_STATE_FORGET_AFTER + 900), 2);
	assert_int_equal(state_get(st, "recent", &rec), 0);
}

static void test_user_cap(void **ctx)
{
	struct pg_state *st = *ctx;
	char name[32];
	int64_t until;
	size_t users, locked;
	int i;

	for (i = 0; i < PG_STATE_MAX_USERS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(state_claim(st, name, 1, T0, &until), 0);
	}
	assert_int_equal(state_claim(st, "onemore", 1, T0, &until),
	                 PG_ERR_BUSY);
	/* Existing users still work, and every one is still findable
	 * after the table grew many times. */
	assert_int_equal(state_claim(st, "u7", 2, T0, &until), 0);
	for (i = 0; i < PG_STATE_MAX_USERS; i += 997) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(state_claim(st, name, 1, T0, &until),
		                 PG_ERR_REPLAY);
	}
	state_counts(st, T0, &users, &locked);
	assert_int_equal(users, PG_STATE_MAX_USERS);
	assert_int_equal(state_sweep(st, T0 + PG_STATE_FORGET_AFTER),
	                 PG_STATE_MAX_USERS);
	assert_int_equal(state_claim(st, "onemore", 1, T0, &until), 0);
}

/* Failures of names without a token (REPORT enrolled=no) have a bound of
 * their own, and do not use up the enrolled users' one (issue 11). */
static void test_unenrolled_cap(void **ctx)
{
	struct pg_state *st = *ctx;
	struct pg_report_result r;
	struct pg_user_rec rec;
	char name[32];
	int64_t until;
	size_t users, locked;
	int i;

	for (i = 0; i < PG_STATE_MAX_UNENROLLED; i++) {
		snprintf(name, sizeof(name), "guess%d", i);
		assert_int_equal(state_report_unenrolled(st, name, T0, &r), 0);
	}
	assert_int_equal(state_unenrolled(st), PG_STATE_MAX_UNENROLLED);
	assert_int_equal(state_report_unenrolled(st, "onemore", T0, &r),
	                 PG_ERR_BUSY);
	/* A name already held still counts its failures, up to a lock. */
	assert_int_equal(state_report_unenrolled(st, "guess1", T0 + 1, &r), 0);
	assert_int_equal(state_report_unenrolled(st, "guess1", T0 + 2, &r), 0);
	assert_true(r.locked);
	assert_int_equal(state_get(st, "guess1", &rec), 0);
	assert_true(rec.unenrolled);

	/* Enrolled users have all of their own room. */
	for (i = 0; i < PG_STATE_MAX_USERS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(state_claim(st, name, 1, T0, &until), 0);
	}
	assert_int_equal(state_claim(st, "onemore", 1, T0, &until),
	                 PG_ERR_BUSY);
	state_counts(st, T0, &users, &locked);
	assert_int_equal(users, PG_STATE_MAX_USERS + PG_STATE_MAX_UNENROLLED);
	/* An unenrolled name does not take an enrolled user's entry over. */
	assert_int_equal(state_report_unenrolled(st, "u3", T0, &r), 0);
	assert_int_equal(state_get(st, "u3", &rec), 0);
	assert_false(rec.unenrolled);
	/* An unenrolled entry becomes ordinary on an ordinary change: not
	 * while the enrolled bound is reached, and then freeing its slot. */
	assert_int_equal(state_claim(st, "guess2", 1, T0, &until), PG_ERR_BUSY);
	assert_int_equal(state_sweep(st, T0 + PG_STATE_FORGET_AFTER),
	                 PG_STATE_MAX_USERS + PG_STATE_MAX_UNENROLLED);
	assert_int_equal(state_unenrolled(st), 0);
	assert_int_equal(state_report_unenrolled(st, "guess2", T0, &r), 0);
	assert_int_equal(state_unenrolled(st), 1);
	assert_int_equal(state_claim(st, "guess2", 1, T0, &until), 0);
	assert_int_equal(state_unenrolled(st), 0);
	assert_int_equal(state_get(st, "guess2", &rec), 0);
	assert_false(rec.unenrolled);
	assert_int_equal(rec.nfail, 1);
}

/* --------------------------------------------------------- persistence */

static int file_exists(const char *name)
{
	struct stat sb;

	return stat(tu_path(name), &sb) == 0;
}

/* A state loaded from tu_tmpdir at now; *recovered as statelog_load says. */
static struct pg_state *load(int64_t now, int *recovered,
                             struct pg_statelog **log_out)
{
	struct pg_state *st;
	struct pg_statelog *log;
	char err[256];

	assert_int_equal(state_new(&lim3, &st), 0);
	assert_int_equal(
	    statelog_new(tu_tmpdir, owners, n_owners, &log, err, sizeof(err)),
	    0);
	assert_int_equal(statelog_load(log, st, now, recovered), 0);
	if (log_out != NULL)
		*log_out = log;
	else
		statelog_free(log);
	return st;
}

struct cmp_ctx {
	const struct pg_state *other;
	size_t n;
};

static int cmp_one(const struct pg_user_rec *a, void *arg)
{
	struct cmp_ctx *c = arg;
	struct pg_user_rec b;
	size_t i;

	assert_int_equal(state_get(c->other, a->user, &b), 0);
	assert_int_equal(a->last_step, b.last_step);
	assert_int_equal(a->claimed_at, b.claimed_at);
	assert_int_equal(a->locked_until, b.locked_until);
	assert_int_equal(a->nfail, b.nfail);
	for (i = 0; i < a->nfail; i++)
		assert_int_equal(a->fail[i], b.fail[i]);
	assert_int_equal(a->push_until, b.push_until);
	assert_int_equal(a->npush, b.npush);
	for (i = 0; i < a->npush; i++)
		assert_int_equal(a->push[i], b.push[i]);
	assert_int_equal(a->unenrolled, b.unenrolled);
	c->n++;
	return 0;
}

static void assert_same_state(const struct pg_state *a,
                              const struct pg_state *b)
{
	struct cmp_ctx c = {b, 0};
	size_t na, nb, la, lb;

	state_counts(a, T0, &na, &la);
	state_counts(b, T0, &nb, &lb);
	assert_int_equal(na, nb);
	assert_int_equal(state_foreach(a, cmp_one, &c), 0);
	assert_int_equal(c.n, na);
}

/* A log with a few users, written through the real append path. */
static struct pg_state *populate(void)
{
	struct pg_statelog *log;
	struct pg_report_result r;
	struct pg_state *st;
	int64_t until;
	struct pg_unlock_result un;
	int rec, i;

	st = load(T0, &rec, &log);
	assert_false(rec);
	assert_int_equal(state_claim(st, "alice", 1000, T0, &until), 0);
	assert_int_equal(statelog_record(log, st, "alice", T0), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(state_report(st, "bob", 0, T0 + i, &r), 0);
		assert_int_equal(statelog_record(log, st, "bob", T0 + i), 0);
	}
	assert_int_equal(state_claim(st, "carol", 7, T0, &until), 0);
	assert_int_equal(statelog_record(log, st, "carol", T0), 0);
	assert_int_equal(state_claim(st, "carol", 9, T0 + 5, &until), 0);
	assert_int_equal(statelog_record(log, st, "carol", T0 + 5), 0);
	assert_int_equal(state_claim(st, "dave", 5, T0, &until), 0);
	assert_int_equal(state_report(st, "dave", 0, T0, &r), 0);
	assert_int_equal(statelog_record(log, st, "dave", T0), 0);
	assert_int_equal(state_unlock(st, "dave", T0 + 1, &un), 0);
	assert_int_equal(statelog_record(log, st, "dave", T0 + 1), 0);
	/* erin: push suspended (two failed pushes); fred: one failed push. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(state_report_push(st, "erin", 0, T0 + i, &r),
		                 0);
		assert_int_equal(statelog_record(log, st, "erin", T0 + i), 0);
	}
	assert_int_equal(state_report_push(st, "fred", 0, T0, &r), 0);
	assert_int_equal(statelog_record(log, st, "fred", T0), 0);
	/* ghost: a name without a token, failed twice. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(
		    state_report_unenrolled(st, "ghost", T0 + i, &r), 0);
		assert_int_equal(statelog_record(log, st, "ghost", T0 + i), 0);
	}
	statelog_free(log);
	return st;
}

static void test_round_trip(void **ctx)
{
	struct pg_state *written = populate(), *read;
	struct pg_user_rec rec;
	int recovered;
	int64_t until;

	read = load(T0 + 10, &recovered, NULL);
	assert_false(recovered);
	assert_same_state(written, read);
	assert_same_state(read, written);
	assert_int_equal(state_get(read, "bob", &rec), 0);
	assert_int_equal(rec.locked_until, T0 + 2 + 900);
	assert_int_equal(rec.nfail, 3);
	assert_int_equal(state_get(read, "erin", &rec), 0);
	assert_int_equal(rec.push_until, T0 + 1 + 900);
	assert_int_equal(rec.npush, 2);
	/* The used step survives the restart, and so does the kind of
	 * entry of a name without a token. */
	assert_int_equal(state_claim(read, "alice", 1000, T0 + 10, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_get(read, "ghost", &rec), 0);
	assert_true(rec.unenrolled);
	assert_int_equal(rec.nfail, 2);
	assert_int_equal(state_unenrolled(read), 1);
	state_free(written);
	state_free(read);
}

static void test_compaction_equals_replay(void **ctx)
{
	struct pg_state *written = populate(), *replayed, *compacted;
	size_t before, after;
	char *text;
	int rec;

	free(tu_read_file(tu_path(PG_STATELOG_FILE), &before));
	/* load() replays the appended log, then compacts it ... */
	replayed = load(T0 + 10, &rec, NULL);
	text = tu_read_file(tu_path(PG_STATELOG_FILE), &after);
	assert_true(after < before);
	/* ... to one header and one line per user. */
	assert_non_null(strstr(text, "\nU carol 9 "));
	assert_non_null(
	    strstr(text, "\nU ghost 0 0 0 2 1700000000 1700000001 N "));
	assert_null(strstr(text, "\nU carol 7 "));
	free(text);
	/* ... and the compacted log replays to the same state. */
	compacted = load(T0 + 10, &rec, NULL);
	assert_false(rec);
	assert_same_state(replayed, compacted);
	assert_same_state(compacted, replayed);
	assert_same_state(written, compacted);
	state_free(written);
	state_free(replayed);
	state_free(compacted);
}

/* ------------------------------------- growth compaction on the writer */

/* A log with its writer running (statelog_start), as the daemon has it. */
struct writer_test {
	struct pg_statelog *log;
	struct pg_state *st;
	size_t queued, ok, failed; /* changes, and how they were answered */
	uint64_t step;             /* the last claimed, for the next one */
	int late;                  /* late<n> users made so far */
	size_t size;               /* state.log's, at the last look */
};

static void no_answer(void *arg, uint64_t ticket, int rc,
                      const struct pg_msg *resp)
{
	(void)arg;
	(void)ticket;
	(void)rc;
	(void)resp;
	fail_msg("a change queued without an answer was answered");
}

static void count_answer(void *arg, int rc)
{
	struct writer_test *w = arg;

	if (rc == 0)
		w->ok++;
	else
		w->failed++;
}

static size_t log_size(void)
{
	struct stat sb;

	assert_int_equal(stat(tu_path(PG_STATELOG_FILE), &sb), 0);
	return (size_t)sb.st_size;
}

static void writer_start(struct writer_test *w)
{
	struct pg_completion done = {no_answer, NULL};
	int rec;

	memset(w, 0, sizeof(*w));
	w->st = load(T0, &rec, &w->log);
	assert_int_equal(statelog_start(w->log, &done), 0);
	w->size = log_size();
}

/* Claim the next step for user and queue the change. */
static void claim_queued(struct writer_test *w, const char *user)
{
	struct statelog_after after = {count_answer, w};
	int64_t until;

	assert_int_equal(state_claim(w->st, user, ++w->step, T0, &until), 0);
	assert_int_equal(statelog_submit_then(w->log, w->st, user, T0, &after),
	                 PG_STATELOG_QUEUED);
	w->queued++;
}

/* Drain the writer as the loop does until every change is answered. */
static void drain_all(struct writer_test *w)
{
	struct pollfd p = {statelog_fd(w->log), POLLIN, 0};
	int i;

	for (i = 0; w->ok + w->failed < w->queued; i++) {
		assert_true(i < 2000); /* 20 s */
		if (poll(&p, 1, 10) > 0)
			statelog_drain(w->log, w->st, T0);
	}
}

/*
 * Queue changes of 50 users chunk by chunk, each drained, then one change
 * of a new user late<n> (queued after any compaction a drain of the chunk
 * started, answered after it is back), until done(w).
 */
static void grow_until(struct writer_test *w,
                       int (*done)(struct writer_test *w))
{
	char user[32];
	int i;

	while (!done(w)) {
		assert_true(w->queued < 200000);
		w->size = log_size();
		for (i = 0; i < 1000; i++) {
			snprintf(user, sizeof(user), "bulk%d", i % 50);
			claim_queued(w, user);
		}
		drain_all(w);
		snprintf(user, sizeof(user), "late%d", ++w->late);
		claim_queued(w, user);
		drain_all(w);
	}
}

/* state.log shrank: a compaction replaced it. */
static int rewritten(struct writer_test *w)
{
	return log_size() < w->size;
}

static int rewrite_failed(struct writer_test *w)
{
	return statelog_failure(w->log) != NULL;
}

/* Stop the writer, and check that state.log replays to memory. */
static void writer_finish(struct writer_test *w)
{
	struct pg_state *replayed;
	int rec;

	statelog_stop(w->log, w->st, T0);
	assert_int_equal(w->failed, 0);
	assert_int_equal(w->ok, w->queued);
	statelog_free(w->log);
	replayed = load(T0 + 10, &rec, NULL);
	assert_false(rec);
	assert_same_state(w->st, replayed);
	assert_same_state(replayed, w->st);
	state_free(replayed);
	state_free(w->st);
}

/* The records queued before the compaction (in its snapshot) and after it
 * (appended to the new file) are all in the log it leaves. */
static void test_compaction_on_writer(void **ctx)
{
	struct writer_test w;
	char want[32], *text;
	size_t len;

	writer_start(&w);
	grow_until(&w, rewritten);
	/* More than 1 MiB was appended; the log now holds the snapshot and
	 * what came after it. */
	text = tu_read_file(tu_path(PG_STATELOG_FILE), &len);
	assert_true(len < 8192);
	assert_true(w.queued > 20000);
	assert_null(strstr(text, "\nU bulk0 1 "));
	snprintf(want, sizeof(want), "\nU late%d ", w.late);
	assert_non_null(strstr(text, want));
	free(text);
	/* Later changes go on to the new file. */
	claim_queued(&w, "late0");
	drain_all(&w);
	assert_true(log_size() > len);
	writer_finish(&w);
}

/* A compaction the writer cannot write leaves the old log in use (later
 * changes are appended to it and answered OK) and fails as it does on the
 * loop; a retry does it on the writer once the pause is over. */
static void test_compaction_on_writer_fails(void **ctx)
{
	struct writer_test w;
	size_t before;

	writer_start(&w);
	/* unlinkat() of a directory fails: EISDIR. */
	assert_int_equal(mkdir(tu_path(PG_STATELOG_FILE ".tmp"), 0700), 0);
	grow_until(&w, rewrite_failed);
	/* Not again before the pause (1 s) is over. */
	assert_int_equal(statelog_retry(w.log, w.st, T0), PG_ERR_IO);
	assert_int_not_equal(statelog_retry_at(w.log), 0);
	assert_non_null(
	    strstr(statelog_failure(w.log), "unlink state.log.tmp: "));
	before = log_size();
	claim_queued(&w, "after-failure");
	drain_all(&w);
	assert_true(log_size() > before);
	assert_int_equal(rmdir(tu_path(PG_STATELOG_FILE ".tmp")), 0);
	usleep(1100 * 1000);
	assert_int_equal(statelog_retry(w.log, w.st, T0), PG_ERR_BUSY);
	assert_int_equal(statelog_retry_at(w.log), 0);
	/* Answered after the compaction, which comes first in the queue. */
	claim_queued(&w, "after-retry");
	drain_all(&w);
	assert_null(statelog_failure(w.log));
	assert_true(log_size() < 8192);
	writer_finish(&w);
}

static void test_torn_last_line(void **ctx)
{
	struct pg_state *written = populate(), *read;
	char *text, *torn;
	size_t len;
	int recovered;

	text = tu_read_file(tu_path(PG_STATELOG_FILE), &len);
	/* A crash in the middle of appending the next record. */
	assert_non_null(torn = calloc(1, len + 32));
	memcpy(torn, text, len);
	memcpy(torn + len, "U alice 2000 17000", 18);
	tu_write_file(tu_path(PG_STATELOG_FILE), torn, 0600);
	read = load(T0 + 10, &recovered, NULL);
	assert_false(recovered);
	assert_same_state(written, read);
	assert_false(file_exists("state.log.corrupt-1700000010"));
	free(text);
	free(torn);
	state_free(written);
	state_free(read);
}

static void test_torn_header_only(void **ctx)
{
	struct pg_state *read;
	size_t users, locked;
	int recovered;

	tu_write_file(tu_path(PG_STATELOG_FILE), "phiguard-st", 0600);
	read = load(T0, &recovered, NULL);
	assert_false(recovered);
	state_counts(read, T0, &users, &locked);
	assert_int_equal(users, 0);
	state_free(read);
}

/* Flip one byte inside the line that starts with prefix. */
static void damage_line(const char *prefix)
{
	size_t len;
	char *text = tu_read_file(tu_path(PG_STATELOG_FILE), &len), *p;

	assert_non_null(p = strstr(text, prefix));
	p[2] ^= 0x01;
	tu_write_file(tu_path(PG_STATELOG_FILE), text, 0600);
	free(text);
}

static void test_damaged_middle_line(void **ctx)
{
	struct pg_state *written = populate(), *read, *again;
	const int64_t now = T0 + 60;
	/* Steps are start times in seconds; the floor reaches the skew. */
	const uint64_t floor = (uint64_t)now + PG_STATE_MAX_SKEW;
	struct pg_user_rec rec;
	struct pg_unlock_result un;
	int recovered;
	int64_t until;
	char aside[64];

	damage_line("U alice ");
	read = load(now, &recovered, NULL);
	assert_true(recovered);
	snprintf(aside, sizeof(aside), "state.log.corrupt-%lld",
	         (long long)now);
	assert_true(file_exists(aside));
	assert_true(state_recovery(read, now, NULL, NULL));

	/* bob had a valid record: still locked, failures kept, and his step
	 * raised to the floor like everyone's. */
	assert_int_equal(state_get(read, "bob", &rec), 0);
	assert_int_equal(rec.locked_until, T0 + 2 + 900);
	assert_int_equal(rec.nfail, 3);
	assert_int_equal(rec.last_step, floor);
	/* carol had a valid record: not locked, step floor applies. */
	assert_int_equal(lock_of(read, "carol", now), 0);
	assert_int_equal(state_claim(read, "carol", floor, now, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_claim(read, "carol", floor + 1, now, &until), 0);
	/* alice's only record was damaged: locked until now + lockout, and
	 * no pre-crash code can come back. */
	assert_int_equal(lock_of(read, "alice", now), now + 900);
	assert_int_equal(state_claim(read, "alice", floor + 1, now, &until),
	                 PG_ERR_LOCKED);
	assert_int_equal(state_unlock(read, "alice", now, &un), 0);
	assert_true(un.was_locked);
	assert_true(un.changed);
	assert_int_equal(state_claim(read, "alice", floor, now, &until),
	                 PG_ERR_REPLAY);
	assert_int_equal(state_claim(read, "alice", floor + 1, now, &until), 0);
	/* Someone never seen is treated like alice. */
	assert_int_equal(lock_of(read, "zoe", now), now + 900);

	/* The recovery itself is durable: a clean restart keeps it. */
	again = load(now + 1, &recovered, NULL);
	assert_false(recovered);
	assert_true(state_recovery(again, now + 1, NULL, NULL));
	assert_int_equal(lock_of(again, "zoe", now + 1), now + 900);
	/* And it ends once both the lock and the floor's window passed. */
	assert_int_equal(lock_of(again, "zoe", now + 900), 0);
	/* Here the lock (now + 900) outlasts the floor's reach (now + 600). */
	assert_true((int64_t)floor + PG_STATE_MAX_SKEW < now + 900);
	assert_true(state_recovery(again, now + 899, NULL, NULL));
	assert_false(state_recovery(again, now + 900, NULL, NULL));
	state_free(written);
	state_free(read);
	state_free(again);
}

static void test_damaged_last_complete_line(void **ctx)
{
	struct pg_state *written = populate(), *read;
	int recovered;

	/* A bad checksum on a line that does end in "\n" is damage, not a
	 * torn write. */
	damage_line("U dave 5 1700000000 0 0 ");
	read = load(T0 + 10, &recovered, NULL);
	assert_true(recovered);
	state_free(written);
	state_free(read);
}

static void test_garbage_file(void **ctx)
{
	struct pg_state *read;
	int recovered;

	tu_write_file(tu_path(PG_STATELOG_FILE), "hello\nworld\n", 0600);
	read = load(T0, &recovered, NULL);
	assert_true(recovered);
	assert_int_equal(lock_of(read, "anyone", T0), T0 + 900);
	state_free(read);
}

static void test_known_checksum(void **ctx)
{
	/* CRC-32 values from an independent implementation (zlib). */
	static const char text[] = "phiguard-state 1 d4e851d5\n"
	                           "U nurse1 100 1795901525 0 0 55082f0b\n";
	struct pg_state *read;
	struct pg_user_rec rec;
	int recovered;

	tu_write_file(tu_path(PG_STATELOG_FILE), text, 0600);
	read = load(1795901525, &recovered, NULL);
	assert_false(recovered);
	assert_int_equal(state_get(read, "nurse1", &rec), 0);
	assert_int_equal(rec.last_step, 100);
	assert_int_equal(rec.npush, 0);
	state_free(read);
}

/* The push part of a U record, checksummed by zlib; a short or unknown
 * part is damage even with a right checksum. */
static void test_push_part(void **ctx)
{
	static const char good[] =
	    "phiguard-state 1 d4e851d5\n"
	    "U nurse1 100 1795901525 0 0 P 1795902000 2 1795901400 1795901500 "
	    "7c737c80\n";
	static const char *const bad[] = {
	    "U nurse1 100 1795901525 0 0 P 1795902000 2 1795901400 7d142a5d\n",
	    "U nurse1 100 1795901525 0 0 Q 1795902000 0 2e413a46\n"};
	char text[256];
	struct pg_state *read;
	struct pg_user_rec rec;
	int recovered;
	size_t i;

	tu_write_file(tu_path(PG_STATELOG_FILE), good, 0600);
	read = load(1795901525, &recovered, NULL);
	assert_false(recovered);
	assert_int_equal(state_get(read, "nurse1", &rec), 0);
	assert_int_equal(rec.push_until, 1795902000);
	assert_int_equal(rec.npush, 2);
	assert_int_equal(rec.push[1], 1795901500);
	state_free(read);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "phiguard-state 1 d4e851d5\n%s",
		         bad[i]);
		tu_write_file(tu_path(PG_STATELOG_FILE), text, 0600);
		read = load(1795901525, &recovered, NULL);
		assert_true(recovered);
		state_free(read);
	}
}

static void test_fewer_max_failures(void **ctx)
{
	static const struct pg_state_limits lim2 = {2, 300, 900, 1};
	struct pg_state *written = populate(), *read;
	struct pg_statelog *log;
	struct pg_user_rec rec;
	char err[256];
	int recovered;

	assert_int_equal(state_new(&lim2, &read), 0);
	assert_int_equal(
	    statelog_new(tu_tmpdir, owners, n_owners, &log, err, sizeof(err)),
	    0);
	assert_int_equal(statelog_load(log, read, T0 + 10, &recovered), 0);
	/* bob had 3 failures; the newest 2 are kept. */
	assert_int_equal(state_get(read, "bob", &rec), 0);
	assert_int_equal(rec.nfail, 2);
	assert_int_equal(rec.fail[0], T0 + 1);
	assert_int_equal(rec.fail[1], T0 + 2);
	statelog_free(log);
	state_free(written);
	state_free(read);
}

static void test_check_dir(void **ctx)
{
	char err[256], path[128];

	assert_int_equal(
	    statelog_check_dir(tu_tmpdir, owners, n_owners, err, sizeof(err)),
	    0);
	assert_int_equal(chmod(tu_tmpdir, 0770), 0);
	assert_int_equal(
	    statelog_check_dir(tu_tmpdir, owners, n_owners, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_non_null(strstr(err, "writable"));
	assert_int_equal(chmod(tu_tmpdir, 0700), 0);
	snprintf(path, sizeof(path), "%s/missing", tu_tmpdir);
	assert_int_equal(
	    statelog_check_dir(path, owners, n_owners, err, sizeof(err)),
	    PG_ERR_CONFIG);
	tu_write_file(tu_path("file"), "x", 0600);
	snprintf(path, sizeof(path), "%s/file", tu_tmpdir);
	assert_int_equal(
	    statelog_check_dir(path, owners, n_owners, err, sizeof(err)),
	    PG_ERR_CONFIG);
	/* Reached through a symbolic link (issue 11). */
	snprintf(path, sizeof(path), "%s/link", tu_tmpdir);
	assert_int_equal(symlink(tu_tmpdir, path), 0);
	assert_int_equal(
	    statelog_check_dir(path, owners, n_owners, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_non_null(strstr(err, "symbolic link"));
	/* Owned by someone who is neither root nor the daemon's user. */
	if (geteuid() == 0) {
		assert_int_equal(chown(tu_tmpdir, 65534, 0), 0);
		assert_int_equal(statelog_check_dir(tu_tmpdir, owners, n_owners,
		                                    err, sizeof(err)),
		                 PG_ERR_CONFIG);
		assert_non_null(strstr(err, "owned by uid 65534"));
		owners[0] = 65534;
		assert_int_equal(statelog_check_dir(tu_tmpdir, owners, n_owners,
		                                    err, sizeof(err)),
		                 0);
		assert_int_equal(chown(tu_tmpdir, 0, 0), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_lockout_after_max_failures),
	    T(test_failures_outside_window),
	    T(test_success_clears),
	    T(test_success_keeps_lock),
	    T(test_lock_expiry_and_no_extension),
	    T(test_claim_monotonic),
	    T(test_claim_locked),
	    T(test_unlock),
	    T(test_sweep),
	    T(test_unenrolled_cap),
	    T(test_user_cap),
	    T(test_push_fatigue_suspends),
	    T(test_push_fatigue_window_and_success),
	    T(test_push_fatigue_unlock_and_off),
	    T(test_round_trip),
	    T(test_compaction_equals_replay),
	    T(test_compaction_on_writer),
	    T(test_compaction_on_writer_fails),
	    T(test_torn_last_line),
	    T(test_torn_header_only),
	    T(test_damaged_middle_line),
	    T(test_damaged_last_complete_line),
	    T(test_garbage_file),
	    T(test_known_checksum),
	    T(test_push_part),
	    T(test_fewer_max_failures),
	    T(test_check_dir),
#undef T
	};

	/* Damage is reported at error level; keep it visible but quiet. */
	log_init("test_state", 1, PG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
