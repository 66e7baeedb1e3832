/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for common/log.c on stderr: the plain format (date, ident,
 * pid) and, when stderr is the journal (JOURNAL_STREAM names it), one
 * "<N>" syslog priority per line and nothing journald adds itself. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "testutil.h"

/*
 * Point stderr at a fresh file in tu_tmpdir; with journal set, also set
 * JOURNAL_STREAM to that file's "dev:ino" (as systemd does for a unit
 * whose stderr is the journal), else to something that is not it.
 */
static void stderr_to_file(const char *name, int journal)
{
	char v[64];
	struct stat st;
	int fd;

	fd =
	    open(tu_path(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + (journal ? 0 : 1));
	assert_int_equal(setenv("JOURNAL_STREAM", v, 1), 0);
	assert_true(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
}

static int save_stderr(void **state)
{
	int *fd = malloc(sizeof(*fd));

	if (fd == NULL || (*fd = dup(STDERR_FILENO)) < 0)
		return -1;
	*state = fd;
	return tu_setup_tmpdir(state);
}

static int restore_stderr(void **state)
{
	int *fd = *state;

	unsetenv("JOURNAL_STREAM");
	log_setrequest(0);
	dup2(*fd, STDERR_FILENO);
	close(*fd);
	free(fd);
	return tu_teardown_tmpdir(state);
}

static void each_level(void)
{
	log_alert("ALERT PG-ALERT-TEST kind=test");
	log_errx("an error");
	log_warnx("a warning");
	log_notice("audit event=x");
	log_info("some info");
	log_debug("some debug");
}

static void test_journal_priorities(void **state)
{
	char *got;

	(void)state;
	stderr_to_file("journal", 1);
	log_init("phiguardd", 1, PG_LOG_DEBUG);
	each_level();
	got = tu_read_file(tu_path("journal"), NULL);
	/* Nothing else: journald adds time, ident and pid itself. */
	assert_string_equal(got, "<1>ALERT PG-ALERT-TEST kind=test\n"
	                         "<3>an error\n"
	                         "<4>a warning\n"
	                         "<5>audit event=x\n"
	                         "<6>some info\n"
	                         "<7>some debug\n");
	free(got);
}

/* A line break inside a message would start a line journald files at
 * the default priority: an alert's second half would lose its level. */
static void test_journal_one_line(void **state)
{
	char *got;

	(void)state;
	stderr_to_file("journal", 1);
	log_init("phiguardd", 1, PG_LOG_INFO);
	log_setrequest(7);
	log_alert("ALERT two\nlines");
	errno = ENOENT;
	log_warn("open x");
	got = tu_read_file(tu_path("journal"), NULL);
	assert_string_equal(got, "<1>[req 7] ALERT two lines\n"
	                         "<4>[req 7] open x: No such file or "
	                         "directory\n");
	free(got);
}

static void *log_from_thread(void *arg)
{
	(void)arg;
	log_info("from a worker");
	return NULL;
}

/* The request id is the setting thread's: a worker thread logging while
 * the event loop serves request 7 does not carry its tag. */
static void test_request_is_per_thread(void **state)
{
	pthread_t t;
	char *got;

	(void)state;
	stderr_to_file("journal", 1);
	log_init("phiguardd", 1, PG_LOG_INFO);
	log_setrequest(7);
	assert_int_equal(pthread_create(&t, NULL, log_from_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	log_info("from the loop");
	got = tu_read_file(tu_path("journal"), NULL);
	assert_string_equal(got, "<6>from a worker\n"
	                         "<6>[req 7] from the loop\n");
	free(got);
}

/* JOURNAL_STREAM inherited from a unit by a process whose stderr went
 * elsewhere: not the journal, so the plain format. */
static void test_plain_when_not_journal(void **state)
{
	char *got, *nl;
	size_t n = 0;

	(void)state;
	stderr_to_file("plain", 0);
	log_init("phiguardd", 1, PG_LOG_INFO);
	log_alert("ALERT x");
	log_info("y");
	log_debug("not shown at info");
	got = tu_read_file(tu_path("plain"), NULL);
	for (nl = got; (nl = strchr(nl, '\n')) != NULL; nl++)
		n++;
	assert_int_equal(n, 2);
	assert_true(got[0] >= '1' && got[0] <= '9'); /* the date */
	assert_non_null(strstr(got, " phiguardd["));
	assert_non_null(strstr(got, "]: ALERT x\n"));
	assert_null(strstr(got, "<1>"));
	free(got);
}

/* log_enabled says what the level lets through, as the emitters do. */
static void test_enabled(void **state)
{
	(void)state;
	log_init("phiguardd", 1, PG_LOG_ERR);
	assert_true(log_enabled(PG_LOG_ERR));
	assert_false(log_enabled(PG_LOG_INFO));
	assert_false(log_enabled(PG_LOG_DEBUG));
	log_init("phiguardd", 1, PG_LOG_INFO);
	assert_true(log_enabled(PG_LOG_ERR));
	assert_true(log_enabled(PG_LOG_INFO));
	assert_false(log_enabled(PG_LOG_DEBUG));
	log_init("phiguardd", 1, PG_LOG_DEBUG);
	assert_true(log_enabled(PG_LOG_DEBUG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_journal_priorities,
	                                    save_stderr, restore_stderr),
	    cmocka_unit_test_setup_teardown(test_journal_one_line, save_stderr,
	                                    restore_stderr),
	    cmocka_unit_test_setup_teardown(test_request_is_per_thread,
	                                    save_stderr, restore_stderr),
	    cmocka_unit_test_setup_teardown(test_plain_when_not_journal,
	                                    save_stderr, restore_stderr),
	    cmocka_unit_test(test_enabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
