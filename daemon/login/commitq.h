/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Group commit: a writer thread appends queued records to a file and makes
 * them durable with one fdatasync per batch (every record queued while the
 * previous batch was being written), off the event loop.
 *
 * Locking: one mutex guards the queue, the finished list and the flags;
 * one condition variable wakes the writer. The writer holds the mutex
 * only to take a batch and to hand it back, never during I/O; the records
 * of a batch belong to it from the take until the hand-back and are not
 * touched by the loop meanwhile. The loop learns of finished batches
 * through an eventfd (commitq_fd) and collects them (commitq_take_done).
 * Everything else here is called on the loop's thread only.
 *
 * Order: batches are written in queue order, one at a time. After a
 * failed batch the writer holds (writes nothing more) until the loop
 * resumes it, so no record is ever appended after a failed one.
 *
 * Rewrites: an item may instead replace the whole file (a compaction).
 * It ends the batch before it: every item queued earlier is written and
 * synced to the old file first. The writer then calls its replace hook,
 * and on success appends every later item to the new file it returns (the
 * caller closes the old one once the rewrite is back). A failed rewrite
 * leaves the old file intact: the writer goes on appending to it, and does
 * not hold.
 */
#ifndef PHIGUARD_DAEMON_COMMITQ_H
#define PHIGUARD_DAEMON_COMMITQ_H

#include <stddef.h>
#include <stdint.h>

struct commitq; /* opaque */

/*
 * One record, or one rewrite; the caller embeds it (first member) in its
 * own item and owns it: it, and rec, stay valid until the item comes back.
 *
 * A rewrite has replace set (NULL: a record, len bytes at rec to append).
 * The writer calls replace(it, &fd, &err) on its thread, without the lock,
 * once every earlier item is durable: it must replace the whole file
 * atomically (the new contents are the caller's, typically rec and len)
 * and return 0 with the new file open for appending in *fd, or PG_ERR_IO
 * with errno in *err and the old file intact.
 */
struct commitq_item {
	struct commitq_item *next;
	const char *rec;
	size_t len;
	int (*replace)(struct commitq_item *it, int *fd, int *err);
	int rc;  /* when done: 0 durable (or replaced), or PG_ERR_IO */
	int err; /* then errno of the failed write, fdatasync or rewrite */
	int fd;  /* a rewrite's new file when rc is 0 (the caller's), else -1 */
};

/* Start a writer appending to fd (O_APPEND). Returns 0, PG_ERR_NOMEM or
 * PG_ERR_IO (no eventfd, no thread). Free with commitq_free(). */
int commitq_new(int fd, struct commitq **out);

/* The eventfd that becomes readable when a batch is done. */
int commitq_fd(const struct commitq *q);

/* Queue it for the writer (a record, or a rewrite: see above). */
void commitq_push(struct commitq *q, struct commitq_item *it);

/*
 * The finished items, in queue order (NULL if none), each with its rc;
 * *batches is set to the number of record batches they came in
 * (fdatasync calls; a rewrite is not one). Resets the eventfd.
 */
struct commitq_item *commitq_take_done(struct commitq *q, uint64_t *batches);

/*
 * Ask the writer to take no new batch. Returns 0 when it is idle (no
 * batch being written: the file may be replaced), or PG_ERR_BUSY when a
 * batch is still being written: it stays held and the eventfd tells when
 * that batch is done. A writer that failed a batch is held already.
 */
int commitq_pause(struct commitq *q);

/* While paused: the queued items not yet taken by the writer (NULL if
 * none, rewrites included), in queue order; the queue is left empty. */
struct commitq_item *commitq_take_queued(struct commitq *q);

/* While paused: append to fd from now on and take batches again. */
void commitq_resume(struct commitq *q, int fd);

/*
 * Let the writer finish what is queued (unless held) and stop it. Items
 * are then in the finished list or the queue, for the take functions.
 */
void commitq_stop(struct commitq *q);

/* Stop the writer if running and free q (not the items). Accepts NULL. */
void commitq_free(struct commitq *q);

#endif
