/* SPDX-License-Identifier: BSD-3-Clause */
/* Site mode while the directory is down (offline mode): users this
 * terminal has read within [cache] offline_grace keep logging in on their
 * kept records (tokens/tokkeep.h), decided against the daemon's own state;
 * what was decided is written back once the directory answers again. */
#ifndef PHIGUARD_DAEMON_OFFLINE_H
#define PHIGUARD_DAEMON_OFFLINE_H

#include <stdint.h>

#include "core/verbs.h"
#include "tokens/tokstore.h"

/* The directory answered a read of user at now with rec: kept (found) or
 * forgotten (no token). */
void offline_keep(struct pg_daemon *d, const char *user,
                  const struct tokrec *rec, int64_t now);

/* user's kept record for a decision the directory could not make (j->rc
 * unreachable) at now, or NULL: never read, read longer ago than
 * offline_grace, or a refusal rather than an outage (logged). */
struct tokkeep_rec *offline_record(struct pg_daemon *d, const struct tokjob *j,
                                   int64_t now);

/* Once a second: save the kept records if they changed, and write back
 * what was decided offline (tokdir_writeback(), from the worker) when the
 * directory may answer. */
void offline_tick(struct pg_daemon *d, int64_t now);

/* When offline_tick() has work, at the earliest (unix seconds), or 0:
 * a second after now to save changed records, now (or the next probe
 * while the directory is down) to write back. */
int64_t offline_wake_at(const struct pg_daemon *d, int64_t now);

/* Is user's record still to be written back? Then the directory's
 * failure state is not the whole truth yet. */
int offline_unwritten(const struct pg_daemon *d, const char *user);

#endif
