/* SPDX-License-Identifier: BSD-3-Clause */
/* The unindexed-search warning: slapd does not tell a client that a search
 * scanned every entry, so at start and after each reload a thread of its
 * own times the membership searches lookups will make against an indexed
 * baseline (dir_index_times()) and warns, with the figures and the index
 * line to add, when one is far slower. It never delays a decision. */
#ifndef PHIGUARD_DAEMON_INDEXPROBE_H
#define PHIGUARD_DAEMON_INDEXPROBE_H

#include <stdint.h>

#include "authz/dir_config.h"
#include "authz/directory.h"

/* A search is reported as unindexed when its time (the fastest of
 * DIR_INDEX_SAMPLES) is at least RATIO
 * times the baseline's and at least FLOOR_US slower: an unindexed
 * equality costs a scan of every entry under the base, which grows with
 * the directory, while on a directory of a few hundred entries a scan
 * costs less than the floor and is not worth a warning. */
#define INDEXPROBE_RATIO    5
#define INDEXPROBE_FLOOR_US 1000

struct indexprobe;

/* Whether a search taking attr_us against a baseline_us round trip looks
 * unindexed, by the thresholds above. */
int indexprobe_slow(int64_t baseline_us, int64_t attr_us);

/* Log what t measured on server uri: a warning per slow attribute (with
 * the slapd index line to add), else one debug line. Returns how many
 * attributes were reported slow. */
int indexprobe_report(const char *uri, const struct dir_index_times *t);

/* Start probing every server of cfg (copied), in URI order, on a thread
 * of its own. Returns 0 and sets *out, or PG_ERR_NOMEM / PG_ERR_IO (no
 * thread: logged, nothing else happens). */
int indexprobe_start(const struct dir_config *cfg, struct indexprobe **out);

/* Whether p's thread has finished (then indexprobe_free() does not
 * wait). */
int indexprobe_done(struct indexprobe *p);

/* Wait for p's thread (at most the probe's bound: network_timeout_ms +
 * search_timeout_ms per server) and free p. Accepts NULL. */
void indexprobe_free(struct indexprobe *p);

#endif
