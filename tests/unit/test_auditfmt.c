/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the audit line format (daemon/audit/auditfmt.c), the chain
 * check (daemon/audit/auditchain.c) and the event map
 * (daemon/audit/auditmap.c): escaping of hostile values, exact keys, times,
 * every kind of tampering, and which events a request makes. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/audit/auditchain.h"
#include "daemon/audit/auditfmt.h"
#include "daemon/audit/auditmap.h"
#include "err.h"

/* 2026-11-29T00:16:00.123Z */
#define T0 INT64_C(1795911360123)

/* Index of key in auditfmt_keys (the view's order); fails the test if
 * there is none. */
static int key_index(const char *key)
{
	int i;

	for (i = 0; i < AUDIT_NKEYS; i++)
		if (strcmp(auditfmt_keys[i], key) == 0)
			return i;
	fail_msg("no audit key %s", key);
	return -1;
}

static void base_rec(struct audit_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->time_ms = T0;
	r->host = "ws1";
	r->event = "authz-allow";
	r->user = "nurse1";
	r->uid = -1;
}

/* Body + prev as the writer makes a line. */
static size_t make_line(const struct audit_rec *r, const char *prev, char *out,
                        size_t size)
{
	size_t len;

	assert_int_equal(auditfmt_body(r, out, size, &len), 0);
	assert_int_equal(auditfmt_close(out, len, size, prev, &len), 0);
	return len;
}

static void test_exact_line(void **state)
{
	struct audit_rec r;
	char line[AUDIT_LINE_MAX];

	(void)state;
	base_rec(&r);
	r.service = "login";
	r.tty = "tty1";
	r.decision = "allow";
	r.scopes = "phi.read phi.clinical";
	r.rule = "nurse\nclinical";
	r.source = "cache";
	make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	assert_string_equal(
	    line, "{\"time\":\"2026-11-29T00:16:00.123Z\",\"host\":\"ws1\","
	          "\"event\":\"authz-allow\",\"user\":\"nurse1\","
	          "\"service\":\"login\",\"tty\":\"tty1\",\"rhost\":null,"
	          "\"factor\":null,\"decision\":\"allow\","
	          "\"scopes\":[\"phi.read\",\"phi.clinical\"],\"reason\":null,"
	          "\"rule\":[\"nurse\",\"clinical\"],\"source\":\"cache\","
	          "\"uid\":null,\"prev\":\"" AUDIT_GENESIS "\"}");
}

/* An aggregate carries "count" before "prev"; a single event has no such
 * key, so its line is the one written before aggregates existed (old
 * trails verify), and both parse. */
static void test_count(void **state)
{
	struct audit_view *v = malloc(sizeof(*v));
	struct audit_rec r;
	char line[AUDIT_LINE_MAX], bad[AUDIT_LINE_MAX + 64];
	const char *old =
	    "{\"time\":\"2026-11-29T00:16:00.123Z\",\"host\":"
	    "\"ws1\",\"event\":\"refused\",\"user\":null,"
	    "\"service\":null,\"tty\":null,\"rhost\":null,"
	    "\"factor\":null,\"decision\":\"deny\",\"scopes\":"
	    "null,\"reason\":\"permission\",\"rule\":null,"
	    "\"source\":null,\"uid\":65534,\"prev\":\"" AUDIT_GENESIS "\"}";
	const char *at;
	size_t len;

	(void)state;
	assert_non_null(v);
	base_rec(&r);
	r.event = "refused";
	r.user = NULL;
	r.decision = "deny";
	r.reason = "permission";
	r.uid = 65534;
	len = make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	assert_string_equal(line, old);
	assert_int_equal(auditfmt_parse(line, len, v), 0);
	assert_null(v->val[key_index("count")]);
	assert_string_equal(v->val[key_index("prev")], AUDIT_GENESIS);

	r.count = UINT64_C(18446744073709551615);
	len = make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	assert_non_null(strstr(line, "\"uid\":65534,\"count\":"
	                             "18446744073709551615,\"prev\":"));
	assert_int_equal(auditfmt_parse(line, len, v), 0);
	assert_string_equal(v->val[key_index("count")], "18446744073709551615");
	assert_string_equal(v->val[key_index("uid")], "65534");
	/* A count is a number: not a string, not 21 digits, not in the
	 * wrong place. */
	snprintf(bad, sizeof(bad), "%s", line);
	memcpy(strstr(bad, "1844"), "\"844", 4);
	assert_int_equal(auditfmt_parse(bad, len, v), PG_ERR_INVAL);
	r.count = 7;
	len = make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	at = strstr(line, "\"count\":7,") + 8;
	snprintf(bad, sizeof(bad), "%.*s17%s", (int)(at - line), line, at + 1);
	assert_int_equal(auditfmt_parse(bad, strlen(bad), v), 0);
	snprintf(bad, sizeof(bad), "%.*s111111111111111111111%s",
	         (int)(at - line), line, at + 1);
	assert_int_equal(auditfmt_parse(bad, strlen(bad), v), PG_ERR_INVAL);
	snprintf(bad, sizeof(bad), "%.*s07%s", (int)(at - line), line, at + 1);
	assert_int_equal(auditfmt_parse(bad, strlen(bad), v), PG_ERR_INVAL);
	snprintf(bad, sizeof(bad), "{\"count\":7,%s", line + 1);
	assert_int_equal(auditfmt_parse(bad, strlen(bad), v), PG_ERR_INVAL);
	free(v);
}

/* Control bytes, quotes, backslashes, invalid UTF-8, overlong forms and
 * surrogates from PAM: always valid JSON, and decoded back faithfully
 * (invalid bytes as U+FFFD). */
static void test_escaping(void **state)
{
	struct audit_view *v = malloc(sizeof(*v));
	struct audit_rec r;
	char line[AUDIT_LINE_MAX];
	size_t len;

	(void)state;
	assert_non_null(v);
	base_rec(&r);
	r.service = "a\"b\\c\x01\x1f\x7f";
	r.tty = "\xff\xc0\xaf ok \xed\xa0\x80";
	r.rhost = "h\xc3\xa9llo\xe2\x82\xac\xf0\x9f\x98\x80";
	r.uid = 0;
	len = make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	assert_non_null(strstr(line, "\"service\":\"a\\\"b\\\\c\\u0001"
	                             "\\u001f\\u007f\""));
	assert_int_equal(auditfmt_parse(line, len, v), 0);
	assert_string_equal(v->val[4], "a\"b\\c\x01\x1f\x7f");
	/* Each invalid byte is one U+FFFD. */
	assert_string_equal(v->val[5],
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok "
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(v->val[6],
	                    "h\xc3\xa9llo\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(v->val[13], "0");
	assert_null(v->val[7]);
	free(v);
}

/* A value longer than the cap is cut, never past a character. */
static void test_caps(void **state)
{
	char big[4000], line[AUDIT_LINE_MAX];
	struct audit_view *v = malloc(sizeof(*v));
	struct audit_rec r;
	size_t len, i;

	(void)state;
	assert_non_null(v);
	for (i = 0; i + 2 < sizeof(big); i += 2) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
	}
	big[i] = '\0';
	base_rec(&r);
	r.service = r.tty = r.rhost = r.reason = big;
	r.scopes = big;
	len = make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	assert_true(len < AUDIT_LINE_MAX);
	assert_int_equal(auditfmt_parse(line, len, v), 0);
	assert_int_equal(strlen(v->val[4]), AUDIT_VALUE_MAX);
	free(v);
}

static void test_parse_rejects(void **state)
{
	struct audit_view *v = malloc(sizeof(*v));
	struct audit_rec r;
	char line[AUDIT_LINE_MAX], bad[AUDIT_LINE_MAX + 16];
	size_t len;

	(void)state;
	assert_non_null(v);
	base_rec(&r);
	len = make_line(&r, AUDIT_GENESIS, line, sizeof(line));
	assert_int_equal(auditfmt_parse(line, len, v), 0);
	/* Trailing garbage, a missing brace, a key renamed. */
	snprintf(bad, sizeof(bad), "%s ", line);
	assert_int_equal(auditfmt_parse(bad, len + 1, v), PG_ERR_INVAL);
	assert_int_equal(auditfmt_parse(line, len - 1, v), PG_ERR_INVAL);
	snprintf(bad, sizeof(bad), "%s", line);
	memcpy(strstr(bad, "\"host\""), "\"hosT\"", 6);
	assert_int_equal(auditfmt_parse(bad, len, v), PG_ERR_INVAL);
	/* A raw control byte inside a string. */
	snprintf(bad, sizeof(bad), "%s", line);
	*strstr(bad, "ws1") = '\t';
	assert_int_equal(auditfmt_parse(bad, len, v), PG_ERR_INVAL);
	/* A prev that is not 64 lower-case hex digits. */
	snprintf(bad, sizeof(bad), "%s", line);
	bad[len - 3] = 'G';
	assert_int_equal(auditfmt_parse(bad, len, v), 0);
	{
		char hex[AUDIT_HEX_SIZE];

		assert_int_equal(auditfmt_prev(bad, len, hex), PG_ERR_INVAL);
		assert_int_equal(auditfmt_prev(line, len, hex), 0);
		assert_string_equal(hex, AUDIT_GENESIS);
	}
	free(v);
}

static void test_time(void **state)
{
	char t[32];
	int64_t ms;

	(void)state;
	assert_int_equal(auditfmt_time(T0, t, sizeof(t)), 0);
	assert_string_equal(t, "2026-11-29T00:16:00.123Z");
	assert_int_equal(auditfmt_parse_time(t, &ms), 0);
	assert_int_equal(ms, T0);
	assert_int_equal(auditfmt_parse_time("2026-11-29", &ms), 0);
	assert_int_equal(ms, INT64_C(1795910400000));
	assert_int_equal(auditfmt_parse_time("2026-11-29 01:16", &ms), 0);
	assert_int_equal(ms, INT64_C(1795914960000));
	assert_int_equal(auditfmt_parse_time("2026-11-29T01:16:00+01:00", &ms),
	                 0);
	assert_int_equal(ms, INT64_C(1795911360000));
	assert_int_equal(auditfmt_parse_time("@1795911360", &ms), 0);
	assert_int_equal(ms, INT64_C(1795911360000));
	assert_int_equal(auditfmt_parse_time("2026-13-01", &ms), PG_ERR_INVAL);
	assert_int_equal(auditfmt_parse_time("yesterday", &ms), PG_ERR_INVAL);
	assert_int_equal(auditfmt_parse_time("2026-11-29T01", &ms),
	                 PG_ERR_INVAL);
}

static void test_hash(void **state)
{
	char hex[AUDIT_HEX_SIZE];

	(void)state;
	auditfmt_hash("abc", 3, hex);
	assert_string_equal(
	    hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---------------------------------------------------------- the chain */

#define N 6
static char buf[N + 2][AUDIT_LINE_MAX];
static struct auditchain_line L[N + 2];

/* A valid chain of N lines in buf / L. */
static void chain(void)
{
	char prev[AUDIT_HEX_SIZE] = AUDIT_GENESIS;
	struct audit_rec r;
	static char users[N][16];
	size_t i;

	for (i = 0; i < N; i++) {
		base_rec(&r);
		snprintf(users[i], sizeof(users[i]), "user%zu", i);
		r.user = users[i];
		r.time_ms = T0 + (int64_t)i;
		L[i].len = make_line(&r, prev, buf[i], sizeof(buf[i]));
		L[i].p = buf[i];
		L[i].complete = 1;
		auditfmt_hash(L[i].p, L[i].len, prev);
	}
}

static struct auditchain_result verify(size_t n, const char *head)
{
	struct auditchain_result res;

	assert_int_equal(auditchain_verify(L, n, NULL, head, &res), 0);
	return res;
}

static void test_chain_ok(void **state)
{
	char head[AUDIT_HEX_SIZE];
	struct auditchain_result res;

	(void)state;
	chain();
	res = verify(N, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_OK);
	/* A head taken earlier: fine, with records after it. */
	auditfmt_hash(L[3].p, L[3].len, head);
	res = verify(N, head);
	assert_int_equal(res.kind, AUDITCHAIN_OK);
	assert_int_equal(res.head_at, 3);
	res = verify(0, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_OK);
}

static void test_modified(void **state)
{
	struct auditchain_result res;

	(void)state;
	chain();
	/* One byte of a value: still valid JSON. */
	*strstr(buf[2], "user2") = 'U';
	res = verify(N, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_MODIFIED_OR_REMOVED);
	assert_int_equal(res.line, 3);
	assert_int_equal(res.other, 2);
	/* One byte that breaks the JSON: named on the line itself. */
	chain();
	*strstr(buf[2], "\"user\"") = '[';
	res = verify(N, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_MALFORMED);
	assert_int_equal(res.line, 2);
}

static void test_removed(void **state)
{
	struct auditchain_result res;

	(void)state;
	chain();
	memmove(&L[2], &L[3], (N - 3) * sizeof(L[0]));
	res = verify(N - 1, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_MODIFIED_OR_REMOVED);
	assert_int_equal(res.line, 2);
	/* The first line removed. */
	chain();
	res = verify(N - 1, NULL);
	memmove(&L[0], &L[1], (N - 1) * sizeof(L[0]));
	res = verify(N - 1, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_REMOVED_START);
	assert_int_equal(res.line, 0);
}

static void test_inserted(void **state)
{
	struct auditchain_result res;
	struct audit_rec r;
	char prev[AUDIT_HEX_SIZE];

	(void)state;
	/* A forged line with a correct prev after line 2. */
	chain();
	memmove(&L[4], &L[3], (N - 3) * sizeof(L[0]));
	base_rec(&r);
	r.user = "forged";
	auditfmt_hash(L[2].p, L[2].len, prev);
	L[3].len = make_line(&r, prev, buf[N], sizeof(buf[N]));
	L[3].p = buf[N];
	L[3].complete = 1;
	res = verify(N + 1, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_INSERTED);
	assert_int_equal(res.line, 3);
	assert_int_equal(res.other, 3);
	/* A forged line with a made-up prev. */
	L[3].len = make_line(&r, AUDIT_GENESIS, buf[N], sizeof(buf[N]));
	res = verify(N + 1, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_INSERTED);
	assert_int_equal(res.line, 3);
}

static void test_reordered(void **state)
{
	struct auditchain_line t;
	struct auditchain_result res;

	(void)state;
	chain();
	t = L[2];
	L[2] = L[3];
	L[3] = t;
	res = verify(N, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_REORDERED);
	assert_int_equal(res.line, 2);
	assert_int_equal(res.other, 3);
}

static void test_truncated(void **state)
{
	char head[AUDIT_HEX_SIZE];
	struct auditchain_result res;

	(void)state;
	chain();
	auditfmt_hash(L[N - 1].p, L[N - 1].len, head);
	res = verify(N - 2, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_OK); /* cannot tell alone */
	res = verify(N - 2, head);
	assert_int_equal(res.kind, AUDITCHAIN_TRUNCATED);
	assert_int_equal(res.line, N - 2);
	/* A cut last line. */
	L[N - 1].complete = 0;
	L[N - 1].len -= 5;
	res = verify(N, NULL);
	assert_int_equal(res.kind, AUDITCHAIN_PARTIAL);
	assert_int_equal(res.line, N - 1);
}

/* ------------------------------------------------------------ the map */

static void msg(struct pg_msg *m, const char *line)
{
	assert_int_equal(proto_parse(line, strlen(line), m), 0);
}

static void test_map(void **state)
{
	struct pg_msg req, resp;
	struct audit_req ar;
	struct audit_events ev;

	(void)state;
	msg(&req, "v1 REPORT user=clerk1 factor=totp result=failure "
	          "reason=bad-code service=login tty=tty1");
	msg(&resp, "v1 OK locked=yes until=99 failures=3");
	auditmap_request(&ar, &req, "clerk1", 0, 0);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.ev[0].event, "factor-failure");
	assert_string_equal(ev.ev[0].reason, "bad-code");
	assert_string_equal(ev.ev[1].event, "lockout");
	assert_true(ev.ev[1].alert);
	/* Already locked before: no new lockout. */
	auditmap_request(&ar, &req, "clerk1", 0, 1);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_int_equal(ev.n, 1);

	msg(&req, "v1 REPORT user=n factor=push result=failure "
	          "reason=push-timeout");
	msg(&resp, "v1 OK locked=no failures=1");
	auditmap_request(&ar, &req, "n", 0, 0);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_string_equal(ev.ev[0].event, "push-timeout");

	msg(&req, "v1 REPORT user=n factor=push result=sent reason=sent");
	msg(&resp, "v1 OK locked=no failures=0 push=yes");
	auditmap_request(&ar, &req, "n", 0, 0);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.ev[0].event, "push-sent");
	assert_null(ev.ev[0].decision);

	msg(&req, "v1 CLAIM user=n step_start=30");
	msg(&resp, "v1 ERR code=replay msg=x");
	auditmap_request(&ar, &req, "n", 0, 0);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_string_equal(ev.ev[0].event, "replay");
	msg(&resp, "v1 OK claimed=yes");
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_string_equal(ev.ev[0].event, "totp-claim");
	assert_true(ev.ev[0].grant);

	/* CHECK under each audit_checks value. */
	msg(&req, "v1 CHECK user=n scope=phi.read");
	auditmap_request(&ar, &req, "n", 0, 0);
	msg(&resp, "v1 OK allowed=yes source=cache");
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_int_equal(ev.n, 0);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_ALL, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.ev[0].event, "check-allow");
	assert_false(ev.ev[0].grant);
	msg(&resp, "v1 OK allowed=no reason=no-rule source=cache");
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_string_equal(ev.ev[0].event, "check-deny");
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_NONE, &ev);
	assert_int_equal(ev.n, 0);
	/* Break-glass is recorded whatever audit_checks says. */
	msg(&resp, "v1 OK allowed=yes source=cache breakglass=phi.read");
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_NONE, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.ev[0].event, "break-glass");
	assert_true(ev.ev[0].grant);

	/* A non-root caller asking about someone else. */
	msg(&req, "v1 UNLOCK user=n");
	msg(&resp, "v1 ERR code=permission msg=root%20only");
	auditmap_request(&ar, &req, NULL, 1000, 0);
	auditmap_events(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_string_equal(ev.ev[0].event, "refused");
	assert_true(ev.ev[0].admin);
}

/* Answers whose client had stopped waiting: no grant, no break-glass,
 * whatever they said. */
static void test_map_late(void **state)
{
	struct pg_msg req, resp;
	struct audit_req ar;
	struct audit_events ev;

	(void)state;
	msg(&req, "v1 AUTHZ user=n service=login");
	auditmap_request(&ar, &req, "n", 0, 0);
	msg(&resp, "v1 OK allowed=yes scopes=phi.all role=r rule=r "
	           "source=fresh age=0 breakglass=phi.all");
	auditmap_late(&ar, &resp, CONF_AUDIT_CHECKS_DENIED, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.ev[0].event, "authz-late");
	assert_string_equal(ev.ev[0].decision, "deny");
	assert_string_equal(ev.ev[0].reason, "late");
	assert_string_equal(ev.ev[0].source, "fresh");
	assert_null(ev.ev[0].scopes);
	assert_false(ev.ev[0].grant);
	assert_false(ev.ev[0].alert);
	msg(&resp, "v1 OK allowed=no reason=directory-unreachable source=none");
	auditmap_late(&ar, &resp, CONF_AUDIT_CHECKS_NONE, &ev);
	assert_string_equal(ev.ev[0].event, "authz-late");
	msg(&req, "v1 CHECK user=n scope=phi.read");
	auditmap_request(&ar, &req, "n", 0, 0);
	msg(&resp, "v1 OK allowed=yes source=fresh");
	auditmap_late(&ar, &resp, CONF_AUDIT_CHECKS_ALL, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.ev[0].event, "check-late");
	assert_string_equal(ev.ev[0].scopes, "phi.read");
	auditmap_late(&ar, &resp, CONF_AUDIT_CHECKS_NONE, &ev);
	assert_int_equal(ev.n, 0);
	msg(&req, "v1 EXPLAIN user=n");
	auditmap_request(&ar, &req, "n", 0, 0);
	auditmap_late(&ar, &resp, CONF_AUDIT_CHECKS_ALL, &ev);
	assert_int_equal(ev.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_line),
	    cmocka_unit_test(test_count),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_chain_ok),
	    cmocka_unit_test(test_modified),
	    cmocka_unit_test(test_removed),
	    cmocka_unit_test(test_inserted),
	    cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_map),
	    cmocka_unit_test(test_map_late),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
