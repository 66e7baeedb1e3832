/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/ldapescape.c: RFC 4515 filter value escaping. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "ldapescape.h"

/* Escape a NUL-terminated string into a generous buffer. */
static const char *esc(const char *in)
{
	static char buf[256];

	assert_int_equal(
	    ldapescape_filter_value(in, strlen(in), buf, sizeof buf), 0);
	return buf;
}

static void test_plain_copied(void **state)
{
	(void)state;
	assert_string_equal(esc("nurse1"), "nurse1");
	assert_string_equal(esc("uid=nurse1,ou=people,dc=mercy,dc=example"),
	                    "uid=nurse1,ou=people,dc=mercy,dc=example");
	assert_string_equal(esc(""), "");
}

static void test_specials(void **state)
{
	(void)state;
	assert_string_equal(esc("*"), "\\2a");
	assert_string_equal(esc("("), "\\28");
	assert_string_equal(esc(")"), "\\29");
	assert_string_equal(esc("\\"), "\\5c");
	assert_string_equal(esc("nurse*"), "nurse\\2a");
	/* The classic injection: it must stay one assertion value. */
	assert_string_equal(esc("nurse1)(uid=*"), "nurse1\\29\\28uid=\\2a");
	assert_string_equal(esc("cn=triage (night)*,ou=groups"),
	                    "cn=triage \\28night\\29\\2a,ou=groups");
	/* A DN's own escapes are escaped again, not interpreted. */
	assert_string_equal(esc("uid=temp\\5C,dc=x"), "uid=temp\\5c5C,dc=x");
}

static void test_nul_and_controls(void **state)
{
	char out[64];
	const char in[] = {'a', '\0', 'b', '\n', '\r', '\t', 0x1f, 0x7f, 'c'};

	(void)state;
	assert_int_equal(
	    ldapescape_filter_value(in, sizeof in, out, sizeof out), 0);
	assert_string_equal(out, "a\\00b\\0a\\0d\\09\\1f\\7fc");
}

static void test_utf8_kept(void **state)
{
	(void)state;
	/* "Zoë Müller", and a 4-byte sequence: high bytes pass through. */
	assert_string_equal(esc("Zo\xc3\xab M\xc3\xbcller"),
	                    "Zo\xc3\xab M\xc3\xbcller");
	assert_string_equal(esc("\xf0\x9f\x98\x80*"), "\xf0\x9f\x98\x80\\2a");
}

static unsigned hexval(char c)
{
	assert_true((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* Every byte value: the output holds no unescaped special, and decoding
 * it gives the input back. */
static void test_all_bytes_roundtrip(void **state)
{
	char in[256], out[LDAPESCAPE_SIZE(256)], back[256];
	size_t i, o, n = 0;

	(void)state;
	for (i = 0; i < sizeof in; i++)
		in[i] = (char)i;
	assert_int_equal(
	    ldapescape_filter_value(in, sizeof in, out, sizeof out), 0);
	for (o = 0; out[o] != '\0'; o++) {
		unsigned char c = (unsigned char)out[o];

		assert_true(c != '*' && c != '(' && c != ')');
		assert_true(c >= 0x20 && c != 0x7f);
		if (c == '\\') {
			back[n++] = (char)(hexval(out[o + 1]) << 4 |
			                   hexval(out[o + 2]));
			o += 2;
		} else {
			back[n++] = (char)c;
		}
	}
	assert_int_equal(n, sizeof in);
	assert_memory_equal(back, in, sizeof in);
	/* 33 escaped below 0x20 and 0x7f, plus * ( ) \ : 4 more. */
	assert_int_equal(strlen(out), 256 + 2 * (32 + 1 + 4));
}

static void test_exact_fit_and_too_small(void **state)
{
	char out[16];

	(void)state;
	/* "a*" needs "a\2a" + NUL = 5 bytes. */
	assert_int_equal(ldapescape_filter_value("a*", 2, out, 5), 0);
	assert_string_equal(out, "a\\2a");
	memset(out, 'x', sizeof out);
	assert_int_equal(ldapescape_filter_value("a*", 2, out, 4),
	                 PG_ERR_TOOLONG);
	assert_string_equal(out, "");
	/* Plain bytes: "abc" needs 4. */
	assert_int_equal(ldapescape_filter_value("abc", 3, out, 4), 0);
	assert_int_equal(ldapescape_filter_value("abc", 3, out, 3),
	                 PG_ERR_TOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(ldapescape_filter_value("", 0, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(ldapescape_filter_value("", 0, out, 0),
	                 PG_ERR_TOOLONG);
	/* LDAPESCAPE_SIZE is always enough, even when every byte escapes. */
	assert_int_equal(
	    ldapescape_filter_value("*()\\", 4, out, LDAPESCAPE_SIZE(4)), 0);
	assert_string_equal(out, "\\2a\\28\\29\\5c");
}

static void test_bad_args(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(ldapescape_filter_value(NULL, 1, out, sizeof out),
	                 PG_ERR_INVAL);
	assert_int_equal(ldapescape_filter_value("a", 1, NULL, 8),
	                 PG_ERR_INVAL);
	assert_int_equal(ldapescape_filter_value(NULL, 0, out, sizeof out), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_copied),
	    cmocka_unit_test(test_specials),
	    cmocka_unit_test(test_nul_and_controls),
	    cmocka_unit_test(test_utf8_kept),
	    cmocka_unit_test(test_all_bytes_roundtrip),
	    cmocka_unit_test(test_exact_fit_and_too_small),
	    cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
