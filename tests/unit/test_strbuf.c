/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/strbuf.c: the bounded builder, the key=value and
 * JSON escaping rules. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "strbuf.h"

static void test_exact_boundary(void **state)
{
	struct strbuf sb;
	char buf[6];

	(void)state;
	/* 5 bytes and the NUL fit in 6. */
	strbuf_init(&sb, buf, sizeof(buf));
	strbuf_puts(&sb, "abc");
	strbuf_put(&sb, "de", 2);
	assert_int_equal(strbuf_finish(&sb), 0);
	assert_string_equal(buf, "abcde");
	assert_int_equal(strbuf_len(&sb), 5);
	/* One more byte does not. */
	strbuf_putc(&sb, 'f');
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
	assert_string_equal(buf, "abcde");
}

static void test_overflow_remembered(void **state)
{
	struct strbuf sb;
	char buf[8];

	(void)state;
	strbuf_init(&sb, buf, sizeof(buf));
	strbuf_puts(&sb, "ab");
	/* A piece that does not fit is not written, not even in part... */
	strbuf_puts(&sb, "cdefghij");
	assert_string_equal(buf, "ab");
	/* ...and a later one that would fit is dropped too. */
	strbuf_putc(&sb, 'x');
	strbuf_put_u64(&sb, 1);
	strbuf_printf(&sb, "%d", 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
	/* Going back keeps the overflow. */
	strbuf_truncate(&sb, 1);
	assert_string_equal(buf, "a");
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
}

static void test_zero_and_one(void **state)
{
	struct strbuf sb;
	char one[1] = {'z'};

	(void)state;
	strbuf_init(&sb, NULL, 0);
	strbuf_puts(&sb, "");
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
	strbuf_init(&sb, one, sizeof(one));
	assert_int_equal(one[0], '\0');
	strbuf_puts(&sb, "");
	assert_int_equal(strbuf_finish(&sb), 0);
	strbuf_putc(&sb, 'a');
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
	assert_int_equal(one[0], '\0');
}

static void test_numbers(void **state)
{
	struct strbuf sb;
	char buf[128];

	(void)state;
	strbuf_init(&sb, buf, sizeof(buf));
	strbuf_put_u64(&sb, 0);
	strbuf_putc(&sb, ' ');
	strbuf_put_u64(&sb, UINT64_MAX);
	strbuf_putc(&sb, ' ');
	strbuf_put_i64(&sb, -42);
	strbuf_putc(&sb, ' ');
	strbuf_put_i64(&sb, INT64_MIN);
	strbuf_putc(&sb, ' ');
	strbuf_put_i64(&sb, INT64_MAX);
	strbuf_printf(&sb, " %s=%03d", "k", 7);
	assert_int_equal(strbuf_finish(&sb), 0);
	assert_string_equal(buf, "0 18446744073709551615 -42 "
	                         "-9223372036854775808 9223372036854775807 "
	                         "k=007");
	/* A printf piece that does not fit leaves no trace. */
	strbuf_init(&sb, buf, 4);
	strbuf_printf(&sb, "%s", "abcd");
	assert_string_equal(buf, "");
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
}

static void test_kv(void **state)
{
	struct strbuf sb;
	char buf[256];

	(void)state;
	strbuf_init(&sb, buf, sizeof(buf));
	strbuf_kv(&sb, "a", "x y\"z=%\x01\x7f\xc3\xa9\\~!", SIZE_MAX);
	strbuf_kv(&sb, "b", "", SIZE_MAX);
	strbuf_kv(&sb, "c", NULL, SIZE_MAX);
	strbuf_kv(&sb, "d", "abcdef", 3);
	assert_int_equal(strbuf_finish(&sb), 0);
	assert_string_equal(buf, " a=x%20y%22z%3D%25%01%7F%C3%A9\\~!"
	                         " b=- c=- d=abc");
	/* An escape is one piece: never cut in the middle. */
	strbuf_init(&sb, buf, 4);
	strbuf_kv_escape(&sb, "a\n", 2);
	assert_string_equal(buf, "a");
	assert_int_equal(strbuf_finish(&sb), PG_ERR_TOOLONG);
}

static const char *json(const char *s, size_t max)
{
	static char buf[256];
	struct strbuf sb;

	strbuf_init(&sb, buf, sizeof(buf));
	strbuf_json_escape(&sb, s, max);
	assert_int_equal(strbuf_finish(&sb), 0);
	return buf;
}

static void test_json_controls_quotes(void **state)
{
	struct strbuf sb;
	char buf[64];

	(void)state;
	assert_string_equal(json("a\"b\\c/d", SIZE_MAX), "a\\\"b\\\\c/d");
	assert_string_equal(json("\x01\n\x1f\x7f", SIZE_MAX),
	                    "\\u0001\\u000a\\u001f\\u007f");
	strbuf_init(&sb, buf, sizeof(buf));
	strbuf_json_str(&sb, "x\ty");
	assert_int_equal(strbuf_finish(&sb), 0);
	assert_string_equal(buf, "\"x\\u0009y\"");
}

static void test_json_utf8(void **state)
{
	(void)state;
	/* Valid 2-, 3- and 4-byte sequences pass through. */
	assert_string_equal(
	    json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", SIZE_MAX),
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(json("\xf4\x8f\xbf\xbf", SIZE_MAX),
	                    "\xf4\x8f\xbf\xbf");
	/* Invalid bytes: one U+FFFD each. */
	assert_string_equal(json("a\xff"
	                         "b",
	                         SIZE_MAX),
	                    "a\xef\xbf\xbd"
	                    "b");
	assert_string_equal(json("\x80", SIZE_MAX), "\xef\xbf\xbd");
	/* Overlong, surrogate, above U+10FFFF, cut sequence. */
	assert_string_equal(json("\xc0\xaf", SIZE_MAX),
	                    "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(json("\xed\xa0\x80", SIZE_MAX),
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(json("\xf4\x90\x80\x80", SIZE_MAX),
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	                    "\xef\xbf\xbd");
	assert_string_equal(json("\xf0\x9f\x98", SIZE_MAX),
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_json_budget(void **state)
{
	(void)state;
	/* The cut falls before the first character that does not fit. */
	assert_string_equal(json("ab\xf0\x9f\x98\x80", 5), "ab");
	assert_string_equal(json("ab\xf0\x9f\x98\x80", 6),
	                    "ab\xf0\x9f\x98\x80");
	assert_string_equal(json("a\"", 2), "a");
	assert_string_equal(json("a\x01", 6), "a");
	assert_string_equal(json("a\x01", 7), "a\\u0001");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_boundary),
	    cmocka_unit_test(test_overflow_remembered),
	    cmocka_unit_test(test_zero_and_one),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_kv),
	    cmocka_unit_test(test_json_controls_quotes),
	    cmocka_unit_test(test_json_utf8),
	    cmocka_unit_test(test_json_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
