/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-verb request counts and latency for STATUS: how many requests of
 * each verb were answered, and their mean and worst time from the line
 * read to the answer (a parked AUTHZ included). Pure bookkeeping. */
#ifndef PHIGUARD_DAEMON_VERBSTATS_H
#define PHIGUARD_DAEMON_VERBSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define VERBSTATS_MAX 32 /* verbs counted: enum pg_verb values below this */

struct verbstats {
	uint64_t n[VERBSTATS_MAX];
	uint64_t sum_us[VERBSTATS_MAX];
	uint64_t max_us[VERBSTATS_MAX];
};

/* Count one answered request of verb that took us microseconds (a
 * negative time counts as 0; unknown verbs are not counted). */
void verbstats_add(struct verbstats *s, enum pg_verb verb, int64_t us);

/*
 * "VERB count mean_us max_us" for every verb seen, LF-separated, in enum
 * order, into out (outsz bytes, NUL-terminated; "" if none). Returns 0 or
 * PG_ERR_TOOLONG (out holds the lines that fitted).
 */
int verbstats_format(const struct verbstats *s, char *out, size_t outsz);

#endif
