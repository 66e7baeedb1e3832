/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the TOTP token store (common/tokens.c): every field and
 * its errors, the per-user collection, formatting and loading. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "err.h"
#include "seal.h"
#include "tokens.h"

/* RFC 6238 test key "12345678901234567890" in Base32. */
#define RFC_B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define RFC_KEY "12345678901234567890"
/* 64 bytes 0x00..0x3f, the largest secret allowed. */
#define B32_64                                                                 \
	"AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSAIJCEMSCKJRHFAUS" \
	"UKZMFUXC6MBRGIZTINJWG44DSOR3HQ6T4PY="
/* 65 bytes 0x00..0x40: one too many. */
#define B32_65                                                                 \
	"AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPSAIJCEMSCKJRHFAUS" \
	"UKZMFUXC6MBRGIZTINJWG44DSOR3HQ6T4P2A"

static struct pg_token tok;
static char err[256];

static int parse(const char *line)
{
	err[0] = '\0';
	return tokens_parse_line(line, &tok, err, sizeof(err));
}

static void expect_bad(const char *line, const char *reason)
{
	assert_int_equal(parse(line), PG_ERR_INVAL);
	assert_string_equal(err, reason);
}

static void test_alg_names(void **state)
{
	assert_string_equal(tokens_alg_name(PG_ALG_SHA1), "SHA1");
	assert_string_equal(tokens_alg_name(PG_ALG_SHA256), "SHA256");
	assert_string_equal(tokens_alg_name(PG_ALG_SHA512), "SHA512");
	assert_null(tokens_alg_name((enum pg_token_alg)3));
	assert_int_equal(tokens_alg_from_name("SHA1"), PG_ALG_SHA1);
	assert_int_equal(tokens_alg_from_name("SHA256"), PG_ALG_SHA256);
	assert_int_equal(tokens_alg_from_name("sha512"), PG_ALG_SHA512);
	assert_int_equal(tokens_alg_from_name("MD5"), -1);
	assert_int_equal(tokens_alg_from_name("SHA"), -1);
	assert_int_equal(tokens_alg_from_name(""), -1);
	assert_int_equal(tokens_alg_from_name(NULL), -1);
}

static void test_parse_valid(void **state)
{
	assert_int_equal(parse("nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP phone"), 0);
	assert_string_equal(tok.user, "nurse1");
	assert_int_equal(tok.alg, PG_ALG_SHA1);
	assert_int_equal(tok.digits, 6);
	assert_int_equal(tok.period, 30);
	assert_int_equal(tok.secret_len, 10);
	assert_memory_equal(tok.secret, "Hello!\xde\xad\xbe\xef", 10);
	assert_string_equal(tok.label, "phone");

	/* Tabs and runs of blanks separate; the label is optional. */
	assert_int_equal(parse("  dr.who\tSHA256  8\t60 " RFC_B32 "  \r"), 0);
	assert_string_equal(tok.user, "dr.who");
	assert_int_equal(tok.alg, PG_ALG_SHA256);
	assert_int_equal(tok.digits, 8);
	assert_int_equal(tok.period, 60);
	assert_int_equal(tok.secret_len, 20);
	assert_memory_equal(tok.secret, RFC_KEY, 20);
	assert_string_equal(tok.label, "");

	assert_int_equal(parse("u SHA512 7 30 " RFC_B32), 0);
	assert_int_equal(tok.alg, PG_ALG_SHA512);
	assert_int_equal(tok.digits, 7);
}

static void test_comments(void **state)
{
	static const char *const skip[] = {
	    "",          "   ",           "\t",
	    "# comment", "   # indented", "#nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP",
	};
	size_t i;

	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		assert_int_equal(parse(skip[i]), PG_ERR_NOTFOUND);
}

static void test_field_count(void **state)
{
	expect_bad("nurse1 SHA1 6 30",
	           "missing fields (want USER ALGORITHM DIGITS PERIOD SECRET "
	           "[LABEL])");
	expect_bad("nurse1", "missing fields (want USER ALGORITHM DIGITS "
	                     "PERIOD SECRET [LABEL])");
	expect_bad("nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP my phone",
	           "too many fields");
}

static void test_bad_user(void **state)
{
	char line[512];

	expect_bad("-x SHA1 6 30 JBSWY3DPEHPK3PXP", "bad user name");
	expect_bad("a/b SHA1 6 30 JBSWY3DPEHPK3PXP", "bad user name");
	expect_bad("\xc3 SHA1 6 30 JBSWY3DPEHPK3PXP", "bad user name");
	memset(line, 'u', PG_USER_MAX);
	snprintf(line + PG_USER_MAX, sizeof(line) - PG_USER_MAX,
	         " SHA1 6 30 JBSWY3DPEHPK3PXP");
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(tok.user), PG_USER_MAX);
	memset(line, 'u', PG_USER_MAX + 1);
	snprintf(line + PG_USER_MAX + 1, sizeof(line) - PG_USER_MAX - 1,
	         " SHA1 6 30 JBSWY3DPEHPK3PXP");
	expect_bad(line, "bad user name");
}

static void test_bad_alg(void **state)
{
	const char *want = "bad algorithm (want SHA1, SHA256 or SHA512)";

	expect_bad("u MD5 6 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA384 6 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1024 6 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1SHA1SHA1 6 30 JBSWY3DPEHPK3PXP", want);
}

static void test_digits(void **state)
{
	const char *want = "bad digits (want 6..8)";

	assert_int_equal(parse("u SHA1 6 30 JBSWY3DPEHPK3PXP"), 0);
	assert_int_equal(parse("u SHA1 8 30 JBSWY3DPEHPK3PXP"), 0);
	expect_bad("u SHA1 5 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 9 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 0 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 -6 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 +6 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 6a 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 six 30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 0006 30 JBSWY3DPEHPK3PXP", want);
}

static void test_period(void **state)
{
	const char *want = "bad period (want 10..300)";

	assert_int_equal(parse("u SHA1 6 10 JBSWY3DPEHPK3PXP"), 0);
	assert_int_equal(tok.period, 10);
	assert_int_equal(parse("u SHA1 6 300 JBSWY3DPEHPK3PXP"), 0);
	assert_int_equal(tok.period, 300);
	expect_bad("u SHA1 6 9 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 6 301 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 6 0 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 6 -30 JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 6 30s JBSWY3DPEHPK3PXP", want);
	expect_bad("u SHA1 6 4294967326 JBSWY3DPEHPK3PXP", want);
}

static void test_secret(void **state)
{
	/* Lower case and padding are accepted and decode the same. */
	assert_int_equal(parse("u SHA1 6 30 jbswy3dpehpk3pxp"), 0);
	assert_memory_equal(tok.secret, "Hello!\xde\xad\xbe\xef", 10);
	assert_int_equal(parse("u SHA1 6 30 " B32_64), 0);
	assert_int_equal(tok.secret_len, 64);
	assert_int_equal(tok.secret[63], 0x3f);
	/* The same 64 bytes without the padding. */
	assert_int_equal(
	    parse("u SHA1 6 30 AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKR"
	          "MFYYDENBWHA5DYPSAIJCEMSCKJRHFAUSUKZMFUXC6MBRG"
	          "IZTINJWG44DSOR3HQ6T4PY"),
	    0);
	assert_int_equal(tok.secret_len, 64);
	/* 16 bytes, padded and unpadded. */
	assert_int_equal(parse("u SHA1 6 30 GAYTEMZUGU3DOOBZMFRGGZDFMY======"),
	                 0);
	assert_memory_equal(tok.secret, "0123456789abcdef", 16);
	assert_int_equal(parse("u SHA1 6 30 GAYTEMZUGU3DOOBZMFRGGZDFMY"), 0);
	assert_int_equal(tok.secret_len, 16);

	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PX1", "bad base32 secret");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PX8", "bad base32 secret");
	expect_bad("u SHA1 6 30 JBSWY3DP=HPK3PXP", "bad base32 secret");
	expect_bad("u SHA1 6 30 JBSWY3D-EHPK3PXP", "bad base32 secret");
	/* Incomplete padding, and lengths no byte count encodes to. */
	expect_bad("u SHA1 6 30 GAYTEMZUGU3DOOBZMFRGGZDFMY==",
	           "bad base32 length");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PXPA", "bad base32 length");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3P", "bad base32 length");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PXPAAA", "bad base32 length");
	/* 9 and 65 bytes: one outside each bound. */
	expect_bad("u SHA1 6 30 GEZDGNBVGY3TQOI=",
	           "secret must be 10..64 bytes (is 9)");
	expect_bad("u SHA1 6 30 " B32_65,
	           "secret must be 10..64 bytes (is 65)");
	expect_bad("u SHA1 6 30 " B32_65 "AA",
	           "secret too long (max 64 bytes)");
	assert_int_equal(parse("u SHA1 6 30 GEZDGNBVGY3TQOJQ"), 0);
	assert_int_equal(tok.secret_len, 10);
}

static void test_label(void **state)
{
	char line[256];

	assert_int_equal(parse("u SHA1 6 30 JBSWY3DPEHPK3PXP "
	                       "Az09._@+-"),
	                 0);
	assert_string_equal(tok.label, "Az09._@+-");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PXP ph/one",
	           "bad label (1..64 of A-Z a-z 0-9 . _ @ + -)");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PXP t\xc3\xa9l",
	           "bad label (1..64 of A-Z a-z 0-9 . _ @ + -)");
	expect_bad("u SHA1 6 30 JBSWY3DPEHPK3PXP a=b",
	           "bad label (1..64 of A-Z a-z 0-9 . _ @ + -)");
	snprintf(line, sizeof(line), "u SHA1 6 30 JBSWY3DPEHPK3PXP ");
	memset(line + strlen(line), 'L', PG_TOKEN_MAX_LABEL);
	line[29 + PG_TOKEN_MAX_LABEL] = '\0';
	assert_int_equal(parse(line), 0);
	assert_int_equal(strlen(tok.label), PG_TOKEN_MAX_LABEL);
	strcat(line, "L");
	expect_bad(line, "bad label (1..64 of A-Z a-z 0-9 . _ @ + -)");
}

static void test_wiped_on_error(void **state)
{
	memset(&tok, 0xaa, sizeof(tok));
	/* Fails at the label, after the secret has been decoded. */
	assert_int_equal(parse("u SHA1 6 30 JBSWY3DPEHPK3PXP bad/label"),
	                 PG_ERR_INVAL);
	assert_true(tu_all_zero(&tok, sizeof(tok)));
	memset(&tok, 0xaa, sizeof(tok));
	assert_int_equal(parse("# comment"), PG_ERR_NOTFOUND);
	assert_true(tu_all_zero(&tok, sizeof(tok)));
	/* err may be absent. */
	assert_int_equal(tokens_parse_line("u SHA1 5 30 X", &tok, NULL, 0),
	                 PG_ERR_INVAL);
}

static const char store[] = "# phiguard tokens\n"
                            "nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
                            "\n"
                            "nurse2 SHA1 5 30 JBSWY3DPEHPK3PXP\n"
                            "nurse1 SHA256 8 60 " RFC_B32 " backup\n"
                            "nurse10 SHA1 6 30 JBSWY3DPEHPK3PXP\n"
                            "garbage\n"
                            "   # nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP commented\n"
                            "nurse1 SHA512 6 30 " RFC_B32;

static void test_find_user(void **state)
{
	static struct pg_token_list list;
	unsigned bad = 99;

	assert_int_equal(tokens_find_user(store, strlen(store), "nurse1", &list,
	                                  &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 3);
	assert_string_equal(list.tok[0].label, "phone");
	assert_int_equal(list.tok[1].alg, PG_ALG_SHA256);
	assert_string_equal(list.tok[1].label, "backup");
	assert_int_equal(list.tok[2].alg, PG_ALG_SHA512);
	/* Bad lines are counted whoever asks; the first is reported. */
	assert_int_equal(bad, 2);
	assert_string_equal(err, "line 4: bad digits (want 6..8)");

	assert_int_equal(tokens_find_user(store, strlen(store), "nurse10",
	                                  &list, NULL, NULL, 0),
	                 0);
	assert_int_equal(list.n, 1);
	assert_int_equal(tokens_find_user(store, strlen(store), "nurse", &list,
	                                  &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 0);
	/* A user whose only line is bad has no tokens. */
	assert_int_equal(tokens_find_user(store, strlen(store), "nurse2", &list,
	                                  &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 0);
	assert_int_equal(tokens_find_user(store, strlen(store), NULL, &list,
	                                  &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 0);
	/* len, not NUL, bounds the text: the last line is cut off. */
	assert_int_equal(tokens_find_user(store, strlen(store) - 5, "nurse1",
	                                  &list, &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 2);
	assert_int_equal(bad, 3);
	tokens_list_wipe(&list);
	assert_true(tu_all_zero(&list, sizeof(list)));
}

/* Only the user's lines are decoded, but every line is checked as fully:
 * another user's secret that is not Base32, too short once decoded, badly
 * padded or sealed and damaged is reported to whoever logs in. */
static void test_find_user_checks_others(void **state)
{
	static const char others[] =
	    "a SHA1 6 30 JBSWY3DP\n"               /* 5 bytes */
	    "b SHA1 6 30 JBSWY3DPEHPK3PX1\n"       /* '1' is not Base32 */
	    "c SHA1 6 30 JBSWY3DPEHPK3PXPJB=\n"    /* padding cut short */
	    "d SHA1 6 30 JBSWY3DPEHPK3PXPA\n"      /* 17 characters */
	    "e SHA1 6 30 JBSWY3DPEHPK3PXP ok\n"    /* fine */
	    "f SHA1 6 30 pgseal1:0011:zz\n"        /* a damaged seal */
	    "nurse1 sha1 6 30 jbswy3dpehpk3pxp\n"; /* lower case */
	static const char *const why[] = {
	    "secret must be 10..64 bytes (is 5)",
	    "bad base32 secret",
	    "bad base32 length",
	    "bad base32 length",
	    NULL,
	    "bad sealed secret",
	};
	static struct pg_token_list list;
	char line[64];
	unsigned bad = 0;
	size_t i;

	assert_int_equal(tokens_find_user(others, strlen(others), "nurse1",
	                                  &list, &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(bad, 5);
	assert_string_equal(err, "line 1: secret must be 10..64 bytes (is 5)");
	assert_int_equal(list.n, 1);
	assert_int_equal(list.tok[0].secret_len, 10);
	assert_memory_equal(list.tok[0].secret, "Hello!\xde\xad\xbe\xef", 10);
	/* Each line alone gives the same reason, for any user. */
	for (i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		const char *p = others, *nl;
		size_t k;

		for (k = 0; k < i; k++)
			p = strchr(p, '\n') + 1;
		nl = strchr(p, '\n');
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		assert_int_equal(tokens_find_user(line, strlen(line), "x",
		                                  &list, &bad, err,
		                                  sizeof(err)),
		                 0);
		assert_int_equal(bad, why[i] != NULL);
		if (why[i] != NULL) {
			assert_string_equal(err + strlen("line 1: "), why[i]);
			assert_memory_equal(err, "line 1: ", 8);
		} else {
			assert_string_equal(err, "");
		}
		assert_int_equal(list.n, 0);
	}
	tokens_list_wipe(&list);
}

static void test_find_user_limits(void **state)
{
	static struct pg_token_list list;
	static char text[8192];
	size_t pos = 0;
	unsigned bad = 0;
	int i;

	for (i = 0; i < PG_TOKENS_MAX_PER_USER + 2; i++)
		pos +=
		    (size_t)snprintf(text + pos, sizeof(text) - pos,
		                     "u SHA1 6 30 JBSWY3DPEHPK3PXP t%d\n", i);
	assert_int_equal(
	    tokens_find_user(text, pos, "u", &list, &bad, err, sizeof(err)), 0);
	assert_int_equal(list.n, PG_TOKENS_MAX_PER_USER);
	assert_string_equal(list.tok[15].label, "t15");
	assert_int_equal(bad, 2);
	assert_string_equal(err, "line 17: more than 16 tokens for user");

	/* An over-long line, a NUL byte and CRLF line ends. */
	memset(text, 'x', 2000);
	pos = 2000;
	memcpy(text + pos, "\nu SHA1 6 30 JBSWY3DP\0EHPK3PXP\r\n", 32);
	pos += 32;
	pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
	                        "u SHA1 6 30 JBSWY3DPEHPK3PXP crlf\r\n");
	assert_int_equal(
	    tokens_find_user(text, pos, "u", &list, &bad, err, sizeof(err)), 0);
	assert_int_equal(list.n, 1);
	assert_string_equal(list.tok[0].label, "crlf");
	assert_int_equal(bad, 2);
	assert_string_equal(err, "line 1: line too long");
	assert_int_equal(tokens_find_user(text + 2001, pos - 2001, "u", &list,
	                                  &bad, err, sizeof(err)),
	                 0);
	assert_string_equal(err, "line 1: NUL byte in line");

	/* Nothing at all. */
	assert_int_equal(
	    tokens_find_user(NULL, 0, "u", &list, &bad, err, sizeof(err)), 0);
	assert_int_equal(list.n, 0);
	assert_int_equal(bad, 0);
	assert_string_equal(err, "");
	tokens_list_wipe(&list);
}

static void test_format(void **state)
{
	static struct pg_token back;
	char out[512];
	size_t i;

	assert_int_equal(parse("nurse1 SHA256 8 60 " RFC_B32 " phone"), 0);
	assert_int_equal(tokens_format_line(&tok, out, sizeof(out)), 0);
	assert_string_equal(out, "nurse1 SHA256 8 60 " RFC_B32 " phone\n");
	/* 16 bytes need padding in Base32; the output is written without. */
	assert_int_equal(
	    parse("u SHA512 6 30 GAYTEMZUGU3DOOBZMFRGGZDFMY======"), 0);
	assert_int_equal(tokens_format_line(&tok, out, sizeof(out)), 0);
	assert_string_equal(out, "u SHA512 6 30 GAYTEMZUGU3DOOBZMFRGGZDFMY\n");
	/* And it parses back to the same token. */
	out[strlen(out) - 1] = '\0';
	assert_int_equal(tokens_parse_line(out, &back, err, sizeof(err)), 0);
	assert_memory_equal(&tok, &back, sizeof(tok));

	/* Too small: refused and wiped. */
	memset(out, 'z', sizeof(out));
	assert_int_equal(tokens_format_line(&tok, out, 20), PG_ERR_TOOLONG);
	for (i = 0; i < 20; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[20], 'z');
	/* Exactly big enough: 41 bytes plus NUL. */
	assert_int_equal(tokens_format_line(&tok, out, 42), 0);
	assert_int_equal(tokens_format_line(&tok, out, 41), PG_ERR_TOOLONG);
}

static void test_format_invalid(void **state)
{
	static struct pg_token good, t;
	char out[512];

	assert_int_equal(tokens_parse_line("u SHA1 6 30 " RFC_B32 " l", &good,
	                                   err, sizeof(err)),
	                 0);
#define EXPECT_INVALID(stmt)                                                   \
	do {                                                                   \
		t = good;                                                      \
		stmt;                                                          \
		assert_int_equal(tokens_format_line(&t, out, sizeof(out)),     \
		                 PG_ERR_INVAL);                                \
	} while (0)
	EXPECT_INVALID(t.user[0] = '\0');
	EXPECT_INVALID(t.user[0] = '-');
	EXPECT_INVALID(t.alg = (enum pg_token_alg)3);
	EXPECT_INVALID(t.digits = 5);
	EXPECT_INVALID(t.digits = 9);
	EXPECT_INVALID(t.period = 9);
	EXPECT_INVALID(t.period = 301);
	EXPECT_INVALID(t.secret_len = 9);
	EXPECT_INVALID(t.secret_len = PG_TOKEN_MAX_SECRET + 1);
	EXPECT_INVALID(t.label[0] = '/');
	EXPECT_INVALID(memset(t.label, 'a', sizeof(t.label)));
	EXPECT_INVALID(snprintf(t.sealed, sizeof(t.sealed), SEAL_PREFIX "x"));
	EXPECT_INVALID(memset(t.sealed, 'a', sizeof(t.sealed)));
#undef EXPECT_INVALID
	t = good;
	assert_int_equal(tokens_format_line(&t, out, sizeof(out)), 0);
	tokens_wipe(&t);
	assert_true(tu_all_zero(&t, sizeof(t)));
	tokens_wipe(NULL);
	tokens_list_wipe(NULL);
}

/* RFC_KEY sealed for nurse1 under key 0123456789abcdef (test_seal.c's
 * known answer) and that key's file line. */
#define SEALED_RFC                                                             \
	"pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzfYaYHUm7a6VFfy3X6Pzp" \
	"Ftzzs2HL1An5kYsbF6mrf"
#define SEAL_KEY_LINE                                                          \
	"0123456789abcdef AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"

static void test_sealed_line(void **state)
{
	static struct pg_token back;
	char out[512];

	/* Kept as read, not opened: no secret yet. */
	assert_int_equal(parse("nurse1 SHA1 6 30 " SEALED_RFC " phone"), 0);
	assert_string_equal(tok.sealed, SEALED_RFC);
	assert_int_equal(tok.secret_len, 0);
	assert_true(tu_all_zero(tok.secret, sizeof(tok.secret)));
	/* Written back sealed, and read back the same. */
	assert_int_equal(tokens_format_line(&tok, out, sizeof(out)), 0);
	assert_string_equal(out, "nurse1 SHA1 6 30 " SEALED_RFC " phone\n");
	out[strlen(out) - 1] = '\0';
	assert_int_equal(tokens_parse_line(out, &back, err, sizeof(err)), 0);
	assert_memory_equal(&tok, &back, sizeof(tok));
	/* A damaged sealed column is a bad line, like bad Base32. */
	expect_bad("nurse1 SHA1 6 30 pgseal1:0123456789abcdef:AAAA",
	           "bad sealed secret");
	expect_bad("nurse1 SHA1 6 30 pgseal1:" RFC_B32, "bad sealed secret");
	expect_bad("nurse1 SHA1 6 30 " SEALED_RFC "x", "bad sealed secret");
	tokens_wipe(&back);
}

static void test_open_list(void **state)
{
	static struct pg_token_list list;
	struct seal_keyring kr, other = {0};
	const char *text = "nurse1 SHA1 6 30 " RFC_B32 " plain\n"
	                   "nurse1 SHA1 6 30 " SEALED_RFC " sealed\n"
	                   "nurse2 SHA1 6 30 " SEALED_RFC " copied\n";

	assert_int_equal(seal_keyring_parse(SEAL_KEY_LINE,
	                                    strlen(SEAL_KEY_LINE), &kr, err,
	                                    sizeof(err)),
	                 0);
	/* Plain and sealed tokens open side by side. */
	assert_int_equal(tokens_find_user(text, strlen(text), "nurse1", &list,
	                                  NULL, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 2);
	assert_int_equal(tokens_open_list(&list, &kr, err, sizeof(err)), 0);
	assert_int_equal(list.tok[1].secret_len, 20);
	assert_memory_equal(list.tok[1].secret, RFC_KEY, 20);
	assert_string_equal(list.tok[1].sealed, SEALED_RFC);
	assert_memory_equal(list.tok[0].secret, RFC_KEY, 20);

	/* No key_file: refused, and nothing is left of the list. */
	assert_int_equal(tokens_find_user(text, strlen(text), "nurse1", &list,
	                                  NULL, err, sizeof(err)),
	                 0);
	assert_int_equal(tokens_open_list(&list, NULL, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	assert_string_equal(err,
	                    "token 2 (sealed): sealed secret and no key_file");
	assert_true(tu_all_zero(&list, sizeof(list)));

	/* Another key only: the key id is named. */
	assert_int_equal(seal_key_generate(&other.keys[0]), 0);
	other.n = 1;
	assert_int_equal(tokens_find_user(text, strlen(text), "nurse1", &list,
	                                  NULL, err, sizeof(err)),
	                 0);
	assert_int_equal(tokens_open_list(&list, &other, err, sizeof(err)),
	                 PG_ERR_NOTFOUND);
	assert_string_equal(err, "token 2 (sealed): sealed with key "
	                         "0123456789abcdef, not in key_file");

	/* nurse1's sealed secret on nurse2's line does not open. */
	assert_int_equal(tokens_find_user(text, strlen(text), "nurse2", &list,
	                                  NULL, err, sizeof(err)),
	                 0);
	assert_int_equal(list.n, 1);
	assert_int_equal(tokens_open_list(&list, &kr, err, sizeof(err)),
	                 PG_ERR_AUTH);
	assert_non_null(strstr(err, "does not open with key 0123456789abcdef"));
	assert_true(tu_all_zero(&list, sizeof(list)));
	seal_keyring_wipe(&kr);
	seal_keyring_wipe(&other);
}

static void test_seal_token(void **state)
{
	static struct pg_token back;
	struct seal_keyring kr = {0};
	char out[512];

	assert_int_equal(seal_key_generate(&kr.keys[0]), 0);
	kr.n = 1;
	assert_int_equal(parse("nurse1 SHA256 8 60 " RFC_B32 " phone"), 0);
	assert_int_equal(tokens_seal(&tok, &kr.keys[0]), 0);
	assert_true(seal_is_sealed(tok.sealed, strlen(tok.sealed)));
	assert_int_equal(tok.secret_len, 20);
	/* The line holds the sealed text, not the Base32 secret. */
	assert_int_equal(tokens_format_line(&tok, out, sizeof(out)), 0);
	assert_null(strstr(out, RFC_B32));
	out[strlen(out) - 1] = '\0';
	assert_int_equal(tokens_parse_line(out, &back, err, sizeof(err)), 0);
	assert_int_equal(back.secret_len, 0);
	assert_int_equal(tokens_open(&back, &kr, err, sizeof(err)), 0);
	assert_int_equal(back.secret_len, 20);
	assert_memory_equal(back.secret, RFC_KEY, 20);
	/* No valid secret to seal. */
	tok.secret_len = 0;
	assert_int_equal(tokens_seal(&tok, &kr.keys[0]), PG_ERR_INVAL);
	assert_string_equal(tok.sealed, "");
	tokens_wipe(&back);
	seal_keyring_wipe(&kr);
}

static void test_load_user(void **state)
{
	static struct pg_token_list list;
	char path[128], want[256];
	unsigned bad = 0;

	snprintf(path, sizeof(path), "%s/tokens", tu_tmpdir);
	tu_write_file(path, store, 0600);
	assert_int_equal(
	    tokens_load_user(path, 0, "nurse1", &list, &bad, err, sizeof(err)),
	    0);
	assert_int_equal(list.n, 3);
	assert_int_equal(bad, 2);
	snprintf(want, sizeof(want), "%s: line 4: bad digits (want 6..8)",
	         path);
	assert_string_equal(err, want);

	tu_write_file(path, "nurse1 SHA1 6 30 JBSWY3DPEHPK3PXP\n", 0600);
	assert_int_equal(
	    tokens_load_user(path, 0, "nurse1", &list, &bad, err, sizeof(err)),
	    0);
	assert_int_equal(list.n, 1);
	assert_int_equal(bad, 0);
	assert_string_equal(err, "");

	/* Secrets readable by others are refused outright. */
	tu_write_file(path, store, 0640);
	assert_int_equal(
	    tokens_load_user(path, 0, "nurse1", &list, &bad, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want),
	         "%s: mode 0640 allows group/other access (want 0600)", path);
	assert_string_equal(err, want);

	if (geteuid() == 0) {
		tu_write_file(path, store, 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(tokens_load_user(path, 1, "nurse1", &list,
		                                  &bad, err, sizeof(err)),
		                 PG_ERR_UNSAFE_FILE);
		snprintf(want, sizeof(want),
		         "%s: must be owned by uid 0 (is 65534)", path);
		assert_string_equal(err, want);
	}

	snprintf(path, sizeof(path), "%s/none", tu_tmpdir);
	assert_int_equal(
	    tokens_load_user(path, 0, "nurse1", &list, &bad, err, sizeof(err)),
	    PG_ERR_NOTFOUND);
	tokens_list_wipe(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alg_names),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_field_count),
	    cmocka_unit_test(test_bad_user),
	    cmocka_unit_test(test_bad_alg),
	    cmocka_unit_test(test_digits),
	    cmocka_unit_test(test_period),
	    cmocka_unit_test(test_secret),
	    cmocka_unit_test(test_label),
	    cmocka_unit_test(test_wiped_on_error),
	    cmocka_unit_test(test_find_user),
	    cmocka_unit_test(test_find_user_checks_others),
	    cmocka_unit_test(test_find_user_limits),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_invalid),
	    cmocka_unit_test(test_sealed_line),
	    cmocka_unit_test(test_open_list),
	    cmocka_unit_test(test_seal_token),
	    cmocka_unit_test(test_load_user),
	};

	return cmocka_run_group_tests(tests, tu_setup_tmpdir,
	                              tu_teardown_tmpdir);
}
