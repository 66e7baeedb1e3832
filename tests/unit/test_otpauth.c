/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for what enrollment shows: the otpauth:// URI
 * (daemon/ctl/otpauth.c) and its terminal QR code (daemon/ctl/qr.c), which
 * is decoded back into modules and compared with libqrencode's symbol. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <qrencode.h>

#include "err.h"
#include "daemon/ctl/otpauth.h"
#include "daemon/ctl/qr.h"
#include "testutil.h"
#include "tokens.h"

static void make_token(struct pg_token *t, const char *user,
                       enum pg_token_alg alg, const char *secret, size_t n,
                       unsigned digits, unsigned period)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->user, sizeof(t->user), "%s", user);
	t->alg = alg;
	memcpy(t->secret, secret, n);
	t->secret_len = n;
	t->digits = digits;
	t->period = period;
}

static void test_pct_encode(void **state)
{
	char out[64];

	assert_int_equal(otpauth_pct_encode("AZaz09-._~", out, sizeof(out)), 0);
	assert_string_equal(out, "AZaz09-._~");
	assert_int_equal(otpauth_pct_encode("ACME Co", out, sizeof(out)), 0);
	assert_string_equal(out, "ACME%20Co");
	assert_int_equal(
	    otpauth_pct_encode("a:b@c/d?e&f=g%h+i#", out, sizeof(out)), 0);
	assert_string_equal(out, "a%3Ab%40c%2Fd%3Fe%26f%3Dg%25h%2Bi%23");
	/* UTF-8 is encoded byte by byte, upper-case hex. */
	assert_int_equal(
	    otpauth_pct_encode("J\xc3\xa9r\xc3\xb4me", out, sizeof(out)), 0);
	assert_string_equal(out, "J%C3%A9r%C3%B4me");
	assert_int_equal(otpauth_pct_encode("\x7f\x01", out, sizeof(out)), 0);
	assert_string_equal(out, "%7F%01");
	assert_int_equal(otpauth_pct_encode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_pct_encode_bounds(void **state)
{
	char out[8];

	/* "a b" needs 5 bytes + NUL. */
	assert_int_equal(otpauth_pct_encode("a b", out, 6), 0);
	assert_string_equal(out, "a%20b");
	assert_int_equal(otpauth_pct_encode("a b", out, 5), PG_ERR_TOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(otpauth_pct_encode("abc", out, 3), PG_ERR_TOOLONG);
	assert_int_equal(otpauth_pct_encode("", out, 0), PG_ERR_TOOLONG);
}

static void test_build_sha1(void **state)
{
	struct pg_token t;
	char uri[OTPAUTH_URI_MAX];

	/* Base32 JBSWY3DPEHPK3PXP (reference 3.3). */
	make_token(&t, "john.doe@email.com", PG_ALG_SHA1,
	           "Hello!\xde\xad\xbe\xef", 10, 6, 30);
	assert_int_equal(otpauth_build(&t, "ACME Co", uri, sizeof(uri)), 0);
	assert_string_equal(uri, "otpauth://totp/ACME%20Co:john.doe%40email.com"
	                         "?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
	                         "&algorithm=SHA1&digits=6&period=30");
}

static void test_build_sha256_unpadded(void **state)
{
	struct pg_token t;
	char uri[OTPAUTH_URI_MAX];

	make_token(&t, "nurse1", PG_ALG_SHA256,
	           "12345678901234567890123456789012", 32, 8, 60);
	assert_int_equal(otpauth_build(&t, "phiguard", uri, sizeof(uri)), 0);
	/* The RFC 6238 SHA256 seed; "====" padding is left out. */
	assert_string_equal(uri, "otpauth://totp/phiguard:nurse1?secret="
	                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3"
	                         "TQOJQGEZA&issuer=phiguard&algorithm=SHA256"
	                         "&digits=8&period=60");
}

static void test_build_worst_case_fits(void **state)
{
	struct pg_token t;
	char uri[OTPAUTH_URI_MAX], user[PG_USER_MAX + 1],
	    issuer[OTPAUTH_ISSUER_MAX + 1];
	char secret[PG_TOKEN_MAX_SECRET];
	size_t i;

	/* Every byte of user and issuer needs "%XX"; the longest key. */
	for (i = 0; i < PG_USER_MAX; i += 2)
		memcpy(user + i, "\xc3\xa9", 2);
	user[PG_USER_MAX] = '\0';
	memset(issuer, ' ', OTPAUTH_ISSUER_MAX);
	issuer[OTPAUTH_ISSUER_MAX] = '\0';
	memset(secret, 0xff, sizeof(secret));
	make_token(&t, user, PG_ALG_SHA512, secret, sizeof(secret), 8, 300);
	assert_int_equal(otpauth_build(&t, issuer, uri, sizeof(uri)), 0);
	assert_non_null(strstr(uri, "&algorithm=SHA512&digits=8&period=300"));
	/* One over the issuer limit is refused. */
	{
		char longer[OTPAUTH_ISSUER_MAX + 2];

		memset(longer, 'x', OTPAUTH_ISSUER_MAX + 1);
		longer[OTPAUTH_ISSUER_MAX + 1] = '\0';
		assert_int_equal(otpauth_build(&t, longer, uri, sizeof(uri)),
		                 PG_ERR_INVAL);
	}
}

static void test_build_errors_wipe(void **state)
{
	struct pg_token t;
	char uri[OTPAUTH_URI_MAX];

	make_token(&t, "alice", PG_ALG_SHA1, "Hello!\xde\xad\xbe\xef", 10, 6,
	           30);
	/* A colon would move the issuer/account split. */
	memset(uri, 'x', sizeof(uri));
	assert_int_equal(otpauth_build(&t, "Big:Corp", uri, sizeof(uri)),
	                 PG_ERR_INVAL);
	assert_true(tu_all_zero(uri, sizeof(uri)));
	assert_int_equal(otpauth_build(&t, "", uri, sizeof(uri)), PG_ERR_INVAL);
	/* Too small an output: refused and wiped, no partial secret. */
	memset(uri, 'x', sizeof(uri));
	assert_int_equal(otpauth_build(&t, "phiguard", uri, 60),
	                 PG_ERR_TOOLONG);
	assert_true(tu_all_zero(uri, 60));
	/* No secret, or a bad algorithm. */
	t.secret_len = 0;
	assert_int_equal(otpauth_build(&t, "phiguard", uri, sizeof(uri)),
	                 PG_ERR_INVAL);
	t.secret_len = 10;
	t.alg = (enum pg_token_alg)7;
	assert_int_equal(otpauth_build(&t, "phiguard", uri, sizeof(uri)),
	                 PG_ERR_INVAL);
}

/* Skip an ANSI CSI sequence at *p; returns its final parameter. */
static int skip_csi(const char **p)
{
	int v = 0;

	assert_true((*p)[0] == '\033' && (*p)[1] == '[');
	for (*p += 2; **p != 'm'; (*p)++) {
		assert_non_null(**p);
		v = **p == ';' ? 0 : v * 10 + (**p - '0');
	}
	(*p)++;
	return v;
}

/*
 * Decode half-block output back into a size x size matrix of dark modules;
 * the colours must be set at the start of every line and reset at its end.
 */
static void decode_half(const char *text, unsigned char *m, int size)
{
	const char *p = text;
	int x, y;

	for (y = 0; y < size; y += 2) {
		assert_true(strncmp(p, "\033[30;47m", 8) == 0);
		p += 8;
		for (x = 0; x < size; x++) {
			int top = 0, bottom = 0;

			if (*p == ' ') {
				p++;
			} else if (strncmp(p, "\xe2\x96\x88", 3) == 0) {
				top = bottom = 1;
				p += 3;
			} else if (strncmp(p, "\xe2\x96\x80", 3) == 0) {
				top = 1;
				p += 3;
			} else {
				assert_true(strncmp(p, "\xe2\x96\x84", 3) == 0);
				bottom = 1;
				p += 3;
			}
			m[y * size + x] = (unsigned char)top;
			if (y + 1 < size)
				m[(y + 1) * size + x] = (unsigned char)bottom;
			else
				assert_int_equal(bottom, 0);
		}
		assert_true(strncmp(p, "\033[0m\n", 5) == 0);
		p += 5;
	}
	assert_int_equal(*p, '\0');
}

/* Decode wide output: two spaces per module in the current background. */
static void decode_wide(const char *text, unsigned char *m, int size)
{
	const char *p = text;
	int x, y, bg = -1;

	for (y = 0; y < size; y++) {
		for (x = 0; x < size; x++) {
			if (*p == '\033')
				bg = skip_csi(&p);
			assert_true(bg == 40 || bg == 47);
			assert_true(p[0] == ' ' && p[1] == ' ');
			p += 2;
			m[y * size + x] = bg == 40;
		}
		assert_true(strncmp(p, "\033[0m\n", 5) == 0);
		p += 5;
		bg = -1; /* each line sets its colours afresh */
	}
	assert_int_equal(*p, '\0');
}

/* Render text in style, decode the output and compare with the symbol
 * libqrencode makes for the same text, quiet zone included. */
static void check_qr_roundtrip(const char *text, enum qr_style style)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	char *out = NULL;
	size_t outlen = 0;
	unsigned char *m;
	int size, x, y, want;
	FILE *f;

	assert_non_null(qr);
	size = qr->width + 2 * QR_QUIET_ZONE;
	m = calloc((size_t)size * (size_t)size, 1);
	assert_non_null(m);
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	assert_int_equal(qr_print(f, text, style), 0);
	fclose(f);
	if (style == QR_STYLE_HALF)
		decode_half(out, m, size);
	else
		decode_wide(out, m, size);
	for (y = 0; y < size; y++) {
		for (x = 0; x < size; x++) {
			int qx = x - QR_QUIET_ZONE, qy = y - QR_QUIET_ZONE;

			want = qx >= 0 && qy >= 0 && qx < qr->width &&
			       qy < qr->width &&
			       (qr->data[qy * qr->width + qx] & 1);
			assert_int_equal(m[y * size + x], want);
		}
	}
	free(m);
	free(out);
	QRcode_free(qr);
}

static void test_qr_half(void **state)
{
	check_qr_roundtrip("otpauth://totp/phiguard:nurse1?secret="
	                   "JBSWY3DPEHPK3PXP&issuer=phiguard&algorithm=SHA1"
	                   "&digits=6&period=30",
	                   QR_STYLE_HALF);
	/* An even-sized zoned symbol does not exist (21 + 4k + 8 is odd),
	 * so the last text line always has a light lower half. */
	check_qr_roundtrip("x", QR_STYLE_HALF);
}

static void test_qr_wide(void **state)
{
	check_qr_roundtrip("otpauth://totp/a:b?secret=GEZDGNBVGY3TQOJQ",
	                   QR_STYLE_WIDE);
}

static void test_qr_errors(void **state)
{
	char *big = malloc(8000);
	FILE *f = fopen("/dev/null", "w");

	assert_non_null(big);
	assert_non_null(f);
	memset(big, 'a', 7999);
	big[7999] = '\0';
	/* More than a version 40 symbol holds. */
	assert_int_equal(qr_print(f, big, QR_STYLE_HALF), PG_ERR_TOOLONG);
	fclose(f);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pct_encode),
	    cmocka_unit_test(test_pct_encode_bounds),
	    cmocka_unit_test(test_build_sha1),
	    cmocka_unit_test(test_build_sha256_unpadded),
	    cmocka_unit_test(test_build_worst_case_fits),
	    cmocka_unit_test(test_build_errors_wipe),
	    cmocka_unit_test(test_qr_half),
	    cmocka_unit_test(test_qr_wide),
	    cmocka_unit_test(test_qr_errors),
	};

	return cmocka_run_group_tests(tests, tu_setup_oath, tu_teardown_oath);
}
