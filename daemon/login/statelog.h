/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Persistence of the login state: an append-only log in state_dir.
 *
 * state.log holds one record per line, each ending in a space and the
 * CRC-32 (IEEE 802.3, as zlib's crc32()) of the bytes before that space, as
 * 8 lower-case hex digits:
 *
 *   phiguard-state 1 <crc>                       first line: format version
 *   R <floor-step> <until> <crc>                 recovery in force
 *   U <user> <last-step> <claimed-at> <locked-until> <n> <t1> ... <tn>
 *     [P <push-until> <m> <p1> ... <pm>] [N] <crc>
 *
 * The P part (push fatigue: suspension end and failed push times) is
 * written only when the user has some; logs from before it read as none.
 * N marks an unenrolled entry (state.h, PG_STATE_MAX_UNENROLLED); a
 * daemon from before it reads such a record as damage.
 * Fields are separated by one space; numbers are unsigned decimal; times
 * are unix seconds. A U record is the whole state of one user and the last
 * one wins, so replay is "apply in order". <user> is written like a
 * protocol value; username_check() admits only names that need no escape,
 * so a stored name is the name itself and anything else is damage.
 */
#ifndef PHIGUARD_DAEMON_STATELOG_H
#define PHIGUARD_DAEMON_STATELOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/pending.h"
#include "login/state.h"
#include "proto.h"

#define PG_STATELOG_FILE "state.log"

struct pg_statelog; /* opaque */

/*
 * Check that dir is a directory nobody but root and owners (n_owners
 * uids: the daemon's, see pg_client_daemon_uids) can change, nor reach
 * through a symbolic link (safefile_open_dir): whoever could remove
 * state.log could erase lockouts and used codes at the next start.
 * Returns 0, or PG_ERR_CONFIG with "path: reason" in err (errlen bytes).
 */
int statelog_check_dir(const char *dir, const uid_t *owners, size_t n_owners,
                       char *err, size_t errlen);

/*
 * Open the state directory and keep a descriptor to it (works after
 * privileges are dropped, for the files the new user may write). Same
 * checks and errors as statelog_check_dir(), plus PG_ERR_NOMEM. Free with
 * statelog_free().
 */
int statelog_new(const char *dir, const uid_t *owners, size_t n_owners,
                 struct pg_statelog **out, char *err, size_t errlen);

/*
 * Replay state.log into st (normally empty), then rewrite it compacted.
 * A torn final line (no "\n": a crash mid-write) is dropped and logged at
 * info. A damaged record elsewhere, or a file that cannot be opened or
 * read, is logged as an error and kept as state.log.corrupt-<now>; the
 * valid records are applied and st enters recovery (state_begin_recovery).
 * Sets *recovered to 1 in that case, else 0. Returns 0, or PG_ERR_IO /
 * PG_ERR_NOMEM / PG_ERR_BUSY when the state cannot be made durable: the
 * daemon must not serve then.
 */
int statelog_load(struct pg_statelog *log, struct pg_state *st, int64_t now,
                  int *recovered);

/*
 * Append user's entry (nothing when st has none) and fsync it. When the
 * log has grown well past its compacted size, compact instead. After a
 * failed append the log is rewritten (compacted) before anything else is
 * durable, and while the log is failing (below) a change made before the
 * next retry is refused at once. Returns 0 once the change is durable,
 * else PG_ERR_IO or PG_ERR_NOMEM; the change stays in st either way.
 */
int statelog_record(struct pg_statelog *log, const struct pg_state *st,
                    const char *user, int64_t now);

/*
 * Rewrite the log from st: state.log.tmp, fsync, rename over state.log,
 * fsync the directory. Returns 0, PG_ERR_IO or PG_ERR_NOMEM; on error the
 * previous log stays in place.
 *
 * Once the log is loaded, a failed rewrite puts it in the failed state:
 * logged once (a second line when it is writable again), the reason kept
 * for STATUS (statelog_failure), and no new attempt before a pause of 1 s,
 * doubling up to 16 s while attempts fail (statelog_retry_at).
 */
int statelog_compact(struct pg_statelog *log, const struct pg_state *st,
                     int64_t now);

/*
 * If the log is failing or an append left it to be rewritten, and the
 * pause is over, rewrite it now (the daemon's timer, so that it recovers
 * without waiting for a request). Returns 0 (nothing to do, or mended),
 * PG_ERR_IO (still failing, or not yet time) or PG_ERR_NOMEM. With the
 * writer running and the log intact (a growth compaction failed), the
 * rewrite goes to the writer as the growth path's does: PG_ERR_BUSY, and
 * statelog_drain() takes its result.
 */
int statelog_retry(struct pg_statelog *log, const struct pg_state *st,
                   int64_t now);

/* time_mono_ms() at which the next retry is due, or 0 when not failing
 * (or while a rewrite is with the writer: statelog_drain() takes it). */
int64_t statelog_retry_at(const struct pg_statelog *log);

/* What failed ("write: No space left on device"), or NULL when the log is
 * fine. Valid until the next call on log. */
const char *statelog_failure(const struct pg_statelog *log);

/*
 * Group commit (commitq.h): start the writer thread on the loaded log.
 * From then on statelog_submit() queues records, the loop watches
 * statelog_fd() and calls statelog_drain(), and the requests are answered
 * through done once durable. Returns 0, PG_ERR_INTERNAL (not loaded, or
 * started already), PG_ERR_NOMEM or PG_ERR_IO.
 */
int statelog_start(struct pg_statelog *log, const struct pg_completion *done);

/* statelog_submit() queued the record: its request is answered later. */
#define PG_STATELOG_QUEUED 1

/* What to do once a queued request has been answered: fn(arg, rc), rc as
 * given to done (or PG_ERR_INTERNAL when it could not be answered at
 * all: an error exit). Called once, on the loop's thread. */
struct statelog_after {
	void (*fn)(void *arg, int rc);
	void *arg;
};

/*
 * Make user's entry in st durable before answering the request ticket
 * with resp (copied). Returns PG_STATELOG_QUEUED when the record went to
 * the writer: done is called with (ticket, 0, resp) once it is durable,
 * or with (ticket, rc, NULL) when it cannot be made so (the answers
 * statelog_record gives), and then after (may be NULL), which is the
 * caller's again on any other return. Returns 0 when nothing needs
 * writing (st has
 * no entry for user) or, without a writer, when statelog_record made it
 * durable; else PG_ERR_IO at once while the log is failing and its pause
 * lasts, PG_ERR_NOMEM or PG_ERR_INTERNAL. The change stays in st either
 * way. See statelog.c for why this grants nothing that is not durable.
 */
int statelog_submit(struct pg_statelog *log, const struct pg_state *st,
                    const char *user, int64_t now, uint64_t ticket,
                    const struct pg_msg *resp,
                    const struct statelog_after *after);

/*
 * statelog_submit() for a change no single answer waits on: user's entry
 * in st is queued, and after->fn(arg, rc) is called once it is durable
 * (rc 0) or cannot be made so; nothing is answered. Returns as
 * statelog_submit() does; after is called only on PG_STATELOG_QUEUED.
 * A site-mode CLAIM makes its step durable this way while the directory
 * decides it (verbs_auth.c).
 */
int statelog_submit_then(struct pg_statelog *log, const struct pg_state *st,
                         const char *user, int64_t now,
                         const struct statelog_after *after);

/* The eventfd that is readable when the writer has finished a batch. */
int statelog_fd(const struct pg_statelog *log);

/*
 * On the loop, when statelog_fd() is readable: answer the requests whose
 * records are durable; after a failed batch, rewrite the log from st
 * (statelog_record's failure path) and answer them and every record
 * queued since with its result. When the log has grown, compact it on
 * the writer thread: only a snapshot of st is taken here, the writer
 * writes it in queue order (statelog.c) and the next drains switch to the
 * new file, or report the failure as statelog_compact() does.
 */
void statelog_drain(struct pg_statelog *log, const struct pg_state *st,
                    int64_t now);

/* At shutdown, before the final compaction: let the writer finish the
 * queue (a compaction in it too), answer every request, and stop it.
 * Back to statelog_record's way after. No-op without a writer. */
void statelog_stop(struct pg_statelog *log, const struct pg_state *st,
                   int64_t now);

/* Commits (a batch's fdatasync, or a compaction that carried queued
 * records) and the records they made durable since the start, for
 * STATUS. Without a writer, one commit per record. */
void statelog_counts(const struct pg_statelog *log, uint64_t *commits,
                     uint64_t *records);

/* Close the log and the directory (stopping a writer without answering
 * its requests: for error exits). Accepts NULL. */
void statelog_free(struct pg_statelog *log);

#endif
