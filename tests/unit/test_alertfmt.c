/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for daemon/detect/alertfmt.c: an alert record as a syslog
 * line and as a JSON object. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "daemon/detect/alertfmt.h"
#include "daemon/detect/detect.h"
#include "err.h"
#include "log.h"

#define T0 1700000000 /* an arbitrary "now" */

static void test_format(void **ctx)
{
	struct detect_alert a;
	char buf[ALERTFMT_LINE_MAX], small[40];

	(void)ctx;
	detect_alert_bruteforce(&a, "nurse1", "a b\"c=d%\x01\xc3\xa9", NULL, T0,
	                        5, T0 + 900);
	assert_int_equal(alertfmt_syslog(&a, buf, sizeof(buf)), 0);
	assert_string_equal(
	    buf, "PG-ALERT-BRUTEFORCE kind=bruteforce severity=alert "
	         "time=2023-11-14T22:13:20Z user=nurse1 source_type=rhost "
	         "source=a%20b%22c%3Dd%25%01%C3%A9 "
	         "detail=\"5 failures; locked until 1700000900\"");
	assert_int_equal(alertfmt_json(&a, buf, sizeof(buf)), 0);
	assert_string_equal(
	    buf, "{\"time\":\"2023-11-14T22:13:20Z\","
	         "\"alert\":\"PG-ALERT-BRUTEFORCE\",\"kind\":\"bruteforce\","
	         "\"severity\":\"alert\",\"user\":\"nurse1\","
	         "\"source_type\":\"rhost\","
	         "\"source\":\"a b\\\"c=d%\\u0001\xc3\xa9\","
	         "\"detail\":\"5 failures; locked until 1700000900\"}");
	detect_alert_breakglass(&a, "doc1", NULL, NULL, T0, "x\"y\\z\n");
	assert_int_equal(alertfmt_syslog(&a, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "user=doc1 source_type=- source=- "
	                            "detail=\"break-glass grant: "
	                            "x\\\"y\\\\z\\x0A\""));
	assert_int_equal(alertfmt_json(&a, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\"source\":\"\","));
	assert_non_null(strstr(buf, "x\\\"y\\\\z\\u000a"));
	/* Too small: an error and an empty string, never a cut line. */
	assert_int_equal(alertfmt_syslog(&a, small, sizeof(small)),
	                 PG_ERR_TOOLONG);
	assert_string_equal(small, "");
	assert_int_equal(alertfmt_json(&a, small, sizeof(small)),
	                 PG_ERR_TOOLONG);
	/* The worst case fits ALERTFMT_LINE_MAX. */
	memset(a.user, 'u', sizeof(a.user) - 1);
	memset(a.source, '\x01', sizeof(a.source) - 1);
	memset(a.detail, '"', sizeof(a.detail) - 1);
	assert_int_equal(alertfmt_syslog(&a, buf, sizeof(buf)), 0);
	assert_int_equal(alertfmt_json(&a, buf, sizeof(buf)), 0);
	alertfmt_log(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	};

	log_init("test_alertfmt", 1, PG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
