/* SPDX-License-Identifier: BSD-3-Clause */
/* push_load: the built push.so loads and its table matches; a missing
 * file, a relative path, a file or directory others could have written,
 * and a table of another version or build are refused. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "pam/push_load.h"

#ifndef PUSH_OBJECT_PATH
#error "PUSH_OBJECT_PATH must name the built push.so (see Makefile.am)"
#endif

static void test_loads_built_object(void **state)
{
	struct push_load pl;
	char err[256] = "";

	(void)state;
	assert_int_equal(
	    push_load_open(&pl, PUSH_OBJECT_PATH, err, sizeof(err)), 0);
	assert_non_null(pl.api);
	assert_int_equal(pl.api->version, PUSH_API_VERSION);
	assert_non_null(pl.api->start);
	push_load_close(&pl);
	assert_null(pl.handle);
	assert_null(pl.api);
	push_load_close(&pl); /* a zeroed one too */
}

static void test_missing(void **state)
{
	struct push_load pl;
	char err[256] = "";

	(void)state;
	assert_int_equal(push_load_open(&pl, "/nonexistent/phiguard/push.so",
	                                err, sizeof(err)),
	                 PG_ERR_NOTFOUND);
	assert_null(pl.api);
	assert_non_null(strstr(err, "/nonexistent/phiguard/push.so"));
}

static void test_relative(void **state)
{
	struct push_load pl;
	char err[256] = "";

	(void)state;
	assert_int_equal(push_load_open(&pl, "push.so", err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "absolute"));
}

/* Copy the built object to dir/push.so with mode. */
static void copy_object(const char *dir, mode_t mode, char *out, size_t len)
{
	char buf[65536];
	ssize_t n;
	int in, fd;

	snprintf(out, len, "%s/push.so", dir);
	in = open(PUSH_OBJECT_PATH, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	assert_true(fd >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(fd, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	close(in);
}

static void test_writable(void **state)
{
	char tmpl[] = "pg-test_push_load.XXXXXX", cwd[PATH_MAX / 2];
	char dir[PATH_MAX / 2 + 64], path[PATH_MAX], err[512] = "";
	struct push_load pl;

	(void)state;
	if (geteuid() != 0)
		skip(); /* root-owned copies are needed */
	/* In the build tree, whose directories are root's and 0755 (not
	 * /tmp: sticky, but writable by all, which push_load refuses). */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/%s", cwd, tmpl);
	assert_int_equal(chmod(dir, 0755), 0);
	copy_object(dir, 0755, path, sizeof(path));
	/* The copy itself is fine... */
	if (push_load_open(&pl, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	push_load_close(&pl);
	/* ...not once group or others may write it... */
	assert_int_equal(chmod(path, 0775), 0);
	assert_int_equal(push_load_open(&pl, path, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "not writable by group or others"));
	assert_int_equal(chmod(path, 0757), 0);
	assert_int_equal(push_load_open(&pl, path, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	/* ...nor in a directory they may write... */
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(push_load_open(&pl, path, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, dir));
	/* ...nor when another user owns it. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chown(path, 1, 1), 0);
	assert_int_equal(push_load_open(&pl, path, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_non_null(strstr(err, "uid 1"));
	unlink(path);
	rmdir(dir);
}

static void test_check_version(void **state)
{
	struct push_api api = {
	    .version = PUSH_API_VERSION,
	    .package_version = PACKAGE_VERSION,
	    .push_size = sizeof(struct push),
	    .cfg_size = sizeof(struct push_cfg),
	};
	char err[256] = "";

	(void)state;
	assert_int_equal(push_load_check(&api, err, sizeof(err)), 0);
	api.version = PUSH_API_VERSION + 1;
	assert_int_equal(push_load_check(&api, err, sizeof(err)),
	                 PG_ERR_VERSION);
	api.version = PUSH_API_VERSION;
	api.package_version = "0.0-other";
	assert_int_equal(push_load_check(&api, err, sizeof(err)),
	                 PG_ERR_VERSION);
	assert_non_null(strstr(err, "0.0-other"));
	api.package_version = NULL;
	assert_int_equal(push_load_check(&api, err, sizeof(err)),
	                 PG_ERR_VERSION);
	api.package_version = PACKAGE_VERSION;
	api.push_size--;
	assert_int_equal(push_load_check(&api, err, sizeof(err)),
	                 PG_ERR_VERSION);
	api.push_size++;
	api.cfg_size++;
	assert_int_equal(push_load_check(&api, err, sizeof(err)),
	                 PG_ERR_VERSION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loads_built_object),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_relative),
	    cmocka_unit_test(test_writable),
	    cmocka_unit_test(test_check_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
