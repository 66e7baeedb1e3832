/* SPDX-License-Identifier: BSD-3-Clause */
/* Monotonic clock and deadlines, so every wait in phiguard is bounded. */
#ifndef PHIGUARD_COMMON_TIMEUTIL_H
#define PHIGUARD_COMMON_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t time_mono_ms(void);

/* Microseconds on CLOCK_MONOTONIC (request latency figures). */
int64_t time_mono_us(void);

/* Milliseconds left until deadline (a time_mono_ms() value), never < 0. */
int time_left_ms(int64_t deadline);

/* deadline (a time_mono_ms() value) as an absolute CLOCK_MONOTONIC time:
 * what pthread_cond_timedwait takes on a condition variable whose clock
 * is CLOCK_MONOTONIC (pthread_condattr_setclock). */
struct timespec time_mono_timespec(int64_t deadline);

#endif
