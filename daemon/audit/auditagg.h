/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Repeated audit events made into one record and a count, so that a
 * script repeating a refused request cannot flood the trail or the log.
 * Pure, like detect.h: the caller passes the time and records what it is
 * handed.
 *
 * An event's key is everything its record would say (event, decision,
 * reason, user, service, tty, rhost, uid) plus the requester's uid. The
 * first event of a key is recorded as usual (auditagg_note says so);
 * later ones within AUDITAGG_INTERVAL_MS of it are only counted. When
 * that interval has ended (auditagg_expire), a key that counted any is
 * handed out once as an aggregate: the key's fields and count = how many
 * were not recorded one by one; then the key is forgotten, and its next
 * event starts a new interval with a record of its own. So a flood of
 * one kind costs two records per interval, and every event is either a
 * record or inside a count.
 *
 * Memory: at most AUDITAGG_MAX keys, and at most AUDITAGG_PER_UID of one
 * non-root requester. A new key beyond either bound first hands out (and
 * forgets) the least recently seen key: of the same requester if that
 * one is at its bound, else of anyone. Lookups are a linear scan over
 * the bounded table, comparing a 64-bit hash first.
 */
#ifndef PHIGUARD_DAEMON_AUDITAGG_H
#define PHIGUARD_DAEMON_AUDITAGG_H

#include <stddef.h>
#include <stdint.h>

#include "audit/auditfmt.h"

#define AUDITAGG_MAX         256
#define AUDITAGG_PER_UID     32
#define AUDITAGG_INTERVAL_MS 10000

struct pg_auditagg; /* opaque */

/* An event to count; strings borrowed, NULL for absent. */
struct auditagg_event {
	long peer; /* the requester's uid (key only) */
	int noise; /* handed back with its aggregate */
	const char *event;
	const char *decision;
	const char *reason;
	const char *user;
	const char *service;
	const char *tty;
	const char *rhost;
	long uid; /* the record's uid field; -1 = null */
};

/*
 * Receives an aggregate: rec (time_ms 0, host NULL, count > 0) and the
 * noise flag of its key. rec and its strings last for the call only.
 */
typedef void (*auditagg_emit_fn)(void *arg, const struct audit_rec *rec,
                                 int noise);

/* An empty table. 0 and *out, or PG_ERR_NOMEM. Free with auditagg_free
 * (accepts NULL; hands out nothing: flush with auditagg_expire first). */
int auditagg_new(struct pg_auditagg **out);
void auditagg_free(struct pg_auditagg *g);

/*
 * Count ev at now_ms (a monotonic clock). Returns 1 if ev is the first
 * of its key in an interval and must be recorded by the caller, 0 if it
 * was counted into an aggregate. Values are cut to the bytes an audit
 * line keeps. An eviction hands an aggregate to emit(arg, ...) first.
 */
int auditagg_note(struct pg_auditagg *g, const struct auditagg_event *ev,
                  int64_t now_ms, auditagg_emit_fn emit, void *arg);

/*
 * Hand out and forget every key whose interval has ended at now_ms (every
 * key, if all). Returns the milliseconds until the next interval ends,
 * or -1 if the table is empty.
 */
int64_t auditagg_expire(struct pg_auditagg *g, int64_t now_ms, int all,
                        auditagg_emit_fn emit, void *arg);

/* Events counted into aggregates (not recorded one by one) since start,
 * and keys held now. */
uint64_t auditagg_counted(const struct pg_auditagg *g);
size_t auditagg_keys(const struct pg_auditagg *g);

#endif
