/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-verb request counts and latency. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "err.h"
#include "core/verbstats.h"

void verbstats_add(struct verbstats *s, enum pg_verb verb, int64_t us)
{
	uint64_t t = us > 0 ? (uint64_t)us : 0;
	const char *name = proto_verb_name(verb);

	if ((unsigned)verb >= VERBSTATS_MAX || name == NULL ||
	    verb == PG_VERB_OK || verb == PG_VERB_ERR)
		return;
	s->n[verb]++;
	s->sum_us[verb] += t;
	if (t > s->max_us[verb])
		s->max_us[verb] = t;
}

int verbstats_format(const struct verbstats *s, char *out, size_t outsz)
{
	size_t pos = 0;
	unsigned v;
	int n;

	if (outsz == 0)
		return PG_ERR_TOOLONG;
	out[0] = '\0';
	for (v = 0; v < VERBSTATS_MAX; v++) {
		if (s->n[v] == 0)
			continue;
		n = snprintf(out + pos, outsz - pos,
		             "%s%s %" PRIu64 " %" PRIu64 " %" PRIu64,
		             pos > 0 ? "\n" : "",
		             proto_verb_name((enum pg_verb)v), s->n[v],
		             s->sum_us[v] / s->n[v], s->max_us[v]);
		if (n < 0 || (size_t)n >= outsz - pos) {
			out[pos] = '\0';
			return PG_ERR_TOOLONG;
		}
		pos += (size_t)n;
	}
	return 0;
}
