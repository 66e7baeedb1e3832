/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for secret wiping and constant-time comparison
 * (common/secret.c). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "secret.h"

static void test_wipe(void **state)
{
	unsigned char buf[32];
	size_t i;

	memset(buf, 0xa5, sizeof(buf));
	secret_wipe(buf + 8, 16);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], (i >= 8 && i < 24) ? 0 : 0xa5);
	/* Zero length and NULL are no-ops, not crashes. */
	secret_wipe(buf, 0);
	assert_int_equal(buf[0], 0xa5);
	secret_wipe(NULL, 10);
}

static void test_secret_free(void **state)
{
	char *s = strdup("hunter2");

	assert_non_null(s);
	/* valgrind/ASan report a leak or double free if these go wrong. */
	secret_strfree(s);
	secret_strfree(NULL);
	s = malloc(16);
	assert_non_null(s);
	memset(s, 'x', 16);
	secret_free(s, 16);
	secret_free(NULL, 16);
}

static void test_equal(void **state)
{
	unsigned char a[64], b[64];

	memset(a, 0x3c, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_int_equal(secret_equal(a, b, sizeof(a)), 1);
	b[0] ^= 1;
	assert_int_equal(secret_equal(a, b, sizeof(a)), 0);
	b[0] ^= 1;
	b[63] ^= 0x80;
	assert_int_equal(secret_equal(a, b, sizeof(a)), 0);
	/* Only the first len bytes count. */
	assert_int_equal(secret_equal(a, b, 63), 1);
	assert_int_equal(secret_equal(a, b, 0), 1);
	/* Every single-bit difference is seen. */
	for (size_t bit = 0; bit < 8; bit++) {
		memcpy(b, a, sizeof(b));
		b[31] ^= (unsigned char)(1u << bit);
		assert_int_equal(secret_equal(a, b, sizeof(a)), 0);
	}
}

static void test_streq(void **state)
{
	assert_int_equal(secret_streq("123456", "123456"), 1);
	assert_int_equal(secret_streq("", ""), 1);
	assert_int_equal(secret_streq("123456", "123457"), 0);
	assert_int_equal(secret_streq("023456", "123456"), 0);
	/* Different lengths, including a prefix either way round. */
	assert_int_equal(secret_streq("12345", "123456"), 0);
	assert_int_equal(secret_streq("123456", "12345"), 0);
	assert_int_equal(secret_streq("", "a"), 0);
	assert_int_equal(secret_streq("a", ""), 0);
	assert_int_equal(secret_streq("abc", "abcd"), 0);
	/* High bytes compare as bytes. */
	assert_int_equal(secret_streq("\xff", "\xff"), 1);
	assert_int_equal(secret_streq("\xff", "\x7f"), 0);
	assert_int_equal(secret_streq(NULL, "a"), 0);
	assert_int_equal(secret_streq("a", NULL), 0);
	assert_int_equal(secret_streq(NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wipe),
	    cmocka_unit_test(test_secret_free),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_streq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
