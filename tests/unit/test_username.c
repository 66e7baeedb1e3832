/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for user name validation (common/username.c). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "username.h"

static void test_valid(void **state)
{
	static const char *const ok[] = {
	    "nurse1",
	    "a",
	    "dr.smith",
	    "first-last",
	    "user_2@example.org",
	    "j\xc3\xbcrgen",            /* U+00FC, 2 bytes */
	    "\xe5\x90\x8d\xe5\x89\x8d", /* 3-byte CJK */
	    "x\xf0\x9f\x98\x80",        /* U+1F600, 4 bytes */
	    "\xed\x9f\xbf",             /* U+D7FF, just below surrogates */
	    "\xee\x80\x80",             /* U+E000, just above */
	    "\xef\xbf\xbf",             /* U+FFFF */
	    "\xf4\x8f\xbf\xbf",         /* U+10FFFF, the last code point */
	    "\xc2\x80",                 /* U+0080, smallest 2-byte */
	    "\xe0\xa0\x80",             /* U+0800, smallest 3-byte */
	    "\xf0\x90\x80\x80",         /* U+10000, smallest 4-byte */
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(username_check(ok[i]), 0);
}

static void test_length(void **state)
{
	char name[PG_USER_MAX + 2];
	size_t i;

	assert_int_equal(username_check(NULL), PG_ERR_BAD_USER);
	assert_int_equal(username_check(""), PG_ERR_BAD_USER);
	memset(name, 'a', PG_USER_MAX);
	name[PG_USER_MAX] = '\0';
	assert_int_equal(username_check(name), 0);
	name[PG_USER_MAX] = 'a';
	name[PG_USER_MAX + 1] = '\0';
	assert_int_equal(username_check(name), PG_ERR_BAD_USER);
	/* 128 two-byte characters are 256 bytes: still fine. */
	for (i = 0; i < PG_USER_MAX; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	name[PG_USER_MAX] = '\0';
	assert_int_equal(username_check(name), 0);
}

static void test_forbidden_bytes(void **state)
{
	static const char *const bad[] = {
	    "a b", "a\tb", "a\nb", "\x01x", "x\x1f", "x\x7f",
	    "a/b", "../x", "a:b",  "a%b",   "a=b",   " a",
	    "a ",  "-x",   "-",    ".x",    ".",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(username_check(bad[i]), PG_ERR_BAD_USER);
	/* '-' and '.' only matter at the start. */
	assert_int_equal(username_check("x-"), 0);
	assert_int_equal(username_check("x."), 0);
	/* '!' (0x21) is the first printable byte and is allowed. */
	assert_int_equal(username_check("!x"), 0);
}

static void test_bad_utf8(void **state)
{
	static const char *const bad[] = {
	    "\x80",             /* lone continuation byte */
	    "a\xbf",            /* continuation after ASCII */
	    "\xc0\x80",         /* overlong NUL */
	    "\xc1\xbf",         /* overlong 2-byte */
	    "\xe0\x80\x80",     /* overlong 3-byte */
	    "\xe0\x9f\xbf",     /* overlong U+07FF */
	    "\xf0\x80\x80\x80", /* overlong 4-byte */
	    "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
	    "\xed\xa0\x80",     /* U+D800, high surrogate */
	    "\xed\xbf\xbf",     /* U+DFFF, low surrogate */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf5\x80\x80\x80", /* lead byte beyond the range */
	    "\xff",             /* never valid */
	    "\xfe",             /* never valid */
	    "\xc3",             /* truncated at the end */
	    "\xe2\x82",         /* truncated 3-byte */
	    "\xf0\x9f\x98",     /* truncated 4-byte */
	    "\xc3\x41",         /* continuation missing */
	    "\xe2\x28\xa1",     /* bad second byte */
	    "\xe2\x82\x28",     /* bad third byte */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(username_check(bad[i]), PG_ERR_BAD_USER);
}

/* The counted form: the same rule on len bytes, a NUL among them refused,
 * and nothing read past len. */
static void test_counted(void **state)
{
	static const char *const names[] = {
	    "nurse1", "a",   "j\xc3\xbcrgen", "-x", ".x",
	    "a b",    "a:b", "\xc3",          "",
	};
	char name[PG_USER_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(username_check_n(names[i], strlen(names[i])),
		                 username_check(names[i]));
	assert_int_equal(username_check_n(NULL, 1), PG_ERR_BAD_USER);
	assert_int_equal(username_check_n("nurse1\0x", 8), PG_ERR_BAD_USER);
	/* The first 6 bytes of a longer buffer, unterminated there. */
	assert_int_equal(username_check_n("nurse1 SHA1", 6), 0);
	/* A 2-byte character cut by len is malformed. */
	assert_int_equal(username_check_n("j\xc3\xbc", 2), PG_ERR_BAD_USER);
	memset(name, 'a', sizeof(name));
	assert_int_equal(username_check_n(name, PG_USER_MAX), 0);
	assert_int_equal(username_check_n(name, PG_USER_MAX + 1),
	                 PG_ERR_BAD_USER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_length),
	    cmocka_unit_test(test_forbidden_bytes),
	    cmocka_unit_test(test_bad_utf8),
	    cmocka_unit_test(test_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
