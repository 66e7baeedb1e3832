/* SPDX-License-Identifier: BSD-3-Clause */
/* Monotonic milliseconds and deadlines; immune to wall-clock jumps. */
#include "config.h"

#include <limits.h>
#include <time.h>

#include "timeutil.h"

int64_t time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int time_left_ms(int64_t deadline)
{
	int64_t left = deadline - time_mono_ms();

	if (left <= 0)
		return 0;
	/* poll() takes an int; a deadline that far out is effectively none. */
	if (left > INT_MAX)
		return INT_MAX;
	return (int)left;
}

struct timespec time_mono_timespec(int64_t deadline)
{
	struct timespec ts;

	if (deadline < 0)
		deadline = 0;
	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
	return ts;
}
