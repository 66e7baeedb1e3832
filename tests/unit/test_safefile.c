/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for safe opening of secret and config files
 * (common/safefile.c). Run as root for the owner checks. */
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
#include "safefile.h"
#include "secret.h"

static char path[128];
static char err[512];
static char want[512];

/* Create tu_tmpdir/name with len bytes of content, return its path. */
static const char *make_file(const char *name, const char *content, size_t len,
                             mode_t mode)
{
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tu_tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

static void expect_refused(const char *p, const struct safefile_policy *pol,
                           int rc, const char *reason)
{
	int fd = -7;
	char *buf = (char *)&fd;
	size_t len = 99;
	struct stat st, before;

	assert_int_equal(safefile_open(p, pol, &fd, err, sizeof(err)), rc);
	assert_int_equal(fd, -7);
	snprintf(want, sizeof(want), "%s: %s", p, reason);
	assert_string_equal(err, want);
	err[0] = '\0';
	assert_int_equal(safefile_read(p, pol, &buf, &len, err, sizeof(err)),
	                 rc);
	assert_ptr_equal(buf, (char *)&fd);
	assert_int_equal(len, 99);
	assert_string_equal(err, want);
	/* Same refusal, and no out-parameter written. */
	err[0] = '\0';
	memset(&st, 0x5a, sizeof(st));
	before = st;
	assert_int_equal(
	    safefile_read_stat(p, pol, &buf, &len, &st, err, sizeof(err)), rc);
	assert_ptr_equal(buf, (char *)&fd);
	assert_int_equal(len, 99);
	assert_memory_equal(&st, &before, sizeof(st));
	assert_string_equal(err, want);
}

static void test_policies(void **state)
{
	assert_int_equal(safefile_secret_policy.owner, 0);
	assert_int_equal(safefile_secret_policy.allow_other_owner, 0);
	assert_int_equal(safefile_secret_policy.forbidden_mode, 077);
	assert_int_equal(safefile_secret_policy.max_size, 1048576);
	assert_int_equal(safefile_config_policy.owner, 0);
	assert_int_equal(safefile_config_policy.forbidden_mode, 022);
	assert_int_equal(safefile_config_policy.max_size, 1048576);
}

static void test_open_ok(void **state)
{
	const char *p = make_file("ok", "secret\n", 7, 0600);
	int fd = -1, fl;

	if (geteuid() != 0)
		skip();
	assert_int_equal(
	    safefile_open(p, &safefile_secret_policy, &fd, err, sizeof(err)),
	    0);
	assert_true(fd >= 0);
	/* Close-on-exec kept, non-blocking mode dropped again. */
	fl = fcntl(fd, F_GETFD);
	assert_true(fl >= 0 && (fl & FD_CLOEXEC));
	fl = fcntl(fd, F_GETFL);
	assert_true(fl >= 0 && !(fl & O_NONBLOCK));
	assert_int_equal(close(fd), 0);
}

static void test_read_ok(void **state)
{
	struct safefile_policy pol = safefile_secret_policy;
	char *buf = NULL;
	size_t len = 0;
	const char *p;

	pol.allow_other_owner = 1;
	p = make_file("data", "a\0b\nc", 5, 0400);
	assert_int_equal(safefile_read(p, &pol, &buf, &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "a\0b\nc", 6);
	secret_free(buf, len + 1);

	p = make_file("empty", "", 0, 0600);
	assert_int_equal(safefile_read(p, &pol, &buf, &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	secret_free(buf, len + 1);
}

static void test_read_stat(void **state)
{
	struct safefile_policy pol = safefile_secret_policy;
	struct stat st, want_st;
	char *buf = NULL;
	size_t len = 0;
	const char *p;

	pol.allow_other_owner = 1;
	p = make_file("stat", "abc\n", 4, 0600);
	assert_int_equal(chown(p, 4242, 4343), geteuid() == 0 ? 0 : -1);
	assert_int_equal(stat(p, &want_st), 0);
	assert_int_equal(
	    safefile_read_stat(p, &pol, &buf, &len, &st, err, sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "abc\n");
	secret_free(buf, len + 1);
	/* The fstat of the file that was read: same file, owner, mode. */
	assert_int_equal(st.st_ino, want_st.st_ino);
	assert_int_equal(st.st_dev, want_st.st_dev);
	assert_int_equal(st.st_uid, want_st.st_uid);
	assert_int_equal(st.st_gid, want_st.st_gid);
	assert_int_equal(st.st_mode, want_st.st_mode);
	assert_int_equal(st.st_size, 4);

	/* st_out may be NULL. */
	assert_int_equal(
	    safefile_read_stat(p, &pol, &buf, &len, NULL, err, sizeof(err)), 0);
	assert_string_equal(buf, "abc\n");
	secret_free(buf, len + 1);
}

static void test_missing(void **state)
{
	snprintf(path, sizeof(path), "%s/nope", tu_tmpdir);
	expect_refused(path, &safefile_secret_policy, PG_ERR_NOTFOUND,
	               "No such file or directory");
	/* A path through a regular file. */
	make_file("file", "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/file/x", tu_tmpdir);
	expect_refused(path, &safefile_secret_policy, PG_ERR_NOTFOUND,
	               "Not a directory");
}

static void test_symlink(void **state)
{
	char link[128];
	const char *p = make_file("target", "x", 1, 0600);

	snprintf(link, sizeof(link), "%s/link", tu_tmpdir);
	assert_int_equal(symlink(p, link), 0);
	expect_refused(link, &safefile_secret_policy, PG_ERR_UNSAFE_FILE,
	               "is a symbolic link");
	/* Even a link to a perfectly good file, even for config. */
	expect_refused(link, &safefile_config_policy, PG_ERR_UNSAFE_FILE,
	               "is a symbolic link");
}

static void test_not_regular(void **state)
{
	snprintf(path, sizeof(path), "%s/dir", tu_tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_refused(path, &safefile_secret_policy, PG_ERR_UNSAFE_FILE,
	               "not a regular file");
	/* A FIFO must be refused without blocking on the open. */
	snprintf(path, sizeof(path), "%s/fifo", tu_tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_refused(path, &safefile_secret_policy, PG_ERR_UNSAFE_FILE,
	               "not a regular file");
	expect_refused("/dev/null", &safefile_secret_policy, PG_ERR_UNSAFE_FILE,
	               "not a regular file");
}

static void test_mode(void **state)
{
	struct safefile_policy pol = safefile_secret_policy;
	int fd = -1;
	const char *p;

	pol.allow_other_owner = 1;
	p = make_file("m644", "x", 1, 0644);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "mode 0644 allows group/other access (want 0600)");
	p = make_file("m640", "x", 1, 0640);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "mode 0640 allows group/other access (want 0600)");
	p = make_file("m604", "x", 1, 0604);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "mode 0604 allows group/other access (want 0600)");
	p = make_file("m601", "x", 1, 0601);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "mode 0601 allows group/other access (want 0600)");

	/* Config files may be world-readable but not writable. */
	pol = safefile_config_policy;
	pol.allow_other_owner = 1;
	p = make_file("c644", "x", 1, 0644);
	assert_int_equal(safefile_open(p, &pol, &fd, err, sizeof(err)), 0);
	assert_int_equal(close(fd), 0);
	p = make_file("c664", "x", 1, 0664);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "mode 0664 allows group/other write access (want 0644)");
	p = make_file("c646", "x", 1, 0646);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "mode 0646 allows group/other write access (want 0644)");
}

static void test_owner(void **state)
{
	struct safefile_policy pol = safefile_secret_policy;
	const char *p = make_file("owned", "x", 1, 0600);
	int fd = -1;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(p, 65534, 65534), 0);
	expect_refused(p, &safefile_secret_policy, PG_ERR_UNSAFE_FILE,
	               "must be owned by uid 0 (is 65534)");
	/* The owner check is what allow_other_owner turns off ... */
	pol.allow_other_owner = 1;
	assert_int_equal(safefile_open(p, &pol, &fd, err, sizeof(err)), 0);
	assert_int_equal(close(fd), 0);
	/* ... and owner can name someone else. */
	pol.allow_other_owner = 0;
	pol.owner = 65534;
	assert_int_equal(safefile_open(p, &pol, &fd, err, sizeof(err)), 0);
	assert_int_equal(close(fd), 0);
	/* root_too: root as well as owner, nobody else. */
	pol.owner = 65533;
	pol.root_too = 1;
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "must be owned by uid 65533 or root (is 65534)");
	assert_int_equal(chown(p, 0, 0), 0);
	assert_int_equal(safefile_open(p, &pol, &fd, err, sizeof(err)), 0);
	assert_int_equal(close(fd), 0);
}

static void test_size(void **state)
{
	struct safefile_policy pol = safefile_secret_policy;
	static char big[1048577];
	char *buf = NULL;
	size_t len = 0;
	const char *p;

	pol.allow_other_owner = 1;
	pol.max_size = 16;
	p = make_file("s16", "0123456789abcdef", 16, 0600);
	assert_int_equal(safefile_read(p, &pol, &buf, &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, 16);
	secret_free(buf, len + 1);
	p = make_file("s17", "0123456789abcdefg", 17, 0600);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE, "larger than 16 bytes");

	/* The default cap is 1 MiB, inclusive. */
	pol = safefile_secret_policy;
	pol.allow_other_owner = 1;
	memset(big, 'x', sizeof(big));
	p = make_file("mib", big, sizeof(big) - 1, 0600);
	assert_int_equal(safefile_read(p, &pol, &buf, &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, 1048576);
	secret_free(buf, len + 1);
	p = make_file("mib1", big, sizeof(big), 0600);
	expect_refused(p, &pol, PG_ERR_UNSAFE_FILE,
	               "larger than 1048576 bytes");
}

static void test_no_err_buffer(void **state)
{
	int fd = -7;

	snprintf(path, sizeof(path), "%s/nope", tu_tmpdir);
	assert_int_equal(
	    safefile_open(path, &safefile_secret_policy, &fd, NULL, 0),
	    PG_ERR_NOTFOUND);
	assert_int_equal(fd, -7);
	/* A short buffer is truncated, never overrun. */
	memset(err, 'Z', sizeof(err));
	assert_int_equal(
	    safefile_open(path, &safefile_secret_policy, &fd, err, 8),
	    PG_ERR_NOTFOUND);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'Z');
}

/* Directories for a privileged writer: every component checked. */
static void test_open_dir(void **state)
{
	uid_t me = geteuid();
	char link[160];
	int fd = -7;

	snprintf(path, sizeof(path), "%s/d/e", tu_tmpdir);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 PG_ERR_NOTFOUND);
	assert_int_equal(fd, -7);
	snprintf(path, sizeof(path), "%s/d", tu_tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/d/e", tu_tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	/* Doubled slashes are one separator. */
	snprintf(path, sizeof(path), "%s//d/e/", tu_tmpdir);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(
	    safefile_open_dir("relative/dir", &me, 1, &fd, err, sizeof(err)),
	    PG_ERR_INVAL);

	/* A sticky, world-writable parent (as /tmp) is fine; the directory
	 * itself may not be, sticky or not. */
	snprintf(path, sizeof(path), "%s/d", tu_tmpdir);
	assert_int_equal(chmod(path, 01777), 0);
	snprintf(path, sizeof(path), "%s/d/e", tu_tmpdir);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/d", tu_tmpdir);
	snprintf(want, sizeof(want),
	         "%s: writable by group or other (mode 1777)", path);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_string_equal(err, want);
	/* Without the sticky bit the parent lets others rename e. */
	assert_int_equal(chmod(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/d/e", tu_tmpdir);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "/d: writable by group or other"));
	snprintf(path, sizeof(path), "%s/d", tu_tmpdir);
	assert_int_equal(chmod(path, 0700), 0);

	/* A symbolic link, last or in the middle. */
	snprintf(link, sizeof(link), "%s/l", tu_tmpdir);
	snprintf(path, sizeof(path), "%s/d", tu_tmpdir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(path, sizeof(path), "%s/l/e", tu_tmpdir);
	snprintf(want, sizeof(want), "%s: is a symbolic link", link);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_string_equal(err, want);
	assert_int_equal(safefile_open_dir(link, &me, 1, &fd, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_string_equal(err, want);

	/* An owner outside the list, at any level (needs root to chown). */
	if (me != 0)
		return;
	snprintf(path, sizeof(path), "%s/d", tu_tmpdir);
	assert_int_equal(chown(path, 65534, 0), 0);
	snprintf(path, sizeof(path), "%s/d/e", tu_tmpdir);
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "/d: owned by uid 65534, not by root"));
	me = 65534;
	assert_int_equal(safefile_open_dir(path, &me, 1, &fd, err, sizeof(err)),
	                 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policies),
	    cmocka_unit_test(test_open_ok),
	    cmocka_unit_test(test_read_ok),
	    cmocka_unit_test(test_read_stat),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_symlink),
	    cmocka_unit_test(test_not_regular),
	    cmocka_unit_test(test_mode),
	    cmocka_unit_test(test_owner),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_no_err_buffer),
	    cmocka_unit_test(test_open_dir),
	};

	return cmocka_run_group_tests(tests, tu_setup_tmpdir,
	                              tu_teardown_tmpdir);
}
