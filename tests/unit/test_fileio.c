/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/fileio.c: whole writes through short writes and
 * signals, and each step of the atomic replace and how its failure shows. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "fileio.h"
#include "testutil.h"

#define PIPE_BYTES (1024 * 1024)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_write_all_file(void **state)
{
	const char *path = tu_path("out");
	size_t len;
	char *text;
	int fd;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fileio_write_all(fd, "hello, ", 7), 0);
	assert_int_equal(fileio_write_all(fd, "", 0), 0);
	assert_int_equal(fileio_write_all(fd, "world\n", 6), 0);
	assert_int_equal(close(fd), 0);
	text = tu_read_file(path, &len);
	assert_int_equal(len, 13);
	assert_string_equal(text, "hello, world\n");
	free(text);
}

/*
 * A slow reader makes the writes short, and a fast interval timer without
 * SA_RESTART interrupts the blocked ones: every byte must still arrive once,
 * in order.
 */
static void test_write_all_pipe(void **state)
{
	struct itimerval every = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
	struct sigaction sa;
	unsigned char *buf, chunk[4096];
	size_t i, got = 0;
	ssize_t n;
	int p[2], status, bad = 0;
	pid_t pid;

	(void)state;
	assert_non_null(buf = malloc(PIPE_BYTES));
	for (i = 0; i < PIPE_BYTES; i++)
		buf[i] = pattern(i);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		while ((n = read(p[0], chunk, sizeof(chunk))) != 0) {
			if (n < 0)
				_exit(2);
			for (i = 0; i < (size_t)n; i++)
				bad |= chunk[i] != pattern(got + i);
			got += (size_t)n;
			usleep(50);
		}
		/* The child's copy too: valgrind checks leaks at _exit. */
		free(buf);
		_exit(bad || got != PIPE_BYTES ? 1 : 0);
	}
	close(p[0]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	assert_int_equal(fileio_write_all(p[1], buf, PIPE_BYTES), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	close(p[1]);
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(buf);
}

static void test_write_all_error(void **state)
{
	int p[2];

	(void)state;
	errno = 0;
	assert_int_equal(fileio_write_all(-1, "x", 1), PG_ERR_IO);
	assert_int_equal(errno, EBADF);
	/* No reader left: EPIPE, not a signal (SIGPIPE ignored here). */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	errno = 0;
	assert_int_equal(fileio_write_all(p[1], "x", 1), PG_ERR_IO);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
}

/* Write text to tu_tmpdir/name and return the open descriptor. */
static int temp_with(const char *name, const char *text)
{
	int fd =
	    open(tu_path(name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fileio_write_all(fd, text, strlen(text)), 0);
	return fd;
}

static void assert_content(const char *name, const char *want)
{
	char *text = tu_read_file(tu_path(name), NULL);

	assert_string_equal(text, want);
	free(text);
}

/* "file" holding "old\n" in tu_tmpdir; returns tu_tmpdir opened. */
static int dir_with_old_file(void)
{
	int dirfd;

	tu_write_file(tu_path("file"), "old\n", 0600);
	dirfd = open(tu_tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	return dirfd;
}

static void test_commit(void **state)
{
	enum fileio_step failed = FILEIO_STEP_RENAME;
	struct stat st;
	int dirfd, fd;

	(void)state;
	dirfd = dir_with_old_file();
	fd = temp_with("file.tmp", "new\n");
	assert_int_equal(fileio_commit(fd, dirfd, "file.tmp", "file", &failed),
	                 0);
	/* Untouched on success. */
	assert_int_equal(failed, FILEIO_STEP_RENAME);
	assert_content("file", "new\n");
	assert_int_equal(stat(tu_path("file.tmp"), &st), -1);
	/* fd stays open and now writes to the file in place. */
	assert_int_equal(fileio_write_all(fd, "more\n", 5), 0);
	assert_content("file", "new\nmore\n");
	close(fd);

	/* A new name works as well; failed may be NULL. */
	fd = temp_with("fresh.tmp", "fresh\n");
	assert_int_equal(fileio_commit(fd, dirfd, "fresh.tmp", "fresh", NULL),
	                 0);
	assert_content("fresh", "fresh\n");
	close(fd);
	close(dirfd);
}

static void test_commit_failures(void **state)
{
	enum fileio_step failed;
	char tmp[256], name[256];
	int dirfd, fd;

	(void)state;
	dirfd = dir_with_old_file();

	/* fsync of the file: nothing renamed. */
	fd = temp_with("file.tmp", "new\n");
	errno = 0;
	assert_int_equal(fileio_commit(-1, dirfd, "file.tmp", "file", &failed),
	                 PG_ERR_IO);
	assert_int_equal(errno, EBADF);
	assert_int_equal(failed, FILEIO_STEP_FSYNC);
	assert_content("file", "old\n");
	assert_content("file.tmp", "new\n");

	/* The rename: the temp file is the caller's to remove. */
	errno = 0;
	assert_int_equal(
	    fileio_commit(fd, dirfd, "absent.tmp", "file", &failed), PG_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(failed, FILEIO_STEP_RENAME);
	assert_content("file", "old\n");
	assert_int_equal(fileio_commit(fd, dirfd, "file.tmp", "file", NULL), 0);
	close(fd);
	close(dirfd);

	/*
	 * The fsync of the directory: AT_FDCWD is no descriptor to fsync,
	 * but renameat() takes it (and absolute names ignore it anyway), so
	 * only that last step fails; the new file is already in place.
	 */
	fd = temp_with("late.tmp", "late\n");
	snprintf(tmp, sizeof(tmp), "%s", tu_path("late.tmp"));
	snprintf(name, sizeof(name), "%s", tu_path("file"));
	errno = 0;
	assert_int_equal(fileio_commit(fd, AT_FDCWD, tmp, name, &failed),
	                 PG_ERR_IO);
	assert_int_equal(errno, EBADF);
	assert_int_equal(failed, FILEIO_STEP_FSYNC_DIR);
	assert_content("file", "late\n");
	close(fd);
}

#define WITH_TMPDIR(t)                                                         \
	cmocka_unit_test_setup_teardown(t, tu_setup_tmpdir, tu_teardown_tmpdir)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    WITH_TMPDIR(test_write_all_file),
	    cmocka_unit_test(test_write_all_pipe),
	    cmocka_unit_test(test_write_all_error),
	    WITH_TMPDIR(test_commit),
	    WITH_TMPDIR(test_commit_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
