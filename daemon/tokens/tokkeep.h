/* SPDX-License-Identifier: BSD-3-Clause */
/* Site mode's kept token records, for when the directory is down: each
 * user's record as last read (its line as read: sealed text stays
 * sealed), when it was read, and what was decided offline and is still
 * to be written back (a claim, failures). Held on the event loop, saved
 * to state_dir/tokens.kept (0600, replaced atomically) so that a restart
 * during an outage still serves them. */
#ifndef PHIGUARD_DAEMON_TOKKEEP_H
#define PHIGUARD_DAEMON_TOKKEEP_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "tokens/tokrec.h"

#define TOKKEEP_FILE "tokens.kept"
/* Records kept at most; beyond, the one read longest ago with nothing to
 * write back is forgotten. */
#define TOKKEEP_MAX 10000

struct tokkeep;

struct tokkeep_rec {
	char user[PG_USER_MAX + 1];
	char line[TOKREC_LINE_MAX]; /* the token-store line as read */
	unsigned period;
	uint64_t dir_step; /* oathTOTPLastTimeStep as read (0: none): the
	                      directory's watermark, a floor offline too */
	int64_t read_at;   /* unix seconds of the last read that found it */
	/* To write back once the directory answers: */
	int claimed;          /* a step claimed offline: the floor */
	uint64_t failures;    /* failures counted offline */
	int64_t last_failure; /* the last of them */
	int in_flight;        /* a write-back is under way (not saved) */
};

/*
 * The kept records saved in the directory open as dirfd (the caller's,
 * kept open until tokkeep_free()): none if the file is missing; a
 * malformed line is skipped (logged). 0 and *out, PG_ERR_NOMEM,
 * PG_ERR_IO (the file exists but cannot be read), PG_ERR_UNSAFE_FILE.
 */
int tokkeep_load(int dirfd, struct tokkeep **out);

/* Write the records if they changed since the last save (atomic: temp
 * file, fsync, rename). 0 or PG_ERR_IO (logged; retried next time). */
int tokkeep_save(struct tokkeep *k);

/*
 * tokkeep_save() in three steps, so that the loop never waits for the
 * disk: tokkeep_image() takes the records as the file's text (*out NULL
 * when nothing changed; they count as saved from then on), on the loop;
 * tokkeep_image_write() writes it as tokkeep_save() does, on any thread
 * (it touches nothing but the image); tokkeep_image_done() hands it
 * back on the loop with that result (rc not 0: the records are to be
 * saved again) and frees it. An image must not outlive its tokkeep.
 */
struct tokkeep_image;
int tokkeep_image(struct tokkeep *k, struct tokkeep_image **out);
int tokkeep_image_write(const struct tokkeep_image *img);
void tokkeep_image_done(struct tokkeep *k, struct tokkeep_image *img, int rc);

/* Is there anything to save (tokkeep_save), or to write back? */
int tokkeep_dirty(const struct tokkeep *k);
int tokkeep_has_pending(const struct tokkeep *k);

/* Is r still to be written back (or being written)? */
int tokkeep_rec_pending(const struct tokkeep_rec *r);

/* Wipe and free; closes the dirfd. Accepts NULL. */
void tokkeep_free(struct tokkeep *k);

/* rec (found) was read at now: kept for user, what is to be written back
 * left as it is. 0 or PG_ERR_NOMEM. */
int tokkeep_put(struct tokkeep *k, const char *user, const struct tokrec *rec,
                int64_t now);

/* user has no token any more: forget it, unless it has something to
 * write back. */
void tokkeep_forget(struct tokkeep *k, const char *user);

/* user's record if it was read at most grace seconds before now, else
 * NULL. Valid until the next change to k. */
struct tokkeep_rec *tokkeep_get(struct tokkeep *k, const char *user,
                                int64_t now, int64_t grace);

/* An offline outcome for r: a claim, a failure at now, a success (the
 * failures counted offline are forgotten). */
void tokkeep_claimed(struct tokkeep *k, struct tokkeep_rec *r);
void tokkeep_failed(struct tokkeep *k, struct tokkeep_rec *r, int64_t now);
void tokkeep_succeeded(struct tokkeep *k, struct tokkeep_rec *r);

/* The records with something to write back and no write-back under way:
 * fn(r, arg) for each until it returns non-zero. */
void tokkeep_foreach_pending(struct tokkeep *k,
                             int (*fn)(struct tokkeep_rec *r, void *arg),
                             void *arg);

/* A write-back of user ended with rc: 0 (written: claimed and failures
 * are in the directory; failures counted since stay to write) or
 * PG_ERR_NOTFOUND (no token: nothing to write) clear them; else they stay
 * for the next try. */
void tokkeep_written(struct tokkeep *k, const char *user, int rc, int claimed,
                     uint64_t failures);

#endif
