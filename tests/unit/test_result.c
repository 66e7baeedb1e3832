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
	    {PG_ERR_AMBIGUOUS, PAM_AUTH_ERR},
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

/* Every stage: success only for 0, never PAM_IGNORE, unknown denies. */
static void test_stages_fail_closed(void **state)
{
	static const enum result_stage stages[] = {RESULT_AUTH, RESULT_ACCOUNT,
	                                           RESULT_SESSION};
	static const int deny[] = {PAM_AUTH_ERR, PAM_PERM_DENIED,
	                           PAM_SESSION_ERR};
	static const int unknown[] = {PG_ERR_LAST - 1, INT_MIN, 1, INT_MAX};
	size_t s, i;
	int e;

	for (s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
		assert_int_equal(result_to_pam_stage(stages[s], PG_OK),
		                 PAM_SUCCESS);
		for (e = PG_ERR_LAST; e < 0; e++) {
			assert_int_not_equal(result_to_pam_stage(stages[s], e),
			                     PAM_SUCCESS);
			assert_int_not_equal(result_to_pam_stage(stages[s], e),
			                     PAM_IGNORE);
		}
		for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
			assert_int_equal(
			    result_to_pam_stage(stages[s], unknown[i]),
			    deny[s]);
	}
}

/* The account stage: a refusal is PAM_PERM_DENIED, a daemon that cannot
 * be used PAM_AUTHINFO_UNAVAIL, as documented in pam_phiguard(8). */
static void test_account(void **state)
{
	static const struct {
		int err, pam;
	} want[] = {
	    {PG_ERR_AUTH, PAM_PERM_DENIED},
	    {PG_ERR_UNAVAIL, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_TIMEOUT, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_PROTO, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_CRED, PAM_AUTHINFO_UNAVAIL},
	    {PG_ERR_BAD_USER, PAM_USER_UNKNOWN},
	    {PG_ERR_INVAL, PAM_SERVICE_ERR},
	    {PG_ERR_NOMEM, PAM_BUF_ERR},
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(
		    result_to_pam_stage(RESULT_ACCOUNT, want[i].err),
		    want[i].pam);
}

static void test_session(void **state)
{
	int e;

	for (e = PG_ERR_LAST; e < 0; e++)
		assert_int_equal(result_to_pam_stage(RESULT_SESSION, e),
		                 e == PG_ERR_NOMEM ? PAM_BUF_ERR
		                                   : PAM_SESSION_ERR);
}

/* The auth stage keeps its old mapping through result_to_pam(). */
static void test_auth_is_default(void **state)
{
	int e;

	for (e = PG_ERR_LAST - 2; e <= 2; e++)
		assert_int_equal(result_to_pam(e),
		                 result_to_pam_stage(RESULT_AUTH, e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success_only_for_ok),
	    cmocka_unit_test(test_each_code),
	    cmocka_unit_test(test_unknown_denies),
	    cmocka_unit_test(test_stages_fail_closed),
	    cmocka_unit_test(test_account),
	    cmocka_unit_test(test_session),
	    cmocka_unit_test(test_auth_is_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
