/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-verb request counts and latency. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "strbuf.h"
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
	struct strbuf sb;
	size_t start;
	unsigned v;

	strbuf_init(&sb, out, outsz);
	for (v = 0; v < VERBSTATS_MAX; v++) {
		if (s->n[v] == 0)
			continue;
		start = strbuf_len(&sb);
		if (start > 0)
			strbuf_putc(&sb, '\n');
		strbuf_puts(&sb, proto_verb_name((enum pg_verb)v));
		strbuf_putc(&sb, ' ');
		strbuf_put_u64(&sb, s->n[v]);
		strbuf_putc(&sb, ' ');
		strbuf_put_u64(&sb, s->sum_us[v] / s->n[v]);
		strbuf_putc(&sb, ' ');
		strbuf_put_u64(&sb, s->max_us[v]);
		if (strbuf_finish(&sb) != 0) {
			/* Whole lines only. */
			strbuf_truncate(&sb, start);
			return PG_ERR_TOOLONG;
		}
	}
	return 0;
}
