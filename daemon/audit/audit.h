/* SPDX-License-Identifier: BSD-3-Clause */
/* phiguardd's audit trail writer: records are formatted on the event loop,
 * queued in a bounded buffer, and chained, written, synced and rotated by
 * one writer thread, so the loop never waits for the disk. */
#ifndef PHIGUARD_DAEMON_AUDIT_H
#define PHIGUARD_DAEMON_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/auditfmt.h"

struct pg_audit;
struct pg_completion;

/* Bytes of formatted records waiting for the writer, at most (twice:
 * one buffer filling while the other is written). */
#define AUDIT_QUEUE_BYTES (1024 * 1024)
/*
 * Who may fill how much of it, so that noise never costs a decision its
 * record: noise (audit_record_noise) only the first quarter; a request
 * of a non-root peer is taken only while AUDIT_PEER_MARGIN bytes are free
 * below half (audit_peer_room); decisions (audit_record) the whole queue,
 * waiting for the writer when it is full.
 */
#define AUDIT_NOISE_BYTES (AUDIT_QUEUE_BYTES / 4)
#define AUDIT_PEER_BYTES  (AUDIT_QUEUE_BYTES / 2)
#define AUDIT_PEER_MARGIN (4 * AUDIT_LINE_MAX)
/* A decision waits at most this long for the writer to take the queue;
 * after one wait in vain, none waits until the writer takes it again. */
#define AUDIT_ROOM_WAIT_MS 1000
/* While the trail cannot be written, retry this often. */
#define AUDIT_RETRY_MS 1000
/* audit_sync = batch: a written record is synced within this. */
#define AUDIT_BATCH_MS 1000

struct audit_params {
	const char *file;   /* [audit] audit_file */
	int sync_always;    /* audit_sync = always */
	int fail_deny;      /* audit_failure = deny */
	long rotate_size;   /* bytes */
	long head_interval; /* seconds */
	const char *host;   /* the host field */
};

/*
 * Open the trail (creating it mode 0600), make its end whole again after
 * a crash (a last line without "\n" is moved to FILE.torn-<unix time>
 * and cut off, so the chain continues from the last complete line), and
 * start the writer. Its news (failures, heads, rotations done) is taken
 * in by audit_drain() when audit_fd() is readable, which the daemon's
 * loop watches (tests that do not: no news until audit_free). A rotation
 * a request asked for is answered through done (may be NULL: none is
 * answered). A trail that cannot be opened is not fatal: it starts
 * failed and is retried (see audit_refusing). Returns 0 and *out,
 * PG_ERR_NOMEM or PG_ERR_IO (thread or eventfd).
 */
int audit_new(const struct audit_params *p, const struct pg_completion *done,
              struct pg_audit **out);

/* The eventfd that is readable when the writer has news; drain it (on the
 * loop's thread) with audit_drain(a). */
int audit_fd(const struct pg_audit *a);
void audit_drain(struct pg_audit *a);

/* Write what is queued (one last try if the trail is down), sync, stop
 * the writer, log the chain head ("audit-head ...") and free. Accepts
 * NULL. */
void audit_free(struct pg_audit *a);

/*
 * Record one decision or daemon event (rec->host may be NULL: the
 * configured one; rec's time_ms 0: now). Also mirrored to syslog as one
 * "audit event=..." line (warning level when alert is set, else notice).
 * It may use the whole queue; when that is full it waits for the writer
 * (at most AUDIT_ROOM_WAIT_MS; not while the trail is failing), never
 * for the disk itself. Returns 0 if queued and the trail is up;
 * PG_ERR_BUSY if it could not be queued (counted as lost: STATUS
 * audit_lost, and an "audit-lost" record with the count once the trail
 * catches up); PG_ERR_IO if queued but the trail is currently failing.
 */
int audit_record(struct pg_audit *a, const struct audit_rec *rec, int alert);

/*
 * Record noise (a refusal that decides nothing about anyone's access,
 * and the aggregates of such refusals): mirrored the same way, but
 * queued only within AUDIT_NOISE_BYTES and never waited for. Returns 0,
 * PG_ERR_IO as above, or PG_ERR_BUSY (dropped: STATUS audit_dropped, an
 * "audit-dropped" record with the count later; never audit_lost).
 */
int audit_record_noise(struct pg_audit *a, const struct audit_rec *rec);

/*
 * 1 if a request of a non-root peer may be answered now: its records
 * (AUDIT_PEER_MARGIN bytes of them) fit below AUDIT_PEER_BYTES. Called
 * on the loop, the only producer, so the answer holds until it returns.
 * Accepts NULL (1).
 */
int audit_peer_room(struct pg_audit *a);

/*
 * 1 if new logins and grants must be refused now: audit_failure = deny
 * and the trail is failing. (A decision whose record could not be queued
 * refuses only its own request: see audit_record.) Accepts NULL (0).
 */
int audit_refusing(struct pg_audit *a);

/*
 * Ask the writer to rotate: the file becomes FILE.N (N one more than the
 * highest existing), a new FILE starts with an "audit-rotate" record
 * chained to the old last line. ticket != 0: a parked request to answer
 * through audit_new()'s done once done ("OK rotated=<path> head=<hex>" or
 * an ERR). uid: the requester (-1: none); why: "size", "signal",
 * "request". Returns 0, or PG_ERR_BUSY (too many rotations pending).
 */
int audit_rotate(struct pg_audit *a, uint64_t ticket, long uid,
                 const char *why);

/* 1 if audit_rotate() would be accepted now (called on the loop, which
 * alone adds requests, so the answer holds until it returns). */
int audit_rotate_room(struct pg_audit *a);

struct audit_status {
	int failed;
	char reason[128];          /* why, when failed */
	char head[AUDIT_HEX_SIZE]; /* hash of the last line written */
	uint64_t records;          /* lines written since start */
	uint64_t lost;             /* decision records lost since start */
	uint64_t dropped;          /* noise records dropped since start */
	const char *file;
};

/* A snapshot for STATUS and AUDIT action=head. */
void audit_get_status(struct pg_audit *a, struct audit_status *st);

#endif
