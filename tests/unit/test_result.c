/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for pam/result.c: every pg_err maps to a deny, only 0 to
 * PAM_SUCCESS, and unknown values fail closed. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <security/pam_modules.h>

#include "err.h"
#include "pam/result.h"

static void test_success_only_for_ok(void **state)
{
	int e;

	assert_int_equal(result_to_pam(PG_OK), PAM_SUCCESS);
	/* No error may ever let a user through or step aside. */
	for (e = PG_ERR_INTERNAL; e >= PG_ERR_LAST; e--) {
		assert_int_not_equal(result_to_pam(e), PAM_SUCCESS);
		assert_int_not_equal(result_to_pam(e), PAM_IGNORE);
	}
}

static void test_each_code(void **state)
{
	static const struct {
		int err;
		int pam;
	} want[] = {
	    {PG_ERR_INTERNAL, PAM_SERVICE_ERR},
	    {PG_ERR_NOMEM, PAM_BUF_ERR},
	    {PG_ERR_INVAL, PAM_SERVICE_ERR},
	    {PG_ERR_TOOLONG, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_PROTO, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_IO, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_TIMEOUT, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_UNAVAIL, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_PERM, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_NOTFOUND, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_UNSAFE_FILE, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_CONFIG, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_LOCKED, PAM_AUTH_ERR},
	    {PG_ERR_REPLAY, PAM_AUTH_ERR},
	    {PG_ERR_UNKNOWN_VERB, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_BAD_USER, PAM_USER_UNKNOWN},
	    {PG_ERR_BUSY, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_VERSION, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_MISSING, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_AUTH, PAM_AUTH_ERR},
	    {PG_ERR_CRED, PAM_AUTHINFO_UNAVAIL},
	};
	size_t i;

	/* The table covers every code err.h defines. */
	assert_int_equal(sizeof(want) / sizeof(want[0]), -PG_ERR_LAST);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(result_to_pam(want[i].err), want[i].pam);
}

static void test_unknown_denies(void **state)
{
	static const int unknown[] = {PG_ERR_LAST - 1, -1000, INT_MIN, 1, 7,
	                              INT_MAX};
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(result_to_pam(unknown[i]), PAM_AUTH_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success_only_for_ok),
	    cmocka_unit_test(test_each_code),
	    cmocka_unit_test(test_unknown_denies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
