/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for a site-mode token record's decisions
 * (daemon/tokens/tokrec.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/tokens/tokrec.h"
#include "err.h"
#include "seal.h"

static const struct tokrec_limits lim = {5, 300, 900};

static void test_oids(void **state)
{
	enum pg_token_alg alg;

	(void)state;
	assert_int_equal(tokrec_alg_from_oid("1.2.840.113549.2.7", 18, &alg),
	                 0);
	assert_int_equal(alg, PG_ALG_SHA1);
	assert_int_equal(tokrec_alg_from_oid("1.2.840.113549.2.9", 18, &alg),
	                 0);
	assert_int_equal(alg, PG_ALG_SHA256);
	assert_int_equal(tokrec_alg_from_oid("1.2.840.113549.2.11", 19, &alg),
	                 0);
	assert_int_equal(alg, PG_ALG_SHA512);
	/* A prefix of a known OID is not that OID. */
	assert_int_equal(tokrec_alg_from_oid("1.2.840.113549.2.1", 18, &alg),
	                 PG_ERR_INVAL);
	assert_int_equal(tokrec_alg_from_oid("SHA1", 4, &alg), PG_ERR_INVAL);
	/* And back (what phiguardctl writes). */
	assert_string_equal(tokrec_alg_oid(PG_ALG_SHA256),
	                    "1.2.840.113549.2.9");
	assert_null(tokrec_alg_oid((enum pg_token_alg)7));
}

static void test_gentime(void **state)
{
	char out[TOKREC_GENTIME_LEN];
	int64_t t;

	(void)state;
	assert_int_equal(tokrec_gentime_parse("20261203101500Z", 15, &t), 0);
	assert_int_equal(t, 1796292900);
	assert_int_equal(tokrec_gentime_parse("20261203101500.25Z", 18, &t), 0);
	assert_int_equal(t, 1796292900);
	tokrec_gentime_format(1796292900, out);
	assert_string_equal(out, "20261203101500Z");
	assert_int_equal(tokrec_gentime_parse("20261203101500", 14, &t),
	                 PG_ERR_INVAL);
	assert_int_equal(tokrec_gentime_parse("2026120310150xZ", 15, &t),
	                 PG_ERR_INVAL);
	assert_int_equal(tokrec_gentime_parse("20261303101500Z", 15, &t),
	                 PG_ERR_INVAL);
}

static void test_lock(void **state)
{
	struct tokrec_state st;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(tokrec_lock_until(&st, &lim, 1000), 0);
	st.has_failures = 1;
	st.failures = 4;
	st.last_failure = 1000;
	assert_int_equal(tokrec_lock_until(&st, &lim, 1000), 0);
	st.failures = 5;
	assert_int_equal(tokrec_lock_until(&st, &lim, 1000), 1900);
	assert_int_equal(tokrec_lock_until(&st, &lim, 1899), 1900);
	assert_int_equal(tokrec_lock_until(&st, &lim, 1900), 0);
}

static void test_next_failures(void **state)
{
	struct tokrec_state st;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(tokrec_next_failures(&st, &lim, 1000), 1);
	st.has_failures = 1;
	st.failures = 3;
	st.last_failure = 1000;
	assert_int_equal(tokrec_next_failures(&st, &lim, 1300), 4);
	/* Older than failure_window: counting starts again. */
	assert_int_equal(tokrec_next_failures(&st, &lim, 1301), 1);
}

static void test_line(void **state)
{
	const unsigned char key[] = "Hello!\xde\xad\xbe\xef";
	struct seal_key sk;
	char out[TOKREC_LINE_MAX], sealed[SEAL_TEXT_MAX + 1], want[512];

	(void)state;
	assert_int_equal(tokrec_line("nurse1", PG_ALG_SHA1, 6, 30, key, 10,
	                             "phone", out, sizeof(out)),
	                 0);
	assert_string_equal(out, "nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP phone");
	/* A description that is no label is left out. */
	assert_int_equal(tokrec_line("nurse1", PG_ALG_SHA256, 8, 60, key, 10,
	                             "my phone", out, sizeof(out)),
	                 0);
	assert_string_equal(out, "nurse1 SHA256 8 60 JBSWY3DPEHPK3PXP");
	/* Sealed text goes as it is, for the module to open. */
	memset(&sk, 7, sizeof(sk));
	assert_int_equal(
	    seal_secret(&sk, "nurse1", key, 10, sealed, sizeof(sealed)), 0);
	assert_int_equal(tokrec_line("nurse1", PG_ALG_SHA1, 6, 30,
	                             (const unsigned char *)sealed,
	                             strlen(sealed), "", out, sizeof(out)),
	                 0);
	snprintf(want, sizeof(want), "nurse1 SHA1 6 30 %s", sealed);
	assert_string_equal(out, want);
	/* A key too short for the token store. */
	assert_int_equal(tokrec_line("nurse1", PG_ALG_SHA1, 6, 30, key, 4, "",
	                             out, sizeof(out)),
	                 PG_ERR_INVAL);
	/* A period the token store does not take. */
	assert_int_equal(tokrec_line("nurse1", PG_ALG_SHA1, 6, 5, key, 10, "",
	                             out, sizeof(out)),
	                 PG_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oids), cmocka_unit_test(test_gentime),
	    cmocka_unit_test(test_lock), cmocka_unit_test(test_next_failures),
	    cmocka_unit_test(test_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
