/* SPDX-License-Identifier: BSD-3-Clause */
/* What every libFuzzer target here shares: the entry point's prototype and
 * the invariant check. */
#ifndef PHIGUARD_TESTS_FUZZ_H
#define PHIGUARD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called by libFuzzer with each input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is the finding: stop right here for the report. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			__builtin_trap();                                      \
	} while (0)

#endif
