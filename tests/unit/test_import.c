/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the pam_oath and google-authenticator importers
 * (daemon/ctl/import.c): every branch, and that no message leaks a secret. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "daemon/ctl/import.h"
#include "testutil.h"
#include "tokens.h"

/* RFC 4226's key, in the forms the two tools store it. */
#define RFC_HEX "3132333435363738393031323334353637383930"
#define RFC_KEY "12345678901234567890"

static const struct import_msg *find_msg(const struct import_msg *m, size_t n,
                                         unsigned line)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].line == line)
			return &m[i];
	}
	return NULL;
}

/* No message may contain any of the given strings (secrets, passwords). */
static void assert_not_leaked(const struct import_result *res,
                              const char *const *secrets)
{
	size_t i;

	for (; *secrets != NULL; secrets++) {
		for (i = 0; i < res->nskips; i++)
			assert_null(strstr(res->skips[i].text, *secrets));
		for (i = 0; i < res->nnotes; i++)
			assert_null(strstr(res->notes[i].text, *secrets));
	}
}

static void test_format_names(void **state)
{
	assert_int_equal(import_format_from_name("pam_oath"), IMPORT_PAM_OATH);
	assert_int_equal(import_format_from_name("google-authenticator"),
	                 IMPORT_GOOGLE_AUTH);
	assert_int_equal(import_format_from_name("phiguard"), IMPORT_PHIGUARD);
	assert_int_equal(import_format_from_name("oath"), -1);
	assert_int_equal(import_format_from_name(""), -1);
}

static void test_oath_time_based(void **state)
{
	static const char text[] =
	    "# pam_oath users\n"
	    "\n"
	    "HOTP/T30 alice - " RFC_HEX "\n"
	    "HOTP/T30/8\tbob\t+\t" RFC_HEX "\t0\t123456\t2026-11-28T20:20:35L\n"
	    "HOTP/T60/7 carol - " RFC_HEX "\r\n"
	    "HOTP/T60 alice - 0011223344556677889900112233445566778899\n";
	struct import_result res = {0};
	const struct pg_token *t;

	assert_int_equal(import_pam_oath(text, strlen(text), &res), 0);
	assert_int_equal(res.nskips, 0);
	assert_int_equal(res.nnotes, 0);
	assert_int_equal(res.nitems, 4);

	t = &res.items[0].tok;
	assert_int_equal(res.items[0].line, 3);
	assert_string_equal(t->user, "alice");
	assert_int_equal(t->alg, PG_ALG_SHA1);
	assert_int_equal(t->digits, 6);
	assert_int_equal(t->period, 30);
	assert_int_equal(t->secret_len, 20);
	assert_memory_equal(t->secret, RFC_KEY, 20);
	assert_string_equal(t->label, "pam_oath");

	/* Trailing COUNTER, LASTOTP and TIMESTAMP are ignored. */
	t = &res.items[1].tok;
	assert_string_equal(t->user, "bob");
	assert_int_equal(t->digits, 8);
	assert_int_equal(t->period, 30);

	/* CRLF line endings are tolerated. */
	t = &res.items[2].tok;
	assert_string_equal(t->user, "carol");
	assert_int_equal(t->digits, 7);
	assert_int_equal(t->period, 60);
	assert_int_equal(t->secret_len, 20);

	/* A user's second line gets a label of its own. */
	t = &res.items[3].tok;
	assert_string_equal(t->user, "alice");
	assert_int_equal(t->period, 60);
	assert_string_equal(t->label, "pam_oath.2");
	assert_int_equal(t->secret[1], 0x11);
	import_result_free(&res);
}

static void test_oath_static_password(void **state)
{
	static const char text[] = "HOTP/T30 dave s3cretPW " RFC_HEX "\n";
	static const char *const secrets[] = {"s3cretPW", RFC_HEX, NULL};
	struct import_result res = {0};

	assert_int_equal(import_pam_oath(text, strlen(text), &res), 0);
	/* Imported, with a note that never repeats the password. */
	assert_int_equal(res.nitems, 1);
	assert_int_equal(res.nskips, 0);
	assert_int_equal(res.nnotes, 1);
	assert_int_equal(res.notes[0].line, 1);
	assert_string_equal(res.notes[0].text,
	                    "user dave: static password not migrated");
	assert_not_leaked(&res, secrets);
	import_result_free(&res);
}

static void test_oath_skips(void **state)
{
	static const char text[] =
	    "HOTP/E erin - " RFC_HEX "\n"        /* 1 */
	    "HOTP frank - " RFC_HEX "\n"         /* 2 */
	    "HOTP/E/8 gina - " RFC_HEX "\n"      /* 3 */
	    "TOTP hank - " RFC_HEX "\n"          /* 4 */
	    "HOTP/T30/9 ivan - " RFC_HEX "\n"    /* 5 */
	    "HOTP/T45 jack - " RFC_HEX "\n"      /* 6 */
	    "HOTP/T30 kate -\n"                  /* 7 */
	    "HOTP/T30 -leo - " RFC_HEX "\n"      /* 8 */
	    "HOTP/T30 mia - 31323Z\n"            /* 9 */
	    "HOTP/T30 ned - 313\n"               /* 10 */
	    "HOTP/T30 olga - 3132333435363738\n" /* 11 */
	    "HOTP/T30 pete - " RFC_HEX RFC_HEX RFC_HEX RFC_HEX
	    "3132333435\n"                    /* 12 */
	    "HOTP/T30/ quinn - " RFC_HEX "\n" /* 13 */
	    "HOTP/T30 rita - " RFC_HEX "\n";  /* 14: imported */
	static const char *const secrets[] = {RFC_HEX, "31323Z",
	                                      "3132333435363738", NULL};
	struct import_result res = {0};
	const struct import_msg *m;
	unsigned line;

	assert_int_equal(import_pam_oath(text, strlen(text), &res), 0);
	assert_int_equal(res.nitems, 1);
	assert_string_equal(res.items[0].tok.user, "rita");
	assert_int_equal(res.items[0].line, 14);
	assert_int_equal(res.nskips, 13);
	for (line = 1; line <= 3; line++) {
		assert_non_null(m = find_msg(res.skips, res.nskips, line));
		assert_non_null(strstr(m->text, "event-based HOTP"));
		assert_non_null(strstr(m->text, "TOTP only"));
	}
	assert_non_null(
	    strstr(find_msg(res.skips, res.nskips, 3)->text, "user gina"));
	for (line = 4; line <= 6; line++)
		assert_non_null(
		    strstr(find_msg(res.skips, res.nskips, line)->text,
		           "unknown token type"));
	assert_non_null(strstr(find_msg(res.skips, res.nskips, 7)->text,
	                       "expected TYPE USER PASSWORD HEXSECRET"));
	/* The bad name is not echoed. */
	assert_string_equal(find_msg(res.skips, res.nskips, 8)->text,
	                    "invalid user name");
	assert_non_null(
	    strstr(find_msg(res.skips, res.nskips, 9)->text, "not valid hex"));
	assert_non_null(
	    strstr(find_msg(res.skips, res.nskips, 10)->text, "not valid hex"));
	assert_non_null(strstr(find_msg(res.skips, res.nskips, 11)->text,
	                       "shorter than 10 bytes"));
	assert_non_null(strstr(find_msg(res.skips, res.nskips, 12)->text,
	                       "longer than 64 bytes"));
	assert_non_null(strstr(find_msg(res.skips, res.nskips, 13)->text,
	                       "unknown token type"));
	assert_not_leaked(&res, secrets);
	import_result_free(&res);
}

static void test_oath_odd_lines(void **state)
{
	struct import_result res = {0};
	char *big;

	/* Empty input, and a file of comments only. */
	assert_int_equal(import_pam_oath("", 0, &res), 0);
	assert_int_equal(res.nitems + res.nskips + res.nnotes, 0);
	assert_int_equal(import_pam_oath("# a\n   \n\t# b", 12, &res), 0);
	assert_int_equal(res.nitems + res.nskips + res.nnotes, 0);

	/* A NUL byte in a line: skipped, the next line still read. */
	assert_int_equal(import_pam_oath("HOTP/T30 a - " RFC_HEX "\0\n"
	                                 "HOTP/T30 b - " RFC_HEX "\n",
	                                 13 + 40 + 2 + 13 + 40 + 1, &res),
	                 0);
	assert_int_equal(res.nskips, 1);
	assert_string_equal(res.skips[0].text, "line contains a NUL byte");
	assert_int_equal(res.nitems, 1);
	assert_string_equal(res.items[0].tok.user, "b");
	import_result_free(&res);

	/* An over-long line. */
	big = malloc(IMPORT_MAX_LINE + 2);
	assert_non_null(big);
	memset(big, 'H', IMPORT_MAX_LINE + 1);
	big[IMPORT_MAX_LINE + 1] = '\n';
	assert_int_equal(import_pam_oath(big, IMPORT_MAX_LINE + 2, &res), 0);
	assert_int_equal(res.nskips, 1);
	assert_string_equal(res.skips[0].text, "line too long");
	free(big);
	import_result_free(&res);
}

static void test_oath_many_lines(void **state)
{
	struct import_result res = {0};
	char *text, line[128];
	size_t i, len = 0;

	/* Enough to make the arrays grow several times. */
	text = malloc(100 * sizeof(line));
	assert_non_null(text);
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, sizeof(line),
		                        "HOTP/T30 u%zu - " RFC_HEX "\n"
		                        "HOTP/E e%zu - " RFC_HEX "\n",
		                        i, i);
	assert_int_equal(import_pam_oath(text, len, &res), 0);
	assert_int_equal(res.nitems, 100);
	assert_int_equal(res.nskips, 100);
	assert_string_equal(res.items[99].tok.user, "u99");
	assert_int_equal(res.skips[99].line, 200);
	free(text);
	import_result_free(&res);
	import_result_free(NULL);
}

static void test_ga_typical(void **state)
{
	static const char text[] = "JBSWY3DPEHPK3PXP\n"
	                           "\" RATE_LIMIT 3 30 1700000000\n"
	                           "\" WINDOW_SIZE 17\n"
	                           "\" DISALLOW_REUSE 56666666\n"
	                           "\" TOTP_AUTH\n"
	                           "\" FROB_NICATE 1\n"
	                           "\" weird-opt\n"
	                           "\" TIME_SKEW 2\n"
	                           "\" RESETTING_TIME_SKEW 1 2\n"
	                           "12345678\n"
	                           "87654321\n"
	                           "\n";
	static const char *const secrets[] = {"12345678", "87654321",
	                                      "JBSWY3DPEHPK3PXP", NULL};
	struct import_result res = {0};
	const struct pg_token *t;
	char err[256] = "";

	assert_int_equal(import_google_auth(text, strlen(text), "nurse1", &res,
	                                    err, sizeof(err)),
	                 0);
	assert_int_equal(res.nitems, 1);
	assert_int_equal(res.nskips, 0);
	t = &res.items[0].tok;
	assert_string_equal(t->user, "nurse1");
	assert_int_equal(t->alg, PG_ALG_SHA1);
	assert_int_equal(t->digits, 6);
	assert_int_equal(t->period, 30);
	assert_string_equal(t->label, "google-auth");
	assert_int_equal(t->secret_len, 10);
	assert_memory_equal(t->secret, "Hello!\xde\xad\xbe\xef", 10);
	/* Each dropped setting and the scratch codes are noted. */
	assert_int_equal(res.nnotes, 8);
	assert_non_null(
	    strstr(find_msg(res.notes, res.nnotes, 2)->text, "RATE_LIMIT"));
	assert_non_null(
	    strstr(find_msg(res.notes, res.nnotes, 3)->text, "WINDOW_SIZE"));
	assert_non_null(
	    strstr(find_msg(res.notes, res.nnotes, 4)->text, "DISALLOW_REUSE"));
	assert_string_equal(find_msg(res.notes, res.nnotes, 6)->text,
	                    "option FROB_NICATE not migrated");
	assert_string_equal(find_msg(res.notes, res.nnotes, 7)->text,
	                    "unrecognised option not migrated");
	assert_non_null(
	    strstr(find_msg(res.notes, res.nnotes, 8)->text, "TIME_SKEW"));
	assert_non_null(strstr(find_msg(res.notes, res.nnotes, 9)->text,
	                       "RESETTING_TIME_SKEW"));
	assert_string_equal(find_msg(res.notes, res.nnotes, 0)->text,
	                    "2 scratch codes not migrated: phiguard has none");
	assert_not_leaked(&res, secrets);
	import_result_free(&res);
}

static void test_ga_step_and_case(void **state)
{
	/* The 16-byte secrets Debian's tool makes; lower case; CRLF. */
	static const char text[] = "pdlsicmbwlv4i5n4wtu25f7xna\r\n"
	                           "\" STEP_SIZE 60\r\n"
	                           "\" TOTP_AUTH\r\n";
	struct import_result res = {0};
	char err[256] = "";

	assert_int_equal(import_google_auth(text, strlen(text), "alice", &res,
	                                    err, sizeof(err)),
	                 0);
	assert_int_equal(res.nitems, 1);
	assert_int_equal(res.items[0].tok.period, 60);
	assert_int_equal(res.items[0].tok.secret_len, 16);
	assert_int_equal(res.nnotes, 0);
	import_result_free(&res);
}

/* Expect the whole file refused with err containing want. */
static void expect_refused(const char *text, const char *user, int want_rc,
                           const char *want)
{
	struct import_result res = {0};
	char err[256] = "";

	assert_int_equal(import_google_auth(text, strlen(text), user, &res, err,
	                                    sizeof(err)),
	                 want_rc);
	assert_int_equal(res.nitems, 0);
	assert_non_null(strstr(err, want));
	/* Never the secret, whatever went wrong. */
	assert_null(strstr(err, "JBSWY3DPEHPK3PXP"));
	import_result_free(&res);
}

static void test_ga_refused(void **state)
{
	expect_refused("JBSWY3DPEHPK3PXP\n\" HOTP_COUNTER 1\n", "alice",
	               PG_ERR_INVAL, "HOTP");
	/* HOTP wins over TOTP_AUTH, as in google-authenticator. */
	expect_refused("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n\" HOTP_COUNTER 4\n",
	               "alice", PG_ERR_INVAL, "TOTP only");
	expect_refused("JBSWY3DPEHPK3PXP\n\" RATE_LIMIT 3 30\n", "alice",
	               PG_ERR_INVAL, "no TOTP_AUTH");
	expect_refused("JBSWY3DPEHPK3PXP\n\" STEP_SIZE 5\n\" TOTP_AUTH\n",
	               "alice", PG_ERR_INVAL, "line 2: STEP_SIZE must be");
	expect_refused("JBSWY3DPEHPK3PXP\n\" STEP_SIZE 30s\n\" TOTP_AUTH\n",
	               "alice", PG_ERR_INVAL, "STEP_SIZE");
	expect_refused("JBSWY3DPEHPK3PXP\n\" STEP_SIZE\n\" TOTP_AUTH\n",
	               "alice", PG_ERR_INVAL, "STEP_SIZE");
	expect_refused("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\nhello there\n", "alice",
	               PG_ERR_INVAL, "line 3: neither an option");
	expect_refused("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n1234567\n", "alice",
	               PG_ERR_INVAL, "line 3");
	expect_refused("JBSWY3DPEHPK3PXP\n\" \n\" TOTP_AUTH\n", "alice",
	               PG_ERR_INVAL, "line 2: empty option");
	expect_refused("not base32!\n\" TOTP_AUTH\n", "alice", PG_ERR_INVAL,
	               "not a Base32 secret");
	expect_refused("JBSWY3DP18\n\" TOTP_AUTH\n", "alice", PG_ERR_INVAL,
	               "not a Base32 secret");
	expect_refused("\n\" TOTP_AUTH\n", "alice", PG_ERR_INVAL,
	               "not a Base32 secret");
	expect_refused("", "alice", PG_ERR_INVAL, "not a Base32 secret");
	expect_refused("JBSWY3DP\n\" TOTP_AUTH\n", "alice", PG_ERR_INVAL,
	               "shorter than 10 bytes");
	expect_refused("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n", "-alice",
	               PG_ERR_BAD_USER, "invalid user name");
	expect_refused("JBSWY3DPEHPK3PXP\n\" TOTP_AUTH\n", "a:b",
	               PG_ERR_BAD_USER, "invalid user name");
}

static void test_ga_long_secret(void **state)
{
	char text[256];
	size_t i;

	/* 65 bytes = 104 Base32 characters: one byte too many. */
	for (i = 0; i < 104; i++)
		text[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[i % 32];
	snprintf(text + 104, sizeof(text) - 104, "\n\" TOTP_AUTH\n");
	expect_refused(text, "alice", PG_ERR_INVAL, "longer than 64 bytes");
}

/* A phiguard token file: every token line as it stands, label included;
 * a bad line skipped with the parser's reason, never its secret. */
static void test_phiguard_file(void **state)
{
	static const char text[] =
	    "# site tokens\n"
	    "nurse1 SHA1 6 30 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ phone\n"
	    "\n"
	    "nurse1 SHA256 8 60 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n"
	    "bad SHA1 6 30 NOT-BASE32-GEZDGNBVGY3T\n";
	static const char *const secrets[] = {"NOT-BASE32-GEZDGNBVGY3T", NULL};
	struct import_result res = {0};

	(void)state;
	assert_int_equal(import_phiguard(text, sizeof(text) - 1, &res), 0);
	assert_int_equal(res.nitems, 2);
	assert_int_equal(res.items[0].line, 2);
	assert_string_equal(res.items[0].tok.user, "nurse1");
	assert_string_equal(res.items[0].tok.label, "phone");
	assert_int_equal(res.items[0].tok.secret_len, 20);
	assert_memory_equal(res.items[0].tok.secret, RFC_KEY, 20);
	assert_int_equal(res.items[1].line, 4);
	assert_int_equal(res.items[1].tok.alg, PG_ALG_SHA256);
	assert_int_equal(res.items[1].tok.digits, 8);
	assert_int_equal(res.items[1].tok.period, 60);
	assert_string_equal(res.items[1].tok.label, "");
	assert_int_equal(res.nskips, 1);
	assert_non_null(find_msg(res.skips, res.nskips, 5));
	assert_not_leaked(&res, secrets);
	import_result_free(&res);
}

static void test_skip_api(void **state)
{
	struct import_result res = {0};

	assert_int_equal(import_skip(&res, 7, "user %s: %s", "x", "why"), 0);
	assert_int_equal(res.nskips, 1);
	assert_int_equal(res.skips[0].line, 7);
	assert_string_equal(res.skips[0].text, "user x: why");
	import_result_free(&res);
	assert_null(res.skips);
	assert_int_equal(res.nskips, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_names),
	    cmocka_unit_test(test_oath_time_based),
	    cmocka_unit_test(test_oath_static_password),
	    cmocka_unit_test(test_oath_skips),
	    cmocka_unit_test(test_oath_odd_lines),
	    cmocka_unit_test(test_oath_many_lines),
	    cmocka_unit_test(test_ga_typical),
	    cmocka_unit_test(test_ga_step_and_case),
	    cmocka_unit_test(test_ga_refused),
	    cmocka_unit_test(test_ga_long_secret),
	    cmocka_unit_test(test_phiguard_file),
	    cmocka_unit_test(test_skip_api),
	};

	return cmocka_run_group_tests(tests, tu_setup_oath, tu_teardown_oath);
}
