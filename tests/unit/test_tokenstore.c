/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for phiguardctl's token store writer (daemon/ctl/tokenstore.c):
 * line-preserving edits, the atomic rewrite, its safety checks, locking. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "seal.h"
#include "secret.h"
#include "timeutil.h"
#include "tokens.h"
#include "daemon/ctl/tokenstore.h"
#include "testutil.h"

#define NPROC    8
#define PER_PROC 4

/* The store's path in tu_tmpdir; set by setup(). */
static char store_path[128];

static int setup(void **state)
{
	if (tu_setup_tmpdir(state) != 0)
		return -1;
	snprintf(store_path, sizeof(store_path), "%s", tu_path("tokens"));
	return 0;
}

/* A token with a secret of n bytes, each byte = fill. */
static void make_token(struct pg_token *t, const char *user,
                       enum pg_token_alg alg, size_t n, unsigned char fill,
                       const char *label)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->user, sizeof(t->user), "%s", user);
	t->alg = alg;
	t->digits = 6;
	t->period = 30;
	memset(t->secret, fill, n);
	t->secret_len = n;
	snprintf(t->label, sizeof(t->label), "%s", label);
}

static void buf_set(struct tokenstore_buf *b, const char *text)
{
	tokenstore_buf_wipe(b);
	assert_int_equal(tokenstore_buf_append(b, text, strlen(text)), 0);
}

/* Files in dir other than the store and its lock: leftovers. */
static int count_strays(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(tu_tmpdir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "tokens") != 0 &&
		    strcmp(de->d_name, "tokens.lock") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static void test_buf(void **state)
{
	struct tokenstore_buf b = {0};
	char big[1000];
	size_t i;

	memset(big, 'x', sizeof(big));
	for (i = 0; i < 20; i++)
		assert_int_equal(tokenstore_buf_append(&b, big, sizeof(big)),
		                 0);
	assert_int_equal(b.len, 20 * sizeof(big));
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.data[b.len - 1], 'x');
	tokenstore_buf_wipe(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	tokenstore_buf_wipe(&b);
	tokenstore_buf_wipe(NULL);
	/* An empty append still gives a NUL-terminated buffer. */
	assert_int_equal(tokenstore_buf_append(&b, "", 0), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	tokenstore_buf_wipe(&b);
}

struct seen {
	unsigned lines, tokens;
	char raw[8][160];
	int had_tok[8];
};

static int record_line(const char *raw, size_t rawlen, unsigned lineno,
                       const struct pg_token *tok, void *arg)
{
	struct seen *s = arg;

	assert_int_equal(lineno, s->lines + 1);
	if (s->lines < 8) {
		assert_true(rawlen < sizeof(s->raw[0]));
		memcpy(s->raw[s->lines], raw, rawlen);
		s->had_tok[s->lines] = tok != NULL;
	}
	s->lines++;
	s->tokens += tok != NULL;
	return 0;
}

static int ignore_line(const char *raw, size_t rawlen, unsigned lineno,
                       const struct pg_token *tok, void *arg)
{
	assert_null(tok);
	return 0;
}

static int stop_at_two(const char *raw, size_t rawlen, unsigned lineno,
                       const struct pg_token *tok, void *arg)
{
	(*(unsigned *)arg)++;
	return lineno == 2 ? PG_ERR_IO : 0;
}

static void test_foreach(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	    "\n"
	    "bob SHA1 9 30 JBSWY3DPEHPK3PXP\n"
	    "   \t# indented comment\n"
	    "carol SHA256 8 60 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
	struct seen s;
	char *longline;
	unsigned bad = 99, calls = 0;

	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    tokenstore_foreach(text, strlen(text), record_line, &s, &bad), 0);
	assert_int_equal(s.lines, 6);
	assert_int_equal(s.tokens, 2);
	assert_int_equal(bad, 1); /* bob's 9 digits */
	assert_string_equal(s.raw[1],
	                    "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n");
	assert_true(s.had_tok[1] && !s.had_tok[0] && !s.had_tok[3]);
	/* The last line has no newline and is passed as it is. */
	assert_string_equal(
	    s.raw[5], "carol SHA256 8 60 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_true(s.had_tok[5]);

	/* A callback's error stops the walk and is returned. */
	assert_int_equal(
	    tokenstore_foreach(text, strlen(text), stop_at_two, &calls, NULL),
	    PG_ERR_IO);
	assert_int_equal(calls, 2);

	/* Empty text: no calls. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(tokenstore_foreach(NULL, 0, record_line, &s, &bad), 0);
	assert_int_equal(s.lines, 0);
	assert_int_equal(bad, 0);

	/* A NUL byte hides the rest of a line: never a token. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(tokenstore_foreach("alice SHA1 6 30 JBSWY3DPEHPK3PXP\0"
	                                    "x\n",
	                                    35, record_line, &s, &bad),
	                 0);
	assert_int_equal(s.tokens, 0);
	assert_int_equal(bad, 1);

	/* Over-long lines are bad, over-long comments are comments. */
	longline = malloc(TOKENSTORE_MAX_LINE + 10);
	assert_non_null(longline);
	memset(longline, 'a', TOKENSTORE_MAX_LINE + 9);
	longline[TOKENSTORE_MAX_LINE + 9] = '\0';
	tokenstore_foreach(longline, strlen(longline), ignore_line, NULL, &bad);
	assert_int_equal(bad, 1);
	longline[0] = '#';
	tokenstore_foreach(longline, strlen(longline), ignore_line, NULL, &bad);
	assert_int_equal(bad, 0);
	free(longline);
}

static void test_label_check(void **state)
{
	char max[PG_TOKEN_MAX_LABEL + 2];

	assert_int_equal(tokenstore_label_check("phone"), 0);
	assert_int_equal(tokenstore_label_check("a.b_c@d+e-F9"), 0);
	assert_int_equal(tokenstore_label_check(""), PG_ERR_INVAL);
	assert_int_equal(tokenstore_label_check(NULL), PG_ERR_INVAL);
	assert_int_equal(tokenstore_label_check("my phone"), PG_ERR_INVAL);
	assert_int_equal(tokenstore_label_check("a/b"), PG_ERR_INVAL);
	assert_int_equal(tokenstore_label_check("#x"), PG_ERR_INVAL);
	memset(max, 'l', sizeof(max));
	max[PG_TOKEN_MAX_LABEL] = '\0';
	assert_int_equal(tokenstore_label_check(max), 0);
	max[PG_TOKEN_MAX_LABEL] = 'l';
	max[PG_TOKEN_MAX_LABEL + 1] = '\0';
	assert_int_equal(tokenstore_label_check(max), PG_ERR_INVAL);
}

static void test_add(void **state)
{
	struct tokenstore_buf b = {0};
	struct pg_token t, back;
	char err[256], line[TOKENSTORE_MAX_LINE];

	make_token(&t, "alice", PG_ALG_SHA1, 20, 0x11, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	/* The auto label is written back into the token. */
	assert_string_equal(t.label, "token1");
	assert_int_equal(b.data[b.len - 1], '\n');
	memcpy(line, b.data, b.len - 1);
	line[b.len - 1] = '\0';
	assert_int_equal(tokens_parse_line(line, &back, err, sizeof(err)), 0);
	assert_string_equal(back.user, "alice");
	assert_int_equal(back.secret_len, 20);
	assert_memory_equal(back.secret, t.secret, 20);
	assert_string_equal(back.label, "token1");

	make_token(&t, "alice", PG_ALG_SHA512, 64, 0x22, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	assert_string_equal(t.label, "token2");
	/* Another user's labels do not count. */
	make_token(&t, "bob", PG_ALG_SHA256, 32, 0x33, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	assert_string_equal(t.label, "token1");

	/* Explicit duplicate label: refused, buffer unchanged. */
	make_token(&t, "alice", PG_ALG_SHA1, 20, 0x44, "token2");
	{
		size_t before = b.len;

		assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)),
		                 PG_ERR_INVAL);
		assert_non_null(strstr(err, "already has a token labelled "
		                            "token2"));
		assert_int_equal(b.len, before);
	}
	/* An invalid label is refused up front. */
	make_token(&t, "alice", PG_ALG_SHA1, 20, 0x44, "bad label");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)),
	                 PG_ERR_INVAL);
	tokens_wipe(&back);
	tokens_wipe(&t);
	tokenstore_buf_wipe(&b);
}

static void test_add_next_free_label(void **state)
{
	struct tokenstore_buf b = {0};
	struct pg_token t;
	char err[256];

	/* token1 and token3 taken (token03 and tokenX are not auto labels). */
	buf_set(&b, "carol SHA1 6 30 JBSWY3DPEHPK3PXP token1\n"
	            "carol SHA1 6 30 JBSWY3DPEHPK3PXP token3\n"
	            "carol SHA1 6 30 JBSWY3DPEHPK3PXP token03\n"
	            "carol SHA1 6 30 JBSWY3DPEHPK3PXP tokenX\n");
	make_token(&t, "carol", PG_ALG_SHA1, 20, 0x55, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	assert_string_equal(t.label, "token2");
	make_token(&t, "carol", PG_ALG_SHA1, 20, 0x55, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	assert_string_equal(t.label, "token4");
	tokens_wipe(&t);
	tokenstore_buf_wipe(&b);
}

static void test_add_limit(void **state)
{
	struct tokenstore_buf b = {0};
	struct pg_token t;
	char err[256];
	int i;

	for (i = 0; i < PG_TOKENS_MAX_PER_USER; i++) {
		make_token(&t, "dave", PG_ALG_SHA1, 20, (unsigned char)i, "");
		assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	}
	make_token(&t, "dave", PG_ALG_SHA1, 20, 0x77, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)),
	                 PG_ERR_INVAL);
	assert_non_null(strstr(err, "maximum"));
	/* Others are not limited by dave's count. */
	make_token(&t, "erin", PG_ALG_SHA1, 20, 0x77, "");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	tokens_wipe(&t);
	tokenstore_buf_wipe(&b);
}

static void test_add_must_read_back(void **state)
{
	struct tokenstore_buf b = {0};
	struct pg_token t;
	char err[256];

	/* username_check() accepts '#', but the line would be a comment. */
	make_token(&t, "#root", PG_ALG_SHA1, 20, 0x11, "x");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)),
	                 PG_ERR_INVAL);
	assert_non_null(strstr(err, "comment"));
	assert_int_equal(b.len, 0);
	/* Too short a secret cannot be formatted. */
	make_token(&t, "frank", PG_ALG_SHA1, 4, 0x11, "x");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)),
	                 PG_ERR_INVAL);
	assert_int_equal(b.len, 0);
	tokens_wipe(&t);
	tokenstore_buf_wipe(&b);
}

static void test_add_keeps_lines(void **state)
{
	static const char old[] = "# site tokens\n"
	                          "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	                          "broken line that is not a token\n"
	                          "bob  SHA1\t6 30 JBSWY3DPEHPK3PXP";
	struct tokenstore_buf b = {0};
	struct pg_token t;
	char err[256];

	buf_set(&b, old);
	make_token(&t, "gina", PG_ALG_SHA1, 20, 0x66, "tab");
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	/* Old text intact, a newline added after its unterminated last line,
	 * then exactly one new line. */
	assert_memory_equal(b.data, old, strlen(old));
	assert_int_equal(b.data[strlen(old)], '\n');
	assert_true(strncmp(b.data + strlen(old) + 1, "gina SHA1 6 30 ", 15) ==
	            0);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_null(
	    memchr(b.data + strlen(old) + 1, '\n', b.len - strlen(old) - 2));
	tokens_wipe(&t);
	tokenstore_buf_wipe(&b);
}

static void test_remove(void **state)
{
	static const char old[] =
	    "# keep me\n"
	    "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	    "bob SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	    "alice SHA1 9 30 JBSWY3DPEHPK3PXP broken\n"
	    "alice SHA256 8 60 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ laptop\n"
	    "alice SHA1 6 30 JBSWY3DPEHPK3PXP";
	struct tokenstore_buf b = {0};
	unsigned removed = 0;

	/* One by label. */
	buf_set(&b, old);
	assert_int_equal(tokenstore_remove(&b, "alice", "laptop", &removed), 0);
	assert_int_equal(removed, 1);
	assert_string_equal(b.data, "# keep me\n"
	                            "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	                            "bob SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	                            "alice SHA1 9 30 JBSWY3DPEHPK3PXP broken\n"
	                            "alice SHA1 6 30 JBSWY3DPEHPK3PXP");

	/* All of a user's: the unparseable line stays (never lose data). */
	buf_set(&b, old);
	assert_int_equal(tokenstore_remove(&b, "alice", NULL, &removed), 0);
	assert_int_equal(removed, 3);
	assert_string_equal(b.data,
	                    "# keep me\n"
	                    "bob SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	                    "alice SHA1 9 30 JBSWY3DPEHPK3PXP broken\n");

	/* Nothing matched: NOTFOUND, text unchanged, count untouched. */
	buf_set(&b, old);
	removed = 77;
	assert_int_equal(tokenstore_remove(&b, "alice", "nope", &removed),
	                 PG_ERR_NOTFOUND);
	assert_int_equal(tokenstore_remove(&b, "zoe", NULL, &removed),
	                 PG_ERR_NOTFOUND);
	assert_int_equal(removed, 77);
	assert_string_equal(b.data, old);

	/* Removing the only token leaves an empty store. */
	buf_set(&b, "bob SHA1 6 30 JBSWY3DPEHPK3PXP phone\n");
	assert_int_equal(tokenstore_remove(&b, "bob", NULL, &removed), 0);
	assert_int_equal(b.len, 0);
	tokenstore_buf_wipe(&b);
}

/* tokenstore_rewrite's callback: seal under the key in arg, refuse bob. */
static int seal_or_refuse(struct pg_token *tok, unsigned lineno, void *arg,
                          char *err, size_t errlen)
{
	if (strcmp(tok->user, "bob") == 0) {
		snprintf(err, errlen, "line %u: bob", lineno);
		return PG_ERR_PERM;
	}
	return tokens_seal(tok, arg);
}

static void test_rewrite(void **state)
{
	static const char old[] = "# keep me\n"
	                          "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n"
	                          "alice SHA1 9 30 JBSWY3DPEHPK3PXP broken\n"
	                          "carol SHA1 6 30 JBSWY3DPEHPK3PXP";
	static struct pg_token t;
	struct tokenstore_buf b = {0};
	struct seal_keyring kr = {0};
	char err[256], *nl;
	unsigned bad = 0;

	assert_int_equal(seal_key_generate(&kr.keys[0]), 0);
	kr.n = 1;
	buf_set(&b, old);
	assert_int_equal(tokenstore_rewrite(&b, seal_or_refuse, &kr.keys[0],
	                                    &bad, err, sizeof(err)),
	                 0);
	assert_int_equal(bad, 1);
	/* Comment and bad line kept; tokens sealed, opening to the same. */
	assert_null(strstr(b.data, "JBSWY3DPEHPK3PXP phone"));
	assert_non_null(strstr(b.data, "# keep me\nalice SHA1 6 30 pgseal1:"));
	assert_non_null(
	    strstr(b.data, " phone\nalice SHA1 9 30 JBSWY3DPEHPK3PXP broken\n"
	                   "carol SHA1 6 30 pgseal1:"));
	nl = strchr(b.data + strlen("# keep me\n"), '\n');
	*nl = '\0';
	assert_int_equal(tokens_parse_line(b.data + strlen("# keep me\n"), &t,
	                                   err, sizeof(err)),
	                 0);
	assert_int_equal(tokens_open(&t, &kr, err, sizeof(err)), 0);
	assert_int_equal(t.secret_len, 10);
	assert_memory_equal(t.secret, "Hello!\xde\xad\xbe\xef", 10);
	tokens_wipe(&t);

	/* A refusal leaves the text as it was. */
	buf_set(&b, "bob SHA1 6 30 JBSWY3DPEHPK3PXP\n");
	assert_int_equal(tokenstore_rewrite(&b, seal_or_refuse, &kr.keys[0],
	                                    NULL, err, sizeof(err)),
	                 PG_ERR_PERM);
	assert_string_equal(err, "line 1: bob");
	assert_string_equal(b.data, "bob SHA1 6 30 JBSWY3DPEHPK3PXP\n");

	/* tokenstore_add stores a sealed token as its sealed text. */
	make_token(&t, "dave", PG_ALG_SHA256, 32, 0x5a, "phone");
	assert_int_equal(tokens_seal(&t, &kr.keys[0]), 0);
	assert_int_equal(tokenstore_add(&b, &t, err, sizeof(err)), 0);
	assert_non_null(strstr(b.data, t.sealed));
	tokens_wipe(&t);
	tokenstore_buf_wipe(&b);
	seal_keyring_wipe(&kr);
}

struct add_arg {
	struct pg_token tok;
};

static int edit_add(struct tokenstore_buf *store, void *arg, char *err,
                    size_t errlen)
{
	return tokenstore_add(store, &((struct add_arg *)arg)->tok, err,
	                      errlen);
}

static int edit_fail(struct tokenstore_buf *store, void *arg, char *err,
                     size_t errlen)
{
	/* Change the content, then fail: nothing may be written. */
	tokenstore_buf_append(store, "garbage\n", 8);
	snprintf(err, errlen, "refused");
	return PG_ERR_INVAL;
}

static void test_update_new_store(void **state)
{
	struct add_arg a;
	struct stat st;
	char err[256], *text;

	make_token(&a.tok, "alice", PG_ALG_SHA1, 20, 0x11, "");
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    0);
	assert_int_equal(stat(store_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(tu_tmpdir, &st), 0);
	/* The lock file persists, private. */
	{
		char lp[160];

		snprintf(lp, sizeof(lp), "%s.lock", store_path);
		assert_int_equal(stat(lp, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	assert_int_equal(count_strays(), 0);
	text = tu_read_file(store_path, NULL);
	assert_true(strncmp(text, "alice SHA1 6 30 ", 16) == 0);
	assert_non_null(strstr(text, " token1\n"));
	free(text);
	tokens_wipe(&a.tok);
}

static void test_update_keeps_owner_and_lines(void **state)
{
	static const char old[] = "# owned by 4242\n"
	                          "not a token at all\n"
	                          "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n";
	struct add_arg a;
	struct stat st;
	char err[256], *text;

	if (geteuid() != 0)
		skip();
	tu_write_file(store_path, old, 0600);
	assert_int_equal(chown(store_path, 4242, 4343), 0);
	/* As root the store must be root's, so this is refused... */
	make_token(&a.tok, "bob", PG_ALG_SHA1, 20, 0x11, "phone");
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "owned by uid 0"));
	/* ...and once root owns it, the group is kept as it was. */
	assert_int_equal(chown(store_path, 0, 4343), 0);
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    0);
	assert_int_equal(stat(store_path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 4343);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = tu_read_file(store_path, NULL);
	assert_memory_equal(text, old, strlen(old));
	assert_true(strncmp(text + strlen(old), "bob SHA1 6 30 ", 14) == 0);
	free(text);
	tokens_wipe(&a.tok);
}

static void test_update_failed_edit(void **state)
{
	static const char old[] = "alice SHA1 6 30 JBSWY3DPEHPK3PXP phone\n";
	struct stat before, after;
	char err[256], *text;

	tu_write_file(store_path, old, 0600);
	assert_int_equal(stat(store_path, &before), 0);
	assert_int_equal(tokenstore_update(store_path, 1000, edit_fail, NULL,
	                                   err, sizeof(err)),
	                 PG_ERR_INVAL);
	assert_string_equal(err, "refused");
	assert_int_equal(stat(store_path, &after), 0);
	/* Not even rewritten: same inode, same bytes, no temp file. */
	assert_int_equal(before.st_ino, after.st_ino);
	text = tu_read_file(store_path, NULL);
	assert_string_equal(text, old);
	free(text);
	assert_int_equal(count_strays(), 0);
}

static void test_update_refuses_unsafe(void **state)
{
	struct add_arg a;
	char err[256], target[160], lp[160], *text;

	make_token(&a.tok, "alice", PG_ALG_SHA1, 20, 0x11, "");
	snprintf(target, sizeof(target), "%s/target", tu_tmpdir);
	snprintf(lp, sizeof(lp), "%s.lock", store_path);

	/* The store is a symlink: refused, the target untouched. */
	tu_write_file(target, "# target\n", 0600);
	assert_int_equal(symlink(target, store_path), 0);
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "symbolic link"));
	text = tu_read_file(target, NULL);
	assert_string_equal(text, "# target\n");
	free(text);
	unlink(store_path);

	/* Readable by others: refused. */
	tu_write_file(store_path, "# open\n", 0644);
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "mode 0644"));
	unlink(store_path);

	/* The lock file is a symlink: refused, the target untouched. */
	unlink(lp);
	assert_int_equal(symlink(target, lp), 0);
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, ".lock"));
	unlink(lp);

	/* A group-writable directory: refused before anything is created. */
	assert_int_equal(chmod(tu_tmpdir, 0770), 0);
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "writable by group or other"));
	assert_int_equal(chmod(tu_tmpdir, 0700), 0);
	assert_int_equal(access(lp, F_OK), -1);

	/* A missing directory is an I/O error naming it. */
	assert_int_equal(tokenstore_update("/nonexistent-dir/tokens", 1000,
	                                   edit_add, &a, err, sizeof(err)),
	                 PG_ERR_IO);
	assert_non_null(strstr(err, "/nonexistent-dir"));
	unlink(target);
	tokens_wipe(&a.tok);
}

static void test_update_stale_lock_file(void **state)
{
	struct add_arg a;
	char err[256], lp[160];

	/* A lock file left by a crashed run locks nobody out. */
	snprintf(lp, sizeof(lp), "%s.lock", store_path);
	tu_write_file(lp, "", 0600);
	make_token(&a.tok, "alice", PG_ALG_SHA1, 20, 0x11, "");
	assert_int_equal(
	    tokenstore_update(store_path, 1000, edit_add, &a, err, sizeof(err)),
	    0);
	tokens_wipe(&a.tok);
}

static void test_update_lock_timeout(void **state)
{
	struct add_arg a;
	char err[256], lp[160], c;
	int ready[2], done[2], status, fd;
	int64_t t0;
	pid_t pid;

	snprintf(lp, sizeof(lp), "%s.lock", store_path);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Hold the lock until the parent is done, or a failed
		 * parent's assertion would leave us waiting forever. */
		alarm(10);
		fd = open(lp, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	make_token(&a.tok, "alice", PG_ALG_SHA1, 20, 0x11, "");
	t0 = time_mono_ms();
	assert_int_equal(
	    tokenstore_update(store_path, 300, edit_add, &a, err, sizeof(err)),
	    PG_ERR_BUSY);
	assert_true(time_mono_ms() - t0 >= 300);
	assert_non_null(strstr(err, "still locked"));
	assert_int_equal(access(store_path, F_OK), -1);
	assert_int_equal(write(done[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Released by the holder's exit: now it works. */
	assert_int_equal(
	    tokenstore_update(store_path, 300, edit_add, &a, err, sizeof(err)),
	    0);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
	tokens_wipe(&a.tok);
}

/* Child: wait for the start signal, then enroll PER_PROC tokens. */
static void enroll_child(const char *path, int start_fd, int n)
{
	struct add_arg a;
	char user[32], err[256], c;
	int i;

	alarm(60);
	if (read(start_fd, &c, 1) != 0)
		_exit(2);
	snprintf(user, sizeof(user), "user%d", n);
	for (i = 0; i < PER_PROC; i++) {
		make_token(&a.tok, user, PG_ALG_SHA1, 20,
		           (unsigned char)(n * 16 + i), "");
		if (tokenstore_update(path, 20000, edit_add, &a, err,
		                      sizeof(err)) != 0)
			_exit(1);
	}
	_exit(0);
}

struct tally {
	unsigned per_user[NPROC];
	unsigned labels[NPROC]; /* bit i set: token(i+1) seen */
};

static int tally_line(const char *raw, size_t rawlen, unsigned lineno,
                      const struct pg_token *tok, void *arg)
{
	struct tally *t = arg;
	int n, l;

	assert_non_null(tok);
	assert_int_equal(sscanf(tok->user, "user%d", &n), 1);
	assert_int_equal(sscanf(tok->label, "token%d", &l), 1);
	assert_true(n >= 0 && n < NPROC && l >= 1 && l <= PER_PROC);
	t->per_user[n]++;
	t->labels[n] |= 1u << (l - 1);
	/* Each child's secrets are distinct: the line is its own. */
	assert_int_equal(tok->secret[0] >> 4, n);
	return 0;
}

static void test_concurrent_enrolls(void **state)
{
	struct tokenstore_buf b = {0};
	struct tally t;
	pid_t pids[NPROC];
	int start[2], status, i;
	char err[256];
	unsigned bad = 99;

	assert_int_equal(pipe(start), 0);
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(start[1]);
			enroll_child(store_path, start[0], i);
		}
	}
	/* Closing the write end releases every child at once. */
	close(start[0]);
	close(start[1]);
	for (i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(tokenstore_read(store_path, &b, err, sizeof(err)), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(
	    tokenstore_foreach(b.data, b.len, tally_line, &t, &bad), 0);
	assert_int_equal(bad, 0);
	for (i = 0; i < NPROC; i++) {
		assert_int_equal(t.per_user[i], PER_PROC);
		assert_int_equal(t.labels[i], (1u << PER_PROC) - 1);
	}
	assert_int_equal(count_strays(), 0);
	tokenstore_buf_wipe(&b);
}

static void test_read_and_load(void **state)
{
	struct tokenstore_buf b = {0};
	struct safefile_policy pol;
	char err[256];
	struct stat st;

	/* Missing: empty, no error. */
	assert_int_equal(tokenstore_read(store_path, &b, err, sizeof(err)), 0);
	assert_int_equal(b.len, 0);
	tu_write_file(store_path, "# x\n", 0600);
	assert_int_equal(tokenstore_read(store_path, &b, err, sizeof(err)), 0);
	assert_string_equal(b.data, "# x\n");
	tokenstore_buf_wipe(&b);
	/* Unsafe: the error, and an empty buffer. */
	assert_int_equal(chmod(store_path, 0640), 0);
	assert_int_equal(tokenstore_read(store_path, &b, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_null(b.data);
	/* load: NOTFOUND is the caller's to judge; the size cap holds. */
	tokenstore_policy(&pol);
	assert_int_equal(pol.owner, geteuid());
	assert_int_equal(
	    tokenstore_load("/nonexistent", &pol, &b, NULL, err, sizeof(err)),
	    PG_ERR_NOTFOUND);
	assert_int_equal(chmod(store_path, 0600), 0);
	pol.max_size = 3;
	assert_int_equal(
	    tokenstore_load(store_path, &pol, &b, &st, err, sizeof(err)),
	    PG_ERR_UNSAFE_FILE);
	assert_null(b.data);
	pol.max_size = 4;
	assert_int_equal(
	    tokenstore_load(store_path, &pol, &b, &st, err, sizeof(err)), 0);
	assert_int_equal(st.st_size, 4);
	tokenstore_buf_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf),
	    cmocka_unit_test(test_foreach),
	    cmocka_unit_test(test_label_check),
	    cmocka_unit_test(test_rewrite),
	    cmocka_unit_test(test_add),
	    cmocka_unit_test(test_add_next_free_label),
	    cmocka_unit_test(test_add_limit),
	    cmocka_unit_test(test_add_must_read_back),
	    cmocka_unit_test(test_add_keeps_lines),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test_setup_teardown(test_update_new_store, setup,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_update_keeps_owner_and_lines,
	                                    setup, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_update_failed_edit, setup,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_update_refuses_unsafe, setup,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_update_stale_lock_file, setup,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_update_lock_timeout, setup,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_concurrent_enrolls, setup,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_read_and_load, setup,
	                                    tu_teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
