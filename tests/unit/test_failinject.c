/* SPDX-License-Identifier: BSD-3-Clause */
/* Failure injection for the config parser (common/conf.c), the token store
 * reader (common/tokens.c) and phiguardctl's token store writer
 * (daemon/ctl/tokenstore.c), with the file and allocation layers under
 * them (common/safefile.c, common/fileio.c): this test is linked with
 * -Wl,--wrap for every libc call they allocate or do I/O with (Makefile.am),
 * and each operation is run once per such call with exactly that call
 * failing, then once per read and write with exactly that one short. Every run
 * must end in the right answer or a clean error (a negative pg_err and a
 * reason), leak no descriptor, and, for a store rewrite, leave the old store or
 * the new one and no temporary file. Leaks of memory are found by the ASan
 * (LeakSanitizer) and valgrind runs of the suite (contrib/run-tests.sh
 * --sanitizers, --valgrind). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "daemon/ctl/tokenstore.h"
#include "err.h"
#include "testutil.h"
#include "tokens.h"

/* ------------------------------------------------------------ injection */

/* The wrapped call to fail (counted from 0 since arm()), or -1: none. */
static long fail_at = -1;
static long calls;
/* Set while the test itself does I/O in the middle of an operation. */
static int paused;
/* Set: only reads and writes are counted, and the chosen one moves a
 * single byte instead of failing (a short read or write is no error). */
static int short_io;

static void arm(long n)
{
	calls = 0;
	fail_at = n;
}

/* Disarm; 1 if the armed call was reached (and failed). */
static int disarm(void)
{
	int hit = fail_at >= 0 && calls > fail_at;

	fail_at = -1;
	return hit;
}

/* 1 if this read or write is the chosen one (errno is then set to e). */
static int inject_io(int e)
{
	if (paused || fail_at < 0 || calls++ != fail_at)
		return 0;
	errno = e;
	return 1;
}

/* 1 if this call is the one to fail (errno is then set to e). */
static int inject(int e)
{
	return !short_io && inject_io(e);
}

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __real_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st);
int __real_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int __wrap_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_renameat(int ofd, const char *o, int nfd, const char *n);
int __wrap_renameat(int ofd, const char *o, int nfd, const char *n);
int __real_mkostemp(char *tmpl, int flags);
int __wrap_mkostemp(char *tmpl, int flags);
int __real_fchown(int fd, uid_t uid, gid_t gid);
int __wrap_fchown(int fd, uid_t uid, gid_t gid);
int __real_fchmod(int fd, mode_t mode);
int __wrap_fchmod(int fd, mode_t mode);
int __real_flock(int fd, int op);
int __wrap_flock(int fd, int op);

void *__wrap_malloc(size_t n)
{
	return inject(ENOMEM) ? NULL : __real_malloc(n);
}

/* open(2)'s mode argument is there only with O_CREAT or O_TMPFILE. */
static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
	           ? (mode_t)va_arg(ap, int)
	           : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return inject(EIO) ? -1 : __real_open(path, flags, mode);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return inject(EIO) ? -1 : __real_openat(dirfd, path, flags, mode);
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	if (inject_io(EIO))
		return short_io ? __real_read(fd, buf, n > 1 ? 1 : n) : -1;
	return __real_read(fd, buf, n);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	if (inject_io(ENOSPC))
		return short_io ? __real_write(fd, buf, n > 1 ? 1 : n) : -1;
	return __real_write(fd, buf, n);
}

int __wrap_fstat(int fd, struct stat *st)
{
	return inject(EIO) ? -1 : __real_fstat(fd, st);
}

int __wrap_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return inject(EIO) ? -1 : __real_fstatat(dirfd, path, st, flags);
}

int __wrap_fsync(int fd)
{
	return inject(EIO) ? -1 : __real_fsync(fd);
}

int __wrap_renameat(int ofd, const char *o, int nfd, const char *n)
{
	return inject(EIO) ? -1 : __real_renameat(ofd, o, nfd, n);
}

int __wrap_mkostemp(char *tmpl, int flags)
{
	return inject(ENOSPC) ? -1 : __real_mkostemp(tmpl, flags);
}

int __wrap_fchown(int fd, uid_t uid, gid_t gid)
{
	return inject(EPERM) ? -1 : __real_fchown(fd, uid, gid);
}

int __wrap_fchmod(int fd, mode_t mode)
{
	return inject(EPERM) ? -1 : __real_fchmod(fd, mode);
}

int __wrap_flock(int fd, int op)
{
	return inject(ENOLCK) ? -1 : __real_flock(fd, op);
}

/* ------------------------------------------------------------- checking */

/* Open descriptors of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* One operation: returns its pg_err; err holds the reason on error. */
typedef int (*op_fn)(char *err, size_t errlen);
/* Called after each run of the operation with its result and whether the
 * injected failure was reached. */
typedef void (*check_fn)(int rc, int hit, const char *err);

/*
 * Run op with the 0th, 1st, ... wrapped call failing until a run reaches
 * no injected failure (it then must succeed); with shorten, each read or
 * write in turn moving one byte (every run must then succeed). Returns the
 * number of calls failed, so a test can show it reached some at all.
 */
static long run_one_way(op_fn op, check_fn check, int shorten)
{
	char err[512];
	long n;
	int rc, hit, fds;

	for (n = 0;; n++) {
		fds = count_fds();
		err[0] = '\0';
		short_io = shorten;
		arm(n);
		rc = op(err, sizeof(err));
		hit = disarm();
		short_io = 0;
		if (shorten && rc != 0)
			fail_msg(
			    "read or write %ld made short: error %d (%s): %s",
			    n, rc, pg_strerror(rc), err);
		if (rc != 0) {
			/* A clean error: one of ours, with its reason. */
			assert_true(hit);
			assert_true(rc < 0 && rc >= PG_ERR_LAST &&
			            rc != PG_ERR_INTERNAL);
			if (err[0] == '\0')
				fail_msg("call %ld failed: error %d (%s) "
				         "without a reason",
				         n, rc, pg_strerror(rc));
		}
		assert_int_equal(count_fds(), fds);
		check(rc, hit, err);
		if (!hit) {
			assert_int_equal(rc, 0);
			print_message("%ld calls %s in turn\n", n,
			              shorten ? "made short" : "failed");
			return n;
		}
	}
}

/* Both ways; 1 if both reached calls to break. */
static int run_all(op_fn op, check_fn check)
{
	return run_one_way(op, check, 0) > 0 && run_one_way(op, check, 1) > 0;
}

/* ------------------------------------------------------------- the config */

static const char conf_text[] =
    "[daemon]\nsocket = /run/phiguard/s\nmax_clients = 8\n"
    "[totp]\nwindow = 1\nmax_failures = 4\n"
    "[ldap]\nuri = ldap://a ldap://b\nbase = dc=x\n"
    "[role nurse]\ngroup = cn=nurses,dc=x\ngroup = clinical\n"
    "scopes = phi.read phi.clinical\n"
    "[audit]\naudit_checks = denied\n";
static char conf_dump_want[8192];

static void dump(const struct pg_conf *c, char *out, size_t outsz)
{
	FILE *f = fmemopen(out, outsz, "w");

	assert_non_null(f);
	conf_dump(c, f);
	assert_int_equal(fclose(f), 0);
}

static int load_conf(char *err, size_t errlen)
{
	static struct pg_conf c;
	static char got[8192];
	int rc;

	conf_defaults(&c);
	rc = conf_load(tu_path("phiguard.conf"), 0, &c, err, errlen);
	if (rc == 0) {
		dump(&c, got, sizeof(got));
		assert_string_equal(got, conf_dump_want);
	}
	return rc;
}

static void no_check(int rc, int hit, const char *err)
{
	(void)rc;
	(void)hit;
	(void)err;
}

static void test_conf_load(void **state)
{
	struct pg_conf c;
	char err[256];

	(void)state;
	tu_write_file(tu_path("phiguard.conf"), conf_text, 0644);
	conf_defaults(&c);
	assert_int_equal(
	    conf_load(tu_path("phiguard.conf"), 0, &c, err, sizeof(err)), 0);
	dump(&c, conf_dump_want, sizeof(conf_dump_want));
	assert_true(run_all(load_conf, no_check));
}

/* ------------------------------------------------------ the token store */

#define SECRET_A "JBSWY3DPEHPK3PXP"
#define SECRET_B "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
static const char store_text[] = "# the store\n"
                                 "nurse1 SHA1 6 30 " SECRET_A " token1\n"
                                 "clerk1 SHA256 8 60 " SECRET_B " token1\n"
                                 "nurse1 SHA512 6 30 " SECRET_B " phone\n";

static int load_tokens(char *err, size_t errlen)
{
	struct pg_token_list list;
	unsigned bad = 0;
	int rc;

	memset(&list, 0, sizeof(list));
	rc = tokens_load_user(tu_path("tokens"), 1, "nurse1", &list, &bad, err,
	                      errlen);
	if (rc == 0) {
		assert_int_equal(list.n, 2);
		assert_int_equal(bad, 0);
		assert_string_equal(list.tok[1].label, "phone");
	}
	tokens_list_wipe(&list);
	return rc;
}

static void test_tokens_load(void **state)
{
	(void)state;
	tu_write_file(tu_path("tokens"), store_text, 0600);
	assert_true(run_all(load_tokens, no_check));
}

static int read_store(char *err, size_t errlen)
{
	struct tokenstore_buf buf = {NULL, 0, 0};
	int rc;

	rc = tokenstore_read(tu_path("tokens"), &buf, err, errlen);
	if (rc == 0) {
		assert_int_equal(buf.len, strlen(store_text));
		assert_memory_equal(buf.data, store_text, buf.len);
	} else {
		assert_int_equal(buf.len, 0);
	}
	tokenstore_buf_wipe(&buf);
	return rc;
}

static void test_tokenstore_read(void **state)
{
	(void)state;
	tu_write_file(tu_path("tokens"), store_text, 0600);
	assert_true(run_all(read_store, no_check));
}

/* The edit: add a token for agent1. */
static int add_agent(struct tokenstore_buf *store, void *arg, char *err,
                     size_t errlen)
{
	struct pg_token tok;
	int rc;

	(void)arg;
	memset(&tok, 0, sizeof(tok));
	snprintf(tok.user, sizeof(tok.user), "agent1");
	tok.alg = PG_ALG_SHA1;
	tok.digits = 6;
	tok.period = 30;
	memset(tok.secret, 0x5a, 20);
	tok.secret_len = 20;
	rc = tokenstore_add(store, &tok, err, errlen);
	tokens_wipe(&tok);
	return rc;
}

static int update_store(char *err, size_t errlen)
{
	paused = 1;
	tu_write_file(tu_path("tokens"), store_text, 0600);
	paused = 0;
	return tokenstore_update(tu_path("tokens"), 1000, add_agent, NULL, err,
	                         errlen);
}

/* Exactly the store and its lock file are left in the directory. */
static void no_leftovers(void)
{
	DIR *d = opendir(tu_tmpdir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, "tokens") != 0 &&
		    strcmp(e->d_name, "tokens.lock") != 0)
			fail_msg("left behind: %s", e->d_name);
	closedir(d);
}

static void check_update(int rc, int hit, const char *err)
{
	char *text = tu_read_file(tu_path("tokens"), NULL);
	int added = strstr(text, "\nagent1 SHA1 6 30 ") != NULL;

	(void)hit;
	/* The old store or the new one: the new one only after a success,
	 * or after a failed fsync of the directory (the one error reported
	 * after the rename). */
	assert_int_equal(strncmp(text, store_text, strlen(store_text)), 0);
	if (rc == 0)
		assert_true(added);
	else if (added)
		assert_non_null(strstr(err, "fsync"));
	else
		assert_string_equal(text, store_text);
	free(text);
	no_leftovers();
}

static void test_tokenstore_update(void **state)
{
	(void)state;
	assert_true(run_all(update_store, check_update));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_conf_load, tu_setup_tmpdir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_tokens_load, tu_setup_tmpdir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_tokenstore_read, tu_setup_tmpdir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_tokenstore_update, tu_setup_tmpdir, tu_teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, tu_setup_oath, tu_teardown_oath);
}
