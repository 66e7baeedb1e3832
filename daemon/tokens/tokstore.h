/* SPDX-License-Identifier: BSD-3-Clause */
/* The token store in the directory ([tokens] store = ldap), as the event
 * loop sees it: requests that wait on the directory go to a worker thread
 * of its own, with its own connections (tokdir.h), and come back through
 * an eventfd, each finished by its caller's callback on the loop. */
#ifndef PHIGUARD_DAEMON_TOKSTORE_H
#define PHIGUARD_DAEMON_TOKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "proto.h"
#include "tokens/tokdir.h"
#include "tokens/tokkeep.h"
#include "tokens/tokrec.h"

struct pg_tokstore;

/* Requests waiting for the worker at most; more are refused (busy). */
#define TOKSTORE_MAX_QUEUED 1024

enum tokjob_kind {
	TOKJOB_READ,  /* rec: the user's token record (tokdir_read) */
	TOKJOB_CLAIM, /* step_start, report (tokdir_claim): until */
	TOKJOB_FAIL,  /* tokdir_fail: failures, until */
	TOKJOB_CLEAR, /* tokdir_clear */
	/* tokdir_writeback: step_start (the local floor), wb_failures,
	 * wb_last_failure: wb */
	TOKJOB_WRITEBACK,
};

/* One request to the directory. The caller fills the inputs and finish;
 * the worker sets rc and the results; finish runs on the loop and frees
 * the job with tokjob_free(). */
struct tokjob {
	struct tokjob *next;
	enum tokjob_kind kind;
	char user[PG_USER_MAX + 1];
	int64_t now;
	uint64_t step_start;
	int report;
	uint64_t wb_failures;
	int64_t wb_last_failure;
	struct tokrec_limits lim; /* set by tokstore_submit() */
	/* results */
	int rc;
	struct tokrec rec;
	int64_t until;
	uint64_t failures;
	struct tokdir_wb wb;
	/* the caller's */
	void (*finish)(struct tokjob *j);
	void *arg;
};

/* A zeroed job of kind for user at now, or NULL (no memory, or a name
 * too long). */
struct tokjob *tokjob_new(enum tokjob_kind kind, const char *user, int64_t now);

/* Wipe (the record holds a secret) and free. Accepts NULL. */
void tokjob_free(struct tokjob *j);

/*
 * Start the store for conf (store = ldap, with [ldap]): its worker thread
 * and the records kept in conf's state_dir (tokkeep.h); no directory I/O
 * before the first job. The caller's loop watches
 * tokstore_fd() and calls tokstore_drain() when it is readable. 0 and
 * *out, PG_ERR_CONFIG (err), PG_ERR_NOMEM, PG_ERR_IO.
 */
int tokstore_new(const struct pg_conf *conf, struct pg_tokstore **out,
                 char *err, size_t errlen);

/* Check what tokstore_new() would refuse. 0 or PG_ERR_CONFIG (err). */
int tokstore_check_config(const struct pg_conf *conf, char *err, size_t errlen);

/* New settings, from the worker's next job; the limits at once. 0, or as
 * tokstore_check_config(). Nothing changes on error. */
int tokstore_reconfigure(struct pg_tokstore *ts, const struct pg_conf *conf,
                         char *err, size_t errlen);

/* Queue j (its limits set from the configuration). 0, or PG_ERR_BUSY
 * (TOKSTORE_MAX_QUEUED reached: j is still the caller's). */
int tokstore_submit(struct pg_tokstore *ts, struct tokjob *j);

int tokstore_fd(const struct pg_tokstore *ts);

/* The kept records (offline mode), the loop's. */
struct tokkeep *tokstore_kept(struct pg_tokstore *ts);

/* 1 unless the last job finished found the directory unreachable
 * (PG_ERR_UNAVAIL, PG_ERR_TIMEOUT). */
int tokstore_online(const struct pg_tokstore *ts);

/* Seconds between write-back attempts while the directory is down. */
#define TOKSTORE_PROBE_S 15

/* May background work (write-back) go to the directory at now: online
 * and not deferred, or TOKSTORE_PROBE_S since the last time this said yes
 * offline. */
int tokstore_probe_due(struct pg_tokstore *ts, int64_t now);

/* When tokstore_probe_due() will next say yes (now, or later). */
int64_t tokstore_next_probe(const struct pg_tokstore *ts, int64_t now);

/* Background work failed at now: none before TOKSTORE_PROBE_S, online
 * or not. */
void tokstore_defer_probe(struct pg_tokstore *ts, int64_t now);

/* Is rc a directory that could not be reached (not a refusal)? */
int tokstore_unreachable(int rc);

/* Finish the jobs the worker is done with, oldest first (and take back
 * a save of the kept records it made). */
void tokstore_drain(struct pg_tokstore *ts);

/* Save the kept records if they changed (tokkeep_save()), written by the
 * worker before its next job, so that the loop never waits for the disk;
 * nothing if a save is still under way (the next call takes what changed
 * meanwhile). A failed save is retried at the next call. */
void tokstore_save_kept(struct pg_tokstore *ts);

/* STATUS: tokens_store=ldap tokens_write_target=<uri>
 * tokens_write_failovers=<n>. 0 or as
 * proto_add(). */
int tokstore_status(struct pg_tokstore *ts, struct pg_msg *resp);

/* Stop the worker (waiting for the job in progress, bounded by the
 * directory timeouts), finish every job not done with rc PG_ERR_UNAVAIL,
 * save the kept records, and free. Accepts NULL. */
void tokstore_free(struct pg_tokstore *ts);

#endif
