/* SPDX-License-Identifier: BSD-3-Clause */
/* Monotonic clock and deadlines, so every wait in phiguard is bounded. */
#ifndef PHIGUARD_COMMON_TIMEUTIL_H
#define PHIGUARD_COMMON_TIMEUTIL_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t time_mono_ms(void);

/* Microseconds on CLOCK_MONOTONIC (request latency figures). */
int64_t time_mono_us(void);

/* Milliseconds left until deadline (a time_mono_ms() value), never < 0. */
int time_left_ms(int64_t deadline);

#endif
