/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for daemon/core/verbstats.c: counts, mean and worst time per verb,
 * the STATUS text, and what is not counted. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/core/verbstats.h"
#include "err.h"

static void test_empty(void **ctx)
{
	struct verbstats s;
	char out[64] = "x";

	(void)ctx;
	memset(&s, 0, sizeof(s));
	assert_int_equal(verbstats_format(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_counts_in_enum_order(void **ctx)
{
	struct verbstats s;
	char out[256];

	(void)ctx;
	memset(&s, 0, sizeof(s));
	verbstats_add(&s, PG_VERB_CHECK, 10);
	verbstats_add(&s, PG_VERB_CHECK, 30);
	verbstats_add(&s, PG_VERB_CHECK, 5);
	verbstats_add(&s, PG_VERB_PREAUTH, -7); /* a clock step: 0 */
	/* Not verbs a client sends: never counted. */
	verbstats_add(&s, PG_VERB_OK, 1);
	verbstats_add(&s, PG_VERB_ERR, 1);
	verbstats_add(&s, PG_VERB_UNKNOWN, 1);
	verbstats_add(&s, (enum pg_verb)(VERBSTATS_MAX + 3), 1);
	assert_int_equal(verbstats_format(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "PREAUTH 1 0 0\nCHECK 3 15 30");
}

static void test_too_long(void **ctx)
{
	struct verbstats s;
	char out[20];

	(void)ctx;
	memset(&s, 0, sizeof(s));
	verbstats_add(&s, PG_VERB_PREAUTH, 1);
	verbstats_add(&s, PG_VERB_CHECK, 1);
	/* The first line fits, the second does not: it is left out whole. */
	assert_int_equal(verbstats_format(&s, out, sizeof(out)),
	                 PG_ERR_TOOLONG);
	assert_string_equal(out, "PREAUTH 1 1 1");
	assert_int_equal(verbstats_format(&s, out, 0), PG_ERR_TOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_counts_in_enum_order),
	    cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
