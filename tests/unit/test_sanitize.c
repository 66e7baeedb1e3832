/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for pam/sanitize.c: nothing that can drive a terminal gets
 * through (CSI, OSC, DCS, 8-bit C1 forms, C0, DEL, bidi overrides),
 * invalid UTF-8 is replaced, valid text is kept, output always fits. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pam/push.h"
#include "sanitize.h"

static const char *san(const char *in, size_t len)
{
	static char out[256];

	sanitize_text(in, len, out, sizeof(out));
	return out;
}

#define S(lit) san(lit, sizeof(lit) - 1)

/* No byte < 0x20, no DEL, no ESC, no C1 (as UTF-8 C2 80..9F). */
static void assert_clean(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		if (*p == 0xc2)
			assert_true(p[1] < 0x80 || p[1] > 0x9f);
	}
}

static void test_plain(void **state)
{
	assert_string_equal(S("Pushed a login request to your device..."),
	                    "Pushed a login request to your device...");
	assert_string_equal(S("Caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x93\xb1"),
	                    "Caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x93\xb1");
	assert_string_equal(S(""), "");
	assert_string_equal(S("  a \t\r\n b  "), "a b");
}

static void test_escape_sequences(void **state)
{
	/* CSI: colours, clear screen, cursor moves, private modes. */
	assert_string_equal(S("\x1b[31mred\x1b[0m"), "red");
	assert_string_equal(S("a\x1b[2J\x1b[1;1Hb"), "ab");
	assert_string_equal(S("\x1b[?1049hx\x1b[?25l"), "x");
	/* OSC: window title, hyperlinks; BEL or ST terminated. */
	assert_string_equal(S("\x1b]0;owned\x07ok"), "ok");
	assert_string_equal(S("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\"),
	                    "link");
	/* DCS, APC, PM, SOS up to ST. */
	assert_string_equal(S("\x1bP1$r0m\x1b\\x"), "x");
	assert_string_equal(S("\x1b_apc\x1b\\y\x1b^pm\x1b\\z\x1bXsos\x1b\\"),
	                    "yz");
	/* Two-byte sequences, with intermediates. */
	assert_string_equal(S("a\x1b"
	                      "cb\x1b(0c\x1b#8d"),
	                    "abcd");
	/* An unterminated string eats the rest: less text, never control. */
	assert_string_equal(S("ok\x1b]0;never ends"), "ok");
	/* A lone ESC at the end. */
	assert_string_equal(S("end\x1b"), "end");
}

static void test_c1_forms(void **state)
{
	/* 8-bit CSI / OSC as UTF-8 code points U+009B / U+009D. */
	assert_string_equal(S("a\xc2\x9b"
	                      "31mb"),
	                    "ab");
	assert_string_equal(S("a\xc2\x9d"
	                      "0;t\xc2\x9c"
	                      "b"),
	                    "ab");
	assert_string_equal(S("a\xc2\x85\xc2\x8d"
	                      "b"),
	                    "ab");
	/* Raw 8-bit C1 bytes are invalid UTF-8: '?', never passed on. */
	assert_string_equal(S("a\x9b"
	                      "b"),
	                    "a?b");
}

static void test_controls(void **state)
{
	char all[64];
	size_t i;

	for (i = 0; i < 32; i++)
		all[i] = (char)(i + 1 == 32 ? 0x7f : i + 1);
	assert_clean(san(all, 32));
	/* Backspace tricks, NUL inside the text. */
	assert_string_equal(S("approve\b\b\b\b\b\b\bdeny   "), "approvedeny");
	assert_string_equal(san("a\0b", 3), "ab");
	/* Bidi overrides (trojan-source style). */
	assert_string_equal(S("x\xe2\x80\xaeyz\xe2\x81\xa6w"), "xyzw");
}

static void test_invalid_utf8(void **state)
{
	assert_string_equal(S("\xc0\xaf"), "??");           /* overlong '/' */
	assert_string_equal(S("\xed\xa0\x80"), "???");      /* surrogate */
	assert_string_equal(S("\xf4\x90\x80\x80"), "????"); /* > U+10FFFF */
	assert_string_equal(S("ab\xe2\x82"), "ab??");       /* truncated */
	assert_string_equal(S("\xff\xfe"), "??");
	/* An ESC hidden in an overlong form is not an ESC either way. */
	assert_clean(S("\xc0\x9b[31m"));
}

static void test_fits(void **state)
{
	char out[6], big[1000];
	size_t n, i;

	/* Cut at a character boundary: never half a UTF-8 sequence. */
	n = sanitize_text("ab\xe2\x9c\x93\xe2\x9c\x93", 8, out, sizeof(out));
	assert_int_equal(n, 5);
	assert_string_equal(out, "ab\xe2\x9c\x93");
	n = sanitize_text("abc", 3, out, 1);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	/* Random bytes: always clean. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)((i * 151 + 7) % 256);
	assert_clean(san(big, sizeof(big)));
}

static void test_find_number(void **state)
{
	char num[8] = "";

	assert_true(push_find_number(
	    "Please confirm the authentication on your mobile device! "
	    "Please press: 42",
	    num, sizeof(num)));
	assert_string_equal(num, "42");
	assert_true(push_find_number("Please press: A", num, sizeof(num)));
	assert_string_equal(num, "A");
	assert_true(push_find_number("PLEASE PRESS: 07.", num, sizeof(num)));
	assert_string_equal(num, "07");
	assert_false(push_find_number("no numbers here", num, sizeof(num)));
	assert_false(push_find_number("Please press: 12345", num, sizeof(num)));
	assert_false(push_find_number("Please press: ", num, sizeof(num)));
	/* Free text is not a number format (issue 11): these once gave
	 * "on", "7" and "9". */
	strcpy(num, "x");
	assert_false(push_find_number("The number on file was updated.", num,
	                              sizeof(num)));
	assert_false(push_find_number("pick number 7 now", num, sizeof(num)));
	assert_false(push_find_number("Wrong number 9", num, sizeof(num)));
	/* Only the phrase itself, not the end of a longer word. */
	assert_false(push_find_number("Displease press: 42", num, sizeof(num)));
	assert_string_equal(num, "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_escape_sequences),
	    cmocka_unit_test(test_c1_forms),
	    cmocka_unit_test(test_controls),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_fits),
	    cmocka_unit_test(test_find_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
