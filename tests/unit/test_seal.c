/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for sealed secrets (common/seal.c): round trip, a text made
 * by another AES-GCM implementation, every way a sealed text must not
 * open, its size, and the key file's format and file checks. */
#include "config.h"

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

#define RFC_KEY "12345678901234567890"
/* Key 0x00..0x1f, id 0123456789abcdef, nonce 0x64..0x6f, RFC_KEY sealed
 * for nurse1: made with Python's cryptography (AESGCM), so the layout of
 * text and associated data is the one the spec names, not just one this
 * code agrees with itself on. */
#define KAT_ID  "0123456789abcdef"
#define KAT_KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KAT_TEXT                                                               \
	"pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzfYaYHUm7a6VFfy3X6Pzp" \
	"Ftzzs2HL1An5kYsbF6mrf"

static char err[256];

static void kat_ring(struct seal_keyring *kr)
{
	assert_int_equal(seal_keyring_parse(KAT_ID " " KAT_KEY "\n",
	                                    strlen(KAT_ID " " KAT_KEY "\n"), kr,
	                                    err, sizeof(err)),
	                 0);
	assert_int_equal(kr->n, 1);
}

/* seal_open into a buffer; the opened length in *len. */
static int open_text(const struct seal_keyring *kr, const char *user,
                     const char *text, unsigned char *out, size_t *len)
{
	return seal_open(kr, user, text, out, SEAL_SECRET_MAX, len);
}

static void test_known_answer(void **state)
{
	struct seal_keyring kr;
	unsigned char out[SEAL_SECRET_MAX];
	size_t len = 0;

	kat_ring(&kr);
	assert_int_equal(open_text(&kr, "nurse1", KAT_TEXT, out, &len), 0);
	assert_int_equal(len, strlen(RFC_KEY));
	assert_memory_equal(out, RFC_KEY, len);
	assert_int_equal(seal_text_check(KAT_TEXT, strlen(KAT_TEXT)), 0);
	seal_keyring_wipe(&kr);
	assert_true(tu_all_zero(&kr, sizeof(kr)));
}

static void test_round_trip(void **state)
{
	struct seal_keyring kr = {0};
	unsigned char out[SEAL_SECRET_MAX];
	char a[SEAL_TEXT_MAX + 1], b[SEAL_TEXT_MAX + 1], head[32];
	size_t len = 0;

	assert_int_equal(seal_key_generate(&kr.keys[0]), 0);
	kr.n = 1;
	assert_int_equal(seal_secret(&kr.keys[0], "nurse1",
	                             (const unsigned char *)RFC_KEY, 20, a,
	                             sizeof(a)),
	                 0);
	/* The prefix and the key id, in lowercase hex. */
	snprintf(head, sizeof(head),
	         "%s%02x%02x%02x%02x%02x%02x%02x%02x:", SEAL_PREFIX,
	         kr.keys[0].id[0], kr.keys[0].id[1], kr.keys[0].id[2],
	         kr.keys[0].id[3], kr.keys[0].id[4], kr.keys[0].id[5],
	         kr.keys[0].id[6], kr.keys[0].id[7]);
	assert_int_equal(strncmp(a, head, strlen(head)), 0);
	assert_true(seal_is_sealed(a, strlen(a)));
	assert_int_equal(seal_text_check(a, strlen(a)), 0);
	assert_null(strstr(a, RFC_KEY));
	assert_int_equal(open_text(&kr, "nurse1", a, out, &len), 0);
	assert_int_equal(len, 20);
	assert_memory_equal(out, RFC_KEY, 20);
	/* A fresh nonce each time: the same secret seals differently. */
	assert_int_equal(seal_secret(&kr.keys[0], "nurse1",
	                             (const unsigned char *)RFC_KEY, 20, b,
	                             sizeof(b)),
	                 0);
	assert_string_not_equal(a, b);
	assert_int_equal(open_text(&kr, "nurse1", b, out, &len), 0);
	/* Not sealed: Base32 and anything else. */
	assert_false(seal_is_sealed("JBSWY3DPEHPK3PXP", 16));
	assert_false(seal_is_sealed("pgseal1", 7));
	assert_false(seal_is_sealed(NULL, 0));
	seal_keyring_wipe(&kr);
}

static void test_wrong_key(void **state)
{
	struct seal_keyring kr;
	unsigned char out[SEAL_SECRET_MAX];
	size_t len = 99;

	/* The same id with other key bytes: the tag does not match. */
	kat_ring(&kr);
	kr.keys[0].key[31] ^= 1;
	assert_int_equal(open_text(&kr, "nurse1", KAT_TEXT, out, &len),
	                 PG_ERR_AUTH);
	assert_int_equal(len, 99);
	seal_keyring_wipe(&kr);
}

static void test_unknown_key(void **state)
{
	struct seal_keyring kr = {0};
	unsigned char out[SEAL_SECRET_MAX];
	size_t len = 0;

	assert_int_equal(seal_key_generate(&kr.keys[0]), 0);
	kr.n = 1;
	assert_int_equal(open_text(&kr, "nurse1", KAT_TEXT, out, &len),
	                 PG_ERR_NOTFOUND);
	assert_int_equal(open_text(NULL, "nurse1", KAT_TEXT, out, &len),
	                 PG_ERR_NOTFOUND);
	kr.n = 0;
	assert_int_equal(open_text(&kr, "nurse1", KAT_TEXT, out, &len),
	                 PG_ERR_NOTFOUND);
	/* The second key of a ring opens too (rotation). */
	kat_ring(&kr);
	kr.keys[1] = kr.keys[0];
	assert_int_equal(seal_key_generate(&kr.keys[0]), 0);
	kr.n = 2;
	assert_int_equal(open_text(&kr, "nurse1", KAT_TEXT, out, &len), 0);
	seal_keyring_wipe(&kr);
}

static void test_other_user(void **state)
{
	struct seal_keyring kr;
	unsigned char out[SEAL_SECRET_MAX];
	size_t len = 0;

	kat_ring(&kr);
	assert_int_equal(open_text(&kr, "nurse2", KAT_TEXT, out, &len),
	                 PG_ERR_AUTH);
	assert_int_equal(open_text(&kr, "nurse1x", KAT_TEXT, out, &len),
	                 PG_ERR_AUTH);
	assert_int_equal(open_text(&kr, "Nurse1", KAT_TEXT, out, &len),
	                 PG_ERR_AUTH);
	assert_int_equal(open_text(&kr, "", KAT_TEXT, out, &len), PG_ERR_INVAL);
	seal_keyring_wipe(&kr);
}

/* Every byte of the text changed in turn never opens. */
static void test_tampered(void **state)
{
	static const char subst[] = "AQzb09+/=:gx";
	struct seal_keyring kr;
	unsigned char out[SEAL_SECRET_MAX];
	char text[SEAL_TEXT_MAX + 1];
	size_t i, j, len = 0;
	int r;

	kat_ring(&kr);
	for (i = 0; i < strlen(KAT_TEXT); i++) {
		for (j = 0; j < strlen(subst); j++) {
			snprintf(text, sizeof(text), "%s", KAT_TEXT);
			if (text[i] == subst[j])
				continue;
			text[i] = subst[j];
			r = open_text(&kr, "nurse1", text, out, &len);
			if (r != PG_ERR_AUTH && r != PG_ERR_INVAL &&
			    r != PG_ERR_NOTFOUND)
				fail_msg("byte %zu as '%c': %d", i, subst[j],
				         r);
		}
	}
	seal_keyring_wipe(&kr);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "pgseal1:",
	    "pgseal1:0123456789abcdef",
	    "pgseal1:0123456789abcdef:",
	    "pgseal2:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzf",
	    "pgseal1:0123456789ABCDEF:ZGVmZ2hpamtsbW5veSntUkzf",
	    "pgseal1:0123456789abcde:ZGVmZ2hpamtsbW5veSntUkzfY",
	    "pgseal1:0123456789abcdef;ZGVmZ2hpamtsbW5veSntUkzf",
	    /* Too short for nonce, one byte and tag. */
	    "pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzf",
	    /* Unpadded, blanks, bad characters. */
	    "pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzfYaYHUm7a6VFfy3X6"
	    "PzpFtzzs2HL1An5kYsbF6mr",
	    "pgseal1:0123456789abcdef: ZGVmZ2hpamtsbW5veSntUkzfYaYHUm7a6VFfy3X6"
	    "PzpFtzzs2HL1An5kYsbF6mrf",
	    "pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzfYaYHUm7a6VFfy3X6"
	    "PzpFtzzs2HL1An5kYsbF6mr-",
	    "pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5veSntUkzfYaYHUm7a6VFfy3X6"
	    "PzpFtzzs2HL1An5kYsbF6mrf\n",
	    /* Padding in the middle. */
	    "pgseal1:0123456789abcdef:ZGVmZ2hpamtsbW5v=SntUkzfYaYHUm7a6VFfy3X6"
	    "PzpFtzzs2HL1An5kYsbF6mrf",
	};
	struct seal_keyring kr;
	unsigned char out[SEAL_SECRET_MAX];
	char text[SEAL_TEXT_MAX + 8];
	size_t i, n, len = 0;
	int r;

	kat_ring(&kr);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (open_text(&kr, "nurse1", bad[i], out, &len) !=
		        PG_ERR_INVAL ||
		    seal_text_check(bad[i], strlen(bad[i])) != PG_ERR_INVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	/* Every truncation: malformed, or (cut at a quad) a shorter
	 * ciphertext whose tag cannot match. */
	for (n = 0; n < strlen(KAT_TEXT); n++) {
		snprintf(text, sizeof(text), "%.*s", (int)n, KAT_TEXT);
		r = open_text(&kr, "nurse1", text, out, &len);
		if (r != PG_ERR_INVAL && r != PG_ERR_AUTH)
			fail_msg("truncated to %zu: %d", n, r);
	}
	/* The non-canonical spelling of the same bytes (unused low bits of
	 * the last character before "==" set) is refused, not opened. */
	assert_int_equal(seal_secret(&kr.keys[0], "nurse1",
	                             (const unsigned char *)RFC_KEY "x", 21,
	                             text, sizeof(text)),
	                 0);
	n = strlen(text);
	assert_string_equal(text + n - 2, "==");
	assert_int_equal(open_text(&kr, "nurse1", text, out, &len), 0);
	text[n - 3] = text[n - 3] == '9' ? '+' : (char)(text[n - 3] + 1);
	assert_int_equal(open_text(&kr, "nurse1", text, out, &len),
	                 PG_ERR_INVAL);
	assert_int_equal(open_text(&kr, "nurse1", NULL, out, &len),
	                 PG_ERR_INVAL);
	/* Too small a buffer for the secret. */
	assert_int_equal(seal_open(&kr, "nurse1", KAT_TEXT, out, 19, &len),
	                 PG_ERR_TOOLONG);
	seal_keyring_wipe(&kr);
}

static void test_sizes(void **state)
{
	struct seal_key k;
	unsigned char secret[SEAL_SECRET_MAX + 1], out[SEAL_SECRET_MAX];
	struct seal_keyring kr = {0};
	char text[SEAL_TEXT_MAX + 1], small[32];
	char user[257];
	size_t i, len = 0;

	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (unsigned char)i;
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	assert_int_equal(seal_key_generate(&k), 0);
	/* A 64-byte secret fits, with the longest user name. */
	assert_int_equal(seal_secret(&k, user, secret, 64, text, sizeof(text)),
	                 0);
	assert_true(strlen(text) <= SEAL_TEXT_MAX);
	assert_int_equal(seal_text_check(text, strlen(text)), 0);
	kr.keys[0] = k;
	kr.n = 1;
	assert_int_equal(open_text(&kr, user, text, out, &len), 0);
	assert_int_equal(len, 64);
	assert_memory_equal(out, secret, 64);
	/* One byte more, none, a missing user, a buffer too small. */
	assert_int_equal(seal_secret(&k, user, secret, 65, text, sizeof(text)),
	                 PG_ERR_INVAL);
	assert_true(tu_all_zero(text, sizeof(text)));
	assert_int_equal(seal_secret(&k, user, secret, 0, text, sizeof(text)),
	                 PG_ERR_INVAL);
	assert_int_equal(seal_secret(&k, NULL, secret, 10, text, sizeof(text)),
	                 PG_ERR_INVAL);
	assert_int_equal(seal_secret(&k, "", secret, 10, text, sizeof(text)),
	                 PG_ERR_INVAL);
	assert_int_equal(
	    seal_secret(&k, "nurse1", secret, 10, small, sizeof(small)),
	    PG_ERR_TOOLONG);
	assert_true(tu_all_zero(small, sizeof(small)));
	seal_keyring_wipe(&kr);
}

/* A key file line written by seal_key_format_line reads back. */
static void test_key_line(void **state)
{
	struct seal_keyring kr;
	struct seal_key k;
	char line[SEAL_KEY_LINE_MAX], text[4 * SEAL_KEY_LINE_MAX];

	assert_int_equal(seal_key_generate(&k), 0);
	assert_int_equal(seal_key_format_line(&k, line, sizeof(line)), 0);
	assert_int_equal(strlen(line), 16 + 1 + 44 + 1);
	assert_int_equal(seal_key_format_line(&k, line, 60), PG_ERR_TOOLONG);
	assert_int_equal(seal_key_format_line(&k, line, sizeof(line)), 0);
	/* With comments, blanks and a CRLF around it. */
	snprintf(text, sizeof(text), "# site key\n\n  %.*s \r\n%s", 61, line,
	         KAT_ID "\t" KAT_KEY);
	assert_int_equal(
	    seal_keyring_parse(text, strlen(text), &kr, err, sizeof(err)), 0);
	assert_int_equal(kr.n, 2);
	assert_memory_equal(&kr.keys[0], &k, sizeof(k));
	assert_memory_equal(kr.keys[1].id, "\x01\x23\x45\x67\x89\xab\xcd\xef",
	                    8);
	/* Empty text: no key, which keygen may start from. */
	assert_int_equal(
	    seal_keyring_parse("# none\n", 7, &kr, err, sizeof(err)), 0);
	assert_int_equal(kr.n, 0);
	seal_keyring_wipe(&kr);
}

static void expect_bad_ring(const char *text, const char *reason)
{
	struct seal_keyring kr;

	assert_int_equal(
	    seal_keyring_parse(text, strlen(text), &kr, err, sizeof(err)),
	    PG_ERR_CONFIG);
	assert_string_equal(err, reason);
	assert_true(tu_all_zero(&kr, sizeof(kr)));
}

static void test_key_file_bad_lines(void **state)
{
	char text[16 * SEAL_KEY_LINE_MAX];
	struct seal_key k;
	size_t i, n = 0;

	expect_bad_ring("# x\n" KAT_ID "\n",
	                "line 2: want <key id: 16 lowercase hex> "
	                "<base64 of 32 bytes>");
	expect_bad_ring("0123456789ABCDEF " KAT_KEY "\n",
	                "line 1: want <key id: 16 lowercase hex> "
	                "<base64 of 32 bytes>");
	expect_bad_ring(KAT_ID " " KAT_KEY " extra\n",
	                "line 1: want <key id: 16 lowercase hex> "
	                "<base64 of 32 bytes>");
	expect_bad_ring(KAT_ID " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
	                "line 1: the key must be the base64 of 32 bytes");
	expect_bad_ring(KAT_ID " " KAT_KEY "\n" KAT_ID " " KAT_KEY "\n",
	                "line 2: key id given twice");
	for (i = 0; i < SEAL_MAX_KEYS + 1; i++) {
		assert_int_equal(seal_key_generate(&k), 0);
		assert_int_equal(
		    seal_key_format_line(&k, text + n, sizeof(text) - n), 0);
		n += strlen(text + n);
	}
	expect_bad_ring(text, "line 9: more than 8 keys");
}

static void test_key_file(void **state)
{
	struct seal_keyring kr;
	char want[256], path[128];

	snprintf(path, sizeof(path), "%s", tu_path("key"));

	tu_write_file(path, "# site key\n" KAT_ID " " KAT_KEY "\n", 0600);
	assert_int_equal(seal_keyring_load(path, 0, &kr, err, sizeof(err)), 0);
	assert_int_equal(kr.n, 1);
	seal_keyring_wipe(&kr);

	/* Readable by group or others: refused. */
	tu_write_file(path, KAT_ID " " KAT_KEY "\n", 0640);
	assert_int_equal(seal_keyring_load(path, 0, &kr, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want),
	         "%s: mode 0640 allows group/other access (want 0600)", path);
	assert_string_equal(err, want);
	assert_true(tu_all_zero(&kr, sizeof(kr)));

	/* Not root's (the owner is checked only as root can chown). */
	if (geteuid() == 0) {
		tu_write_file(path, KAT_ID " " KAT_KEY "\n", 0600);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(
		    seal_keyring_load(path, 1, &kr, err, sizeof(err)),
		    PG_ERR_UNSAFE_FILE);
		snprintf(want, sizeof(want),
		         "%s: must be owned by uid 0 (is 65534)", path);
		assert_string_equal(err, want);
		assert_int_equal(chown(path, 0, 0), 0);
		assert_int_equal(
		    seal_keyring_load(path, 1, &kr, err, sizeof(err)), 0);
		seal_keyring_wipe(&kr);
	}

	/* A symlink to a good key file: refused. */
	tu_write_file(path, KAT_ID " " KAT_KEY "\n", 0600);
	assert_int_equal(symlink(path, tu_path("link")), 0);
	assert_int_equal(
	    seal_keyring_load(tu_path("link"), 0, &kr, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);

	/* No key, a bad line (the file named, no key material). */
	tu_write_file(path, "# nothing yet\n", 0600);
	assert_int_equal(seal_keyring_load(path, 0, &kr, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s: no key", path);
	assert_string_equal(err, want);
	tu_write_file(path, KAT_ID " " KAT_KEY "x\n", 0600);
	assert_int_equal(seal_keyring_load(path, 0, &kr, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	assert_null(strstr(err, KAT_KEY));
	assert_true(tu_all_zero(&kr, sizeof(kr)));

	assert_int_equal(
	    seal_keyring_load(tu_path("none"), 0, &kr, err, sizeof(err)),
	    PG_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_other_user),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_key_line),
	    cmocka_unit_test(test_key_file_bad_lines),
	    cmocka_unit_test(test_key_file),
	};

	return cmocka_run_group_tests(tests, tu_setup_tmpdir,
	                              tu_teardown_tmpdir);
}
