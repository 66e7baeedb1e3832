/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the socket deadline watchdog (daemon/authz/sockguard.c). */
#include "config.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/authz/sockguard.h"
#include "timeutil.h"

static int sv[2];

static int open_pair(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static int close_pair(void **state)
{
	(void)state;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The socket still carries data both ways. */
static void assert_alive(void)
{
	char c = 0;

	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_int_equal(c, 'x');
}

/* Wait (at most 5 s, so a broken guard fails instead of hanging) for
 * sv[0] to read end-of-file. */
static void assert_eof_soon(void)
{
	struct pollfd p = {sv[0], POLLIN, 0};
	char c;

	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(sv[0], &c, 1), 0);
}

static void test_fires_at_deadline(void **state)
{
	struct sockguard g;
	int64_t t0 = time_mono_ms();

	(void)state;
	assert_int_equal(sockguard_start(&g, t0 + 100), 0);
	sockguard_setfd(&g, sv[0]);
	assert_eof_soon();
	/* Not before the deadline. */
	assert_true(time_mono_ms() - t0 >= 100);
	assert_int_equal(sockguard_stop(&g), 1);
}

static void test_stop_before_deadline(void **state)
{
	struct sockguard g;

	(void)state;
	assert_int_equal(sockguard_start(&g, time_mono_ms() + 60000), 0);
	sockguard_setfd(&g, sv[0]);
	assert_int_equal(sockguard_stop(&g), 0);
	assert_alive();
}

static void test_withdrawn_fd_untouched(void **state)
{
	struct sockguard g;

	(void)state;
	assert_int_equal(sockguard_start(&g, time_mono_ms() + 50), 0);
	sockguard_setfd(&g, sv[0]);
	sockguard_setfd(&g, -1);
	sleep_ms(150);
	assert_int_equal(sockguard_stop(&g), 0);
	assert_alive();
}

static void test_late_fd_fires_at_once(void **state)
{
	struct sockguard g;

	(void)state;
	assert_int_equal(sockguard_start(&g, time_mono_ms() - 1), 0);
	sleep_ms(50);
	sockguard_setfd(&g, sv[0]);
	assert_eof_soon();
	assert_int_equal(sockguard_stop(&g), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fires_at_deadline, open_pair,
	                                    close_pair),
	    cmocka_unit_test_setup_teardown(test_stop_before_deadline,
	                                    open_pair, close_pair),
	    cmocka_unit_test_setup_teardown(test_withdrawn_fd_untouched,
	                                    open_pair, close_pair),
	    cmocka_unit_test_setup_teardown(test_late_fd_fires_at_once,
	                                    open_pair, close_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
