/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the parts of pam/http.c that need no network: Retry-After
 * (delta seconds and HTTP dates), percent-encoding, the refusal to run with
 * SSLKEYLOGFILE set, and requests that must fail before any connection
 * (a passed deadline, a non-https URL). Network behaviour is covered by the
 * integration tests against the push emulator. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "pam/http.h"
#include "timeutil.h"

static void test_retry_after(void **state)
{
	time_t now = 1700000000;

	assert_int_equal(http_parse_retry_after("2", now), 2);
	assert_int_equal(http_parse_retry_after(" 120\r\n", now), 120);
	assert_int_equal(http_parse_retry_after("0", now), 0);
	/* An HTTP date: relative to now; in the past means now. */
	assert_int_equal(
	    http_parse_retry_after("Tue, 14 Nov 2023 22:13:25 GMT", now), 5);
	assert_int_equal(
	    http_parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now), 0);
	/* Junk, negative, absurd: unusable. */
	assert_int_equal(http_parse_retry_after("soon", now), -1);
	assert_int_equal(http_parse_retry_after("-5", now), -1);
	assert_int_equal(http_parse_retry_after("5s", now), -1);
	assert_int_equal(http_parse_retry_after("99999999999999999999", now),
	                 -1);
	assert_int_equal(http_parse_retry_after("", now), -1);
}

static void test_urlencode(void **state)
{
	char out[64];
	struct strbuf sb;

	strbuf_init(&sb, out, sizeof(out));
	http_urlencode(&sb, "a b/c~d", 7);
	assert_int_equal(strbuf_finish(&sb), 0);
	assert_string_equal(out, "a%20b%2Fc~d");
	assert_int_equal(strbuf_len(&sb), 11);
	/* Appends. */
	http_urlencode(&sb, "\xff", 1);
	assert_int_equal(strbuf_finish(&sb), 0);
	assert_string_equal(out, "a%20b%2Fc~d%FF");
	strbuf_init(&sb, out, 4);
	http_urlencode(&sb, "abcd", 4);
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
}

static void test_keylog_refused(void **state)
{
	const char *reason = NULL;

	setenv("SSLKEYLOGFILE", "/tmp/keys", 1);
	assert_int_equal(http_global_init(&reason), PG_ERR_CONFIG);
	assert_string_equal(reason, HTTP_R_UNSAFE_ENV);
	unsetenv("SSLKEYLOGFILE");
	assert_int_equal(http_global_init(&reason), 0);
	/* Once is enough, twice is harmless. */
	assert_int_equal(http_global_init(&reason), 0);
}

static void test_no_network_failures(void **state)
{
	struct http_cfg cfg = {"", "", 1000};
	struct http_client c;
	struct http_resp resp;
	struct http_req req;
	const char *reason = NULL;
	int r;

	assert_int_equal(http_global_init(&reason), 0);
	assert_int_equal(http_client_init(&c, &cfg), 0);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = "GET";
	req.url = "https://127.0.0.1:1/";
	/* A deadline already passed: no request at all. */
	assert_int_equal(
	    http_request(&c, &req, time_mono_ms() - 1, &resp, &reason),
	    PG_ERR_TIMEOUT);
	assert_string_equal(reason, HTTP_R_TIMEOUT);
	/* Plain http is not a protocol this client speaks. */
	req.url = "http://127.0.0.1:1/";
	r = http_request(&c, &req, time_mono_ms() + 2000, &resp, &reason);
	assert_int_equal(r, PG_ERR_UNAVAIL);
	assert_string_equal(reason, HTTP_R_UNREACHABLE);
	assert_non_null(strstr(c.detail, "Protocol"));
	assert_null(resp.body);
	http_client_done(&c);
	http_client_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_urlencode),
	    cmocka_unit_test(test_keylog_refused),
	    cmocka_unit_test(test_no_network_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
