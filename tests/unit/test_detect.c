/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for daemon/detect/detect.c and hours.c: spraying per source,
 * unusual hours, alert records, the hours file. */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/detect/detect.h"
#include "err.h"
#include "log.h"
#include "testutil.h"

#define T0 1700000000 /* an arbitrary "now" */

static const struct detect_limits deflim = {5, 600, 0, 20, 2};

static struct pg_detect *mk(const struct detect_limits *lim)
{
	struct pg_detect *d = NULL;

	assert_int_equal(detect_new(lim, &d), 0);
	return d;
}

/* One failure; returns whether it fired. */
static int fail1(struct pg_detect *d, const char *user, const char *rhost,
                 const char *tty, int64_t t, struct detect_alert *a)
{
	int fired = -1;

	assert_int_equal(detect_failure(d, user, rhost, tty, t, a, &fired), 0);
	return fired;
}

static int ok1(struct pg_detect *d, const char *user, int64_t t,
               struct detect_alert *a)
{
	int fired = -1;

	assert_int_equal(
	    detect_success(d, user, "10.0.0.5", NULL, t, a, &fired), 0);
	return fired;
}

/* Unix time of local date 2026-03-(day) at hh:mm, in the current TZ. */
static int64_t at_local(int day, int hh, int mm)
{
	struct tm tm = {0};

	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 2;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static void set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static void test_limits(void **ctx)
{
	struct detect_limits l = deflim;
	struct pg_detect *d = NULL;

	(void)ctx;
	assert_int_equal(detect_check_limits(&l), 0);
	l.spray_users = 1;
	assert_int_equal(detect_new(&l, &d), PG_ERR_INVAL);
	l = deflim;
	l.spray_users = DETECT_SPRAY_MAX + 1;
	assert_int_equal(detect_check_limits(&l), PG_ERR_INVAL);
	l = deflim;
	l.hour_percent = 101;
	assert_int_equal(detect_check_limits(&l), PG_ERR_INVAL);
	l = deflim;
	l.hour_min_logins = 0;
	assert_int_equal(detect_check_limits(&l), PG_ERR_INVAL);
	l = deflim;
	l.spray_window = 0;
	assert_int_equal(detect_check_limits(&l), PG_ERR_INVAL);
	detect_free(NULL);
}

/* 4 users failing from one rhost: quiet; the 5th: one alert; further
 * failures inside the window: no new alert. */
static void test_spray_fires_once(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	char user[16];
	int i;

	(void)ctx;
	for (i = 1; i <= 4; i++) {
		snprintf(user, sizeof(user), "agent%d", i);
		assert_int_equal(
		    fail1(d, user, "203.0.113.9", "pts/1", T0 + i * 10, &a), 0);
	}
	/* The same users again do not add distinct users. */
	assert_int_equal(fail1(d, "agent1", "203.0.113.9", NULL, T0 + 50, &a),
	                 0);
	assert_int_equal(fail1(d, "agent5", "203.0.113.9", NULL, T0 + 60, &a),
	                 1);
	assert_int_equal(a.kind, DETECT_SPRAY);
	assert_string_equal(a.id, "PG-ALERT-SPRAY");
	assert_int_equal(a.severity, LOG_ALERT);
	assert_string_equal(a.source, "203.0.113.9");
	assert_string_equal(a.source_type, "rhost");
	assert_string_equal(a.user, "agent5");
	assert_int_equal(a.time, T0 + 60);
	assert_non_null(strstr(a.detail, "5 users"));
	/* Alert only: nothing is blocked. */
	assert_int_equal(
	    detect_source_blocked(d, "203.0.113.9", NULL, T0 + 61, NULL), 0);
	for (i = 6; i <= 20; i++) {
		snprintf(user, sizeof(user), "agent%d", i);
		assert_int_equal(
		    fail1(d, user, "203.0.113.9", NULL, T0 + 60 + i, &a), 0);
	}
	/* A window after the alert, a spray still going on re-alerts. */
	assert_int_equal(
	    fail1(d, "agent21", "203.0.113.9", NULL, T0 + 60 + 600, &a), 1);
	detect_free(d);
}

/* Failures from different rhosts (one user each), from no source, and
 * rhost vs tty of the same text: no alert. */
static void test_spray_sources_apart(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	char user[16], host[32];
	int i;

	(void)ctx;
	for (i = 1; i <= 50; i++) {
		snprintf(user, sizeof(user), "agent%d", i);
		snprintf(host, sizeof(host), "198.51.100.%d", i);
		assert_int_equal(fail1(d, user, host, NULL, T0 + i, &a), 0);
		/* No rhost and no tty: no source at all. */
		assert_int_equal(fail1(d, user, NULL, NULL, T0 + i, &a), 0);
		assert_int_equal(fail1(d, user, "", "", T0 + i, &a), 0);
	}
	/* Two from rhost "x", three from tty "x": separate sources. */
	assert_int_equal(fail1(d, "u1", "x", NULL, T0 + 100, &a), 0);
	assert_int_equal(fail1(d, "u2", "x", NULL, T0 + 100, &a), 0);
	assert_int_equal(fail1(d, "u3", NULL, "x", T0 + 100, &a), 0);
	assert_int_equal(fail1(d, "u4", NULL, "x", T0 + 100, &a), 0);
	assert_int_equal(fail1(d, "u5", NULL, "x", T0 + 100, &a), 0);
	/* A tty source: the 5th user fires, reported as a tty. */
	assert_int_equal(fail1(d, "u6", NULL, "x", T0 + 101, &a), 0);
	assert_int_equal(fail1(d, "u7", NULL, "x", T0 + 102, &a), 1);
	assert_string_equal(a.source_type, "tty");
	detect_free(d);
}

/* Failures spread wider than the window never add up. */
static void test_spray_window_expiry(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	char user[16];
	int i;

	(void)ctx;
	/* One new user every 200 s: at most 3 inside any 600 s. */
	for (i = 1; i <= 30; i++) {
		snprintf(user, sizeof(user), "agent%d", i);
		assert_int_equal(
		    fail1(d, user, "203.0.113.7", NULL, T0 + i * 200, &a), 0);
	}
	/* Four quick ones and a fifth just after the first left. */
	for (i = 1; i <= 4; i++) {
		snprintf(user, sizeof(user), "b%d", i);
		assert_int_equal(
		    fail1(d, user, "203.0.113.8", NULL, T0 + i, &a), 0);
	}
	assert_int_equal(fail1(d, "b5", "203.0.113.8", NULL, T0 + 601, &a), 0);
	/* b2..b5 and b6 in the same second: five inside the window. */
	assert_int_equal(fail1(d, "b6", "203.0.113.8", NULL, T0 + 601, &a), 1);
	detect_free(d);
}

static void test_spray_block(void **ctx)
{
	struct detect_limits l = deflim;
	struct pg_detect *d;
	struct detect_alert a;
	int64_t until = -1;
	size_t src, blocked;
	char user[16];
	int i;

	(void)ctx;
	l.spray_users = 3;
	l.spray_block = 900;
	d = mk(&l);
	for (i = 1; i <= 3; i++) {
		snprintf(user, sizeof(user), "agent%d", i);
		assert_int_equal(fail1(d, user, NULL, "tty7", T0 + i, &a),
		                 i == 3);
	}
	assert_non_null(strstr(a.detail, "refused until"));
	assert_int_equal(detect_source_blocked(d, NULL, "tty7", T0 + 4, &until),
	                 1);
	assert_int_equal(until, T0 + 3 + 900);
	/* rhost wins over tty: this is another source. */
	assert_int_equal(detect_source_blocked(d, "h", "tty7", T0 + 4, NULL),
	                 0);
	assert_int_equal(detect_source_blocked(d, NULL, NULL, T0 + 4, NULL), 0);
	detect_counts(d, T0 + 4, &src, &blocked, NULL);
	assert_int_equal(src, 1);
	assert_int_equal(blocked, 1);
	assert_int_equal(
	    detect_source_blocked(d, NULL, "tty7", T0 + 3 + 900, &until), 0);
	assert_int_equal(until, 0);
	detect_free(d);
}

/* Memory stays bounded: the source table holds DETECT_MAX_SOURCES and
 * evicts the least recently seen unblocked one; each source remembers at
 * most spray_users users. */
static void test_spray_caps(void **ctx)
{
	struct detect_limits l = deflim;
	struct pg_detect *d;
	struct detect_alert a;
	char host[32], user[16];
	size_t src, blocked;
	int i;

	(void)ctx;
	l.spray_users = 2;
	l.spray_block = 86400;
	d = mk(&l);
	/* A blocked source first. */
	assert_int_equal(fail1(d, "a", "blocked.example", NULL, T0, &a), 0);
	assert_int_equal(fail1(d, "b", "blocked.example", NULL, T0, &a), 1);
	for (i = 0; i < DETECT_MAX_SOURCES + 100; i++) {
		snprintf(host, sizeof(host), "h%d", i);
		assert_int_equal(fail1(d, "x", host, NULL, T0 + 1 + i, &a), 0);
	}
	detect_counts(d, T0 + 10, &src, &blocked, NULL);
	assert_int_equal(src, DETECT_MAX_SOURCES);
	/* The blocked one survived the flood; the oldest others did not. */
	assert_int_equal(
	    detect_source_blocked(d, "blocked.example", NULL, T0 + 10, NULL),
	    1);
	/* h0 was evicted: one more user from it is its first again. */
	assert_int_equal(fail1(d, "y", "h0", NULL, T0 + 4300, &a), 0);
	/* The newest source is still known: a 2nd user fires. */
	snprintf(host, sizeof(host), "h%d", DETECT_MAX_SOURCES + 99);
	assert_int_equal(fail1(d, "y", host, NULL, T0 + 4301, &a), 1);
	detect_free(d);

	/* Many users from one source: the slots are reused, and it still
	 * fires once per window. */
	d = mk(&deflim);
	for (i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		fail1(d, user, "203.0.113.1", NULL, T0 + i / 100, &a);
	}
	assert_int_equal(fail1(d, "late", "203.0.113.1", NULL, T0 + 11, &a), 0);
	detect_free(d);

	/* An over-long source is cut, not refused. */
	{
		char longsrc[1000];
		memset(longsrc, 'a', sizeof(longsrc) - 1);
		longsrc[sizeof(longsrc) - 1] = '\0';
		d = mk(&deflim);
		assert_int_equal(fail1(d, "a", longsrc, NULL, T0, &a), 0);
		detect_free(d);
	}
}

/* 30 days of an agent logging in 08:00-17:00, then one 03:00 login:
 * exactly one alert. */
static void test_hour_normal_then_night(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	int day, n = 0;

	(void)ctx;
	set_tz("UTC");
	for (day = 1; day <= 30; day++) {
		n += ok1(d, "agent1", at_local(day, 8 + day % 9, 5), &a);
		n += ok1(d, "agent1", at_local(day, 13, 30), &a);
	}
	assert_int_equal(n, 0);
	assert_int_equal(ok1(d, "agent1", at_local(31, 3, 0), &a), 1);
	assert_int_equal(a.kind, DETECT_HOUR);
	assert_string_equal(a.id, "PG-ALERT-HOUR");
	assert_int_equal(a.severity, LOG_WARNING);
	assert_string_equal(a.user, "agent1");
	assert_non_null(strstr(a.detail, "03:xx"));
	/* Another user has no history: no alert (under hour_min_logins). */
	assert_int_equal(ok1(d, "agent2", at_local(31, 3, 0), &a), 0);
	/* A normal hour the next day: quiet. */
	assert_int_equal(ok1(d, "agent1", at_local(32, 10, 0), &a), 0);
	assert_int_equal(detect_hours_dirty(d), 1);
	detect_free(d);
}

/* The local hour follows TZ. */
static void test_hour_tz(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	int day;

	(void)ctx;
	/* 09:00 in New York (no DST in January: UTC-5) every day. */
	set_tz("America/New_York");
	for (day = 1; day <= 25; day++) {
		struct tm tm = {0};
		tm.tm_year = 2026 - 1900;
		tm.tm_mon = 0;
		tm.tm_mday = day;
		tm.tm_hour = 9;
		tm.tm_isdst = -1;
		assert_int_equal(ok1(d, "agent1", (int64_t)mktime(&tm), &a), 0);
	}
	/* 14:00 UTC is 09:00 in New York: usual there. */
	assert_int_equal(ok1(d, "agent1", 1769781600 /* 2026-01-30T14Z */, &a),
	                 0);
	/* The same instant read in UTC is 14:00: unusual. */
	set_tz("UTC");
	assert_int_equal(ok1(d, "agent1", 1769781600, &a), 1);
	detect_free(d);
}

/* Old habits fade: counters are halved at DETECT_HOUR_CAP; a new habit
 * becomes normal. */
static void test_hour_decay(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	int i, fired = 0;

	(void)ctx;
	set_tz("UTC");
	for (i = 0; i < 3 * DETECT_HOUR_CAP; i++)
		ok1(d, "agent1", at_local(1, 9, 0) + (int64_t)i * 86400, &a);
	/* Night shift from now on: alerts at first, then none. */
	for (i = 0; i < 200; i++)
		fired +=
		    ok1(d, "agent1",
		        at_local(1, 22, 0) + (int64_t)(3000 + i) * 86400, &a);
	assert_true(fired > 0);
	assert_true(fired < 200);
	assert_int_equal(
	    ok1(d, "agent1", at_local(1, 22, 0) + 4000LL * 86400, &a), 0);
	detect_free(d);
}

static void test_hour_percent_zero_never(void **ctx)
{
	struct detect_limits l = deflim;
	struct pg_detect *d;
	struct detect_alert a;
	int i;

	(void)ctx;
	set_tz("UTC");
	l.hour_percent = 0;
	d = mk(&l);
	for (i = 0; i < 50; i++)
		assert_int_equal(ok1(d, "u", at_local(1, 9, 0) + i * 86400, &a),
		                 0);
	assert_int_equal(ok1(d, "u", at_local(1, 3, 0) + 60 * 86400, &a), 0);
	detect_free(d);
}

static void test_hour_user_cap(void **ctx)
{
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;
	char user[16];
	size_t users;
	int i;

	(void)ctx;
	for (i = 0; i < DETECT_MAX_USERS + 10; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		ok1(d, user, T0 + i, &a);
	}
	detect_counts(d, T0, NULL, NULL, &users);
	assert_int_equal(users, DETECT_MAX_USERS);
	detect_free(d);
}

static void test_event_alerts(void **ctx)
{
	struct detect_alert a;

	(void)ctx;
	detect_alert_bruteforce(&a, "nurse1", "10.1.1.1", "pts/3", T0, 5,
	                        T0 + 900);
	assert_string_equal(a.id, "PG-ALERT-BRUTEFORCE");
	assert_int_equal(a.severity, LOG_ALERT);
	assert_string_equal(a.source, "10.1.1.1");
	assert_non_null(strstr(a.detail, "5 failures"));
	detect_alert_pushfatigue(&a, "nurse1", NULL, "pts/3", T0, T0 + 900);
	assert_string_equal(a.id, "PG-ALERT-PUSHFATIGUE");
	assert_int_equal(a.severity, LOG_ALERT);
	assert_string_equal(a.source_type, "tty");
	detect_alert_breakglass(&a, "doc1", NULL, NULL, T0, "phi.read.all");
	assert_string_equal(a.id, "PG-ALERT-BREAKGLASS");
	assert_int_equal(a.kind, DETECT_BREAKGLASS);
	assert_string_equal(a.source_type, "");
	assert_non_null(strstr(a.detail, "phi.read.all"));
	assert_string_equal(detect_kind_name(DETECT_PUSHFATIGUE),
	                    "pushfatigue");
}

static int open_tmpdir(void)
{
	int fd = open(tu_tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void test_persist_roundtrip(void **ctx)
{
	struct pg_detect *d = mk(&deflim), *e = mk(&deflim);
	struct detect_alert a;
	size_t users;
	int dfd = open_tmpdir(), day;

	(void)ctx;
	set_tz("UTC");
	/* Nothing on disk: an empty start. */
	assert_int_equal(detect_hours_load(e, dfd, tu_tmpdir), 0);
	detect_counts(e, T0, NULL, NULL, &users);
	assert_int_equal(users, 0);
	for (day = 1; day <= 30; day++) {
		ok1(d, "agent1", at_local(day, 9, 0), &a);
		ok1(d, "agent2", at_local(day, 22, 0), &a);
	}
	assert_int_equal(detect_hours_save(d, dfd, tu_tmpdir), 0);
	assert_int_equal(detect_hours_dirty(d), 0);
	assert_int_equal(access(tu_path(DETECT_HOURS_FILE ".tmp"), F_OK), -1);
	assert_int_equal(detect_hours_load(e, dfd, tu_tmpdir), 0);
	detect_counts(e, T0, NULL, NULL, &users);
	assert_int_equal(users, 2);
	assert_int_equal(detect_hours_dirty(e), 0);
	/* The learned habits came back. */
	assert_int_equal(ok1(e, "agent1", at_local(31, 9, 0), &a), 0);
	assert_int_equal(ok1(e, "agent1", at_local(31, 22, 0), &a), 1);
	assert_int_equal(ok1(e, "agent2", at_local(31, 22, 0), &a), 0);
	assert_int_equal(ok1(e, "agent2", at_local(31, 9, 0), &a), 1);
	detect_free(d);
	detect_free(e);
	close(dfd);
}

static void check_damaged(const char *text)
{
	struct pg_detect *d = mk(&deflim);
	size_t users = 99;
	int dfd = open_tmpdir();

	tu_write_file(tu_path(DETECT_HOURS_FILE), text, 0600);
	assert_int_equal(detect_hours_load(d, dfd, tu_tmpdir), 0);
	detect_counts(d, T0, NULL, NULL, &users);
	assert_int_equal(users, 0);
	assert_int_equal(access(tu_path(DETECT_HOURS_FILE ".corrupt"), F_OK),
	                 0);
	assert_int_equal(access(tu_path(DETECT_HOURS_FILE), F_OK), -1);
	unlink(tu_path(DETECT_HOURS_FILE ".corrupt"));
	/* Saving afterwards works and replaces nothing valid. */
	assert_int_equal(detect_hours_save(d, dfd, tu_tmpdir), 0);
	detect_free(d);
	close(dfd);
}

static void test_persist_damaged(void **ctx)
{
	static const char good_u[] =
	    "U agent1 1700000000 0 0 0 0 0 0 0 0 0 30 0 0 0 0 0 0 0 0 0 0 0 "
	    "0 0 0\n";
	char buf[512];

	(void)ctx;
	check_damaged("");
	check_damaged("garbage\n");
	check_damaged("phiguard-hours 1\n"); /* no end line */
	snprintf(buf, sizeof(buf), "phiguard-hours 1\n%s", good_u); /* torn */
	check_damaged(buf);
	snprintf(buf, sizeof(buf), "phiguard-hours 1\n%send 2\n", good_u);
	check_damaged(buf); /* wrong count */
	check_damaged("phiguard-hours 1\nU bad/name 1 0 0 0 0 0 0 0 0 0 0 0 0 "
	              "0 0 0 0 0 0 0 0 0 0 0 0\nend 1\n");
	check_damaged("phiguard-hours 1\nU a 1 0 0\nend 1\n"); /* short */
	check_damaged("phiguard-hours 1\nU a 1 9999 0 0 0 0 0 0 0 0 0 0 0 0 0 "
	              "0 0 0 0 0 0 0 0 0 0\nend 1\n"); /* over the cap */
	snprintf(buf, sizeof(buf), "phiguard-hours 1\n%s%send 2\n", good_u,
	         good_u);
	check_damaged(buf); /* the same user twice */
	snprintf(buf, sizeof(buf), "phiguard-hours 1\n%send 1\nx\n", good_u);
	check_damaged(buf); /* after the end */
	/* A valid file loads. */
	{
		struct pg_detect *d = mk(&deflim);
		size_t users = 0;
		int dfd = open_tmpdir();

		snprintf(buf, sizeof(buf), "phiguard-hours 1\n%send 1\n",
		         good_u);
		tu_write_file(tu_path(DETECT_HOURS_FILE), buf, 0600);
		assert_int_equal(detect_hours_load(d, dfd, tu_tmpdir), 0);
		detect_counts(d, T0, NULL, NULL, &users);
		assert_int_equal(users, 1);
		detect_free(d);
		close(dfd);
	}
}

static void test_set_limits(void **ctx)
{
	struct detect_limits l = deflim;
	struct pg_detect *d = mk(&deflim);
	struct detect_alert a;

	(void)ctx;
	assert_int_equal(fail1(d, "a", "h", NULL, T0, &a), 0);
	l.spray_users = 0;
	assert_int_equal(detect_set_limits(d, &l), PG_ERR_INVAL);
	l.spray_users = 2;
	assert_int_equal(detect_set_limits(d, &l), 0);
	/* Sources were forgotten (slots resized): "a" no longer counts. */
	assert_int_equal(fail1(d, "b", "h", NULL, T0 + 1, &a), 0);
	assert_int_equal(fail1(d, "c", "h", NULL, T0 + 2, &a), 1);
	detect_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_spray_fires_once),
	    cmocka_unit_test(test_spray_sources_apart),
	    cmocka_unit_test(test_spray_window_expiry),
	    cmocka_unit_test(test_spray_block),
	    cmocka_unit_test(test_spray_caps),
	    cmocka_unit_test(test_hour_normal_then_night),
	    cmocka_unit_test(test_hour_tz),
	    cmocka_unit_test(test_hour_decay),
	    cmocka_unit_test(test_hour_percent_zero_never),
	    cmocka_unit_test(test_hour_user_cap),
	    cmocka_unit_test(test_event_alerts),
	    cmocka_unit_test_setup_teardown(
	        test_persist_roundtrip, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_persist_damaged, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test(test_set_limits),
	};

	log_init("test_detect", 1, PG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
