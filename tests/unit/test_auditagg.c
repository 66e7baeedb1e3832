/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the aggregation of repeated audit events
 * (daemon/audit/auditagg.c): the first of a key is recorded, the rest counted
 * and handed out once per interval; keys are kept apart by every field
 * and the requester; the table and each non-root requester are bounded,
 * and what an eviction forgets is handed out, never lost. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/audit/auditagg.h"

/* What the emit callback saw. */
struct seen {
	size_t n;
	uint64_t total;
	char event[32], reason[80], user[64], rhost[300];
	long uid;
	uint64_t count;
	int noise;
};

static void emit(void *arg, const struct audit_rec *r, int noise)
{
	struct seen *s = arg;

	s->n++;
	s->total += r->count;
	snprintf(s->event, sizeof(s->event), "%s", r->event);
	snprintf(s->reason, sizeof(s->reason), "%s",
	         r->reason != NULL ? r->reason : "(null)");
	snprintf(s->user, sizeof(s->user), "%s",
	         r->user != NULL ? r->user : "(null)");
	snprintf(s->rhost, sizeof(s->rhost), "%s",
	         r->rhost != NULL ? r->rhost : "(null)");
	s->uid = r->uid;
	s->count = r->count;
	s->noise = noise;
	assert_int_equal(r->time_ms, 0);
	assert_null(r->host);
}

static struct auditagg_event refused(long peer, const char *reason)
{
	struct auditagg_event ev = {peer, 1,    "refused", "deny", reason,
	                            NULL, NULL, NULL,      NULL,   peer};

	return ev;
}

static struct auditagg_event preauth(const char *user, const char *rhost)
{
	struct auditagg_event ev = {0,        0,    "preauth-deny", "deny",
	                            "locked", user, "sshd",         "ssh",
	                            rhost,    -1};

	return ev;
}

static void test_interval(void **state)
{
	struct pg_auditagg *g;
	struct auditagg_event ev = refused(65534, "permission PREAUTH");
	struct seen s;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(auditagg_new(&g), 0);
	assert_int_equal(auditagg_note(g, &ev, 1000, emit, &s), 1);
	for (i = 0; i < 99; i++)
		assert_int_equal(auditagg_note(g, &ev, 1000 + i, emit, &s), 0);
	/* Not yet due: nothing, and how long until it is. */
	assert_int_equal(auditagg_expire(g, 5000, 0, emit, &s), 6000);
	assert_int_equal(s.n, 0);
	assert_int_equal(
	    auditagg_expire(g, 1000 + AUDITAGG_INTERVAL_MS, 0, emit, &s), -1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.count, 99);
	assert_string_equal(s.event, "refused");
	assert_string_equal(s.reason, "permission PREAUTH");
	assert_string_equal(s.user, "(null)");
	assert_int_equal(s.uid, 65534);
	assert_true(s.noise);
	assert_int_equal(auditagg_counted(g), 99);
	assert_int_equal(auditagg_keys(g), 0);
	/* The next one starts an interval of its own, recorded. */
	assert_int_equal(auditagg_note(g, &ev, 20000, emit, &s), 1);
	/* A lone event is not handed out again. */
	assert_int_equal(auditagg_expire(g, 40000, 0, emit, &s), -1);
	assert_int_equal(s.n, 1);
	auditagg_free(g);
}

/* Every field and the requester make the key. */
static void test_keys(void **state)
{
	struct pg_auditagg *g;
	struct auditagg_event a = preauth("clerk1", "198.51.100.9");
	struct auditagg_event b = preauth("clerk1", "198.51.100.10");
	struct auditagg_event c = preauth("clerk2", "198.51.100.9");
	struct auditagg_event d = a, e = a;
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof(s));
	d.reason = "source-blocked";
	e.peer = 1000;
	assert_int_equal(auditagg_new(&g), 0);
	assert_int_equal(auditagg_note(g, &a, 0, emit, &s), 1);
	assert_int_equal(auditagg_note(g, &b, 0, emit, &s), 1);
	assert_int_equal(auditagg_note(g, &c, 0, emit, &s), 1);
	assert_int_equal(auditagg_note(g, &d, 0, emit, &s), 1);
	assert_int_equal(auditagg_note(g, &e, 0, emit, &s), 1);
	assert_int_equal(auditagg_note(g, &b, 1, emit, &s), 0);
	assert_int_equal(auditagg_keys(g), 5);
	/* "" and absent are the same, field boundaries are not. */
	a.service = "";
	a.tty = NULL;
	assert_int_equal(auditagg_note(g, &a, 2, emit, &s), 1);
	a.service = "sshdssh";
	assert_int_equal(auditagg_note(g, &a, 2, emit, &s), 1);
	a.service = NULL;
	assert_int_equal(auditagg_note(g, &a, 3, emit, &s), 0);
	/* Flush: only b and the empty-service key counted any. */
	assert_int_equal(auditagg_expire(g, 4, 1, emit, &s), -1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.total, 2);
	assert_int_equal(auditagg_keys(g), 0);
	auditagg_free(g);
}

/* A full table hands out the least recently seen key before forgetting
 * it; a non-root requester only ever evicts its own keys. */
static void test_bounds(void **state)
{
	struct pg_auditagg *g;
	struct auditagg_event ev;
	char host[32];
	struct seen s;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(auditagg_new(&g), 0);
	for (i = 0; i < AUDITAGG_MAX; i++) {
		snprintf(host, sizeof(host), "10.0.%d.%d", i / 256, i % 256);
		ev = preauth("clerk1", host);
		assert_int_equal(auditagg_note(g, &ev, i, emit, &s), 1);
		assert_int_equal(auditagg_note(g, &ev, i, emit, &s), 0);
	}
	assert_int_equal(auditagg_keys(g), AUDITAGG_MAX);
	/* 10.0.0.0 is seen again: 10.0.0.1 is now the least recent. */
	ev = preauth("clerk1", "10.0.0.0");
	assert_int_equal(auditagg_note(g, &ev, 1000, emit, &s), 0);
	ev = preauth("clerk1", "192.0.2.1");
	assert_int_equal(auditagg_note(g, &ev, 1001, emit, &s), 1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rhost, "10.0.0.1");
	assert_int_equal(s.count, 1);
	assert_int_equal(auditagg_keys(g), AUDITAGG_MAX);

	/* One non-root requester with ever new keys: its own oldest go,
	 * root's stay. */
	for (i = 0; i < 3 * AUDITAGG_PER_UID; i++) {
		snprintf(host, sizeof(host), "x%d", i);
		ev = refused(1000, host);
		assert_int_equal(auditagg_note(g, &ev, 2000 + i, emit, &s), 1);
		assert_int_equal(auditagg_note(g, &ev, 2000 + i, emit, &s), 0);
	}
	/* The first AUDITAGG_PER_UID took root's oldest; then only its own
	 * went, each handed out with its count. */
	assert_int_equal(s.n, 1 + 3 * AUDITAGG_PER_UID);
	assert_string_equal(s.reason, "x63");
	assert_int_equal(s.uid, 1000);
	ev = preauth("clerk1", "10.0.0.0");
	assert_int_equal(auditagg_note(g, &ev, 5000, emit, &s), 0);
	assert_int_equal(auditagg_keys(g), AUDITAGG_MAX);
	/* Every event is a record or inside a count. */
	auditagg_expire(g, 0, 1, emit, &s);
	assert_int_equal(s.total, auditagg_counted(g));
	auditagg_free(g);
	auditagg_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interval),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
