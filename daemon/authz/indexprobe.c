/* SPDX-License-Identifier: BSD-3-Clause */
/* The unindexed-search warning, on a thread of its own. */
#include "config.h"

#include "authz/indexprobe.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/thread.h"
#include "err.h"
#include "log.h"
#include "strbuf.h"

struct indexprobe {
	pthread_t thread;
	pthread_mutex_t mu;
	int done;
	struct dir_config cfg;
};

int indexprobe_slow(int64_t baseline_us, int64_t attr_us)
{
	if (baseline_us < 1)
		baseline_us = 1;
	return attr_us >= INDEXPROBE_RATIO * baseline_us &&
	       attr_us - baseline_us >= INDEXPROBE_FLOOR_US;
}

int indexprobe_report(const char *uri, const struct dir_index_times *t)
{
	const struct membership_kind *k;
	char figures[160];
	struct strbuf sb;
	int nslow = 0;
	size_t i;

	strbuf_init(&sb, figures, sizeof figures);
	for (i = 0; (k = membership_kind(i)) != NULL; i++)
		if ((t->attrs & k->bit) && t->attr_us[i] >= 0)
			strbuf_printf(&sb, ", %s %lld us", k->attr,
			              (long long)t->attr_us[i]);
	(void)strbuf_finish(&sb);
	log_info("directory: %s: index probe: an indexed search %lld us%s "
	         "(fastest of %d)",
	         uri, (long long)t->baseline_us,
	         strbuf_len(&sb) > 0 ? figures
	                             : ", no membership search to time",
	         DIR_INDEX_SAMPLES);
	for (i = 0; (k = membership_kind(i)) != NULL; i++) {
		if (!(t->attrs & k->bit) || t->attr_us[i] < 0 ||
		    !indexprobe_slow(t->baseline_us, t->attr_us[i]))
			continue;
		nslow++;
		log_warnx("directory: %s: searches by %s look unindexed: "
		          "(%s=...) took %lld us%s against %lld us for an "
		          "indexed search (threshold: %dx and +%d us); every "
		          "decision pays that per group search. Add to the "
		          "slapd database: \"index %s eq\" (slapd.conf) or "
		          "\"olcDbIndex: %s eq\" (cn=config)",
		          uri, k->attr, k->attr, (long long)t->attr_us[i],
		          t->timed_out ? " and timed out" : "",
		          (long long)t->baseline_us, INDEXPROBE_RATIO,
		          INDEXPROBE_FLOOR_US, k->attr, k->attr);
	}
	return nslow;
}

static void *probe_main(void *arg)
{
	struct indexprobe *p = arg;
	struct dir_index_times t;
	size_t i;
	int rc;

	for (i = 0; i < p->cfg.nuris; i++) {
		if ((rc = dir_index_times(&p->cfg, i, &t)) != 0)
			log_debug("directory: %s: index probe: %s",
			          p->cfg.uris[i], pg_err_name(rc));
		else
			indexprobe_report(p->cfg.uris[i], &t);
	}
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int indexprobe_start(const struct dir_config *cfg, struct indexprobe **out)
{
	struct indexprobe *p;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return PG_ERR_NOMEM;
	p->cfg = *cfg;
	pthread_mutex_init(&p->mu, NULL);
	if (thread_start(&p->thread, probe_main, p) != 0) {
		log_warnx("directory: no thread for the index probe");
		pthread_mutex_destroy(&p->mu);
		free(p);
		return PG_ERR_IO;
	}
	*out = p;
	return 0;
}

int indexprobe_done(struct indexprobe *p)
{
	int done;

	pthread_mutex_lock(&p->mu);
	done = p->done;
	pthread_mutex_unlock(&p->mu);
	return done;
}

void indexprobe_free(struct indexprobe *p)
{
	if (p == NULL)
		return;
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
