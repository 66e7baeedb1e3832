/* SPDX-License-Identifier: BSD-3-Clause */
/* The directory side of the token store (OATH-LDAP, spec in phiguardd(8)):
 * a user's token record read from the [ldap] servers in failover order,
 * and the login state changed on one write target by compare-and-swap
 * modifies. Blocking: one worker thread uses a handle (tokstore.c). */
#ifndef PHIGUARD_DAEMON_TOKDIR_H
#define PHIGUARD_DAEMON_TOKDIR_H

#include <stddef.h>
#include <stdint.h>

#include "authz/dir_config.h"
#include "tokens/tokrec.h"

struct tokdir;

/* Compare-and-swap rounds a claim or failure makes (a modify that another
 * terminal beat is re-decided on the fresh value) before it gives up. */
#define TOKDIR_CAS_TRIES 8

/*
 * A handle for cfg (checked with dir_config_check()) whose writes go to
 * write_uri ("" = cfg's first URI), then, only while it is unreachable, to
 * the other URIs in order. No I/O here. 0 and *out, PG_ERR_CONFIG (err),
 * PG_ERR_NOMEM. Free with tokdir_free() (accepts NULL).
 */
int tokdir_new(const struct dir_config *cfg, const char *write_uri,
               struct tokdir **out, char *err, size_t errlen);
void tokdir_free(struct tokdir *td);

/*
 * user's token record, read on the first server (URI order) that answers:
 * the user entry found by user_attr (exact match, as dir_lookup()), its
 * oathTOTPToken, the token entry and its parameters. rec->found 0: no
 * such user, or no (usable) token (logged). 0, or PG_ERR_UNAVAIL /
 * PG_ERR_TIMEOUT (no server answered), PG_ERR_CONFIG (refused us),
 * PG_ERR_NOMEM. rec->line holds a secret: wipe it.
 */
int tokdir_read(struct tokdir *td, const char *user, struct tokrec *rec);

/*
 * Claim step_start (unix seconds, a multiple of the token's period) for
 * user on the write target: accepted only if its step counter is above
 * oathTOTPLastTimeStep and the directory does not lock the user (lim),
 * by one modify deleting the old value and adding the new one (with
 * report: oathFailureCount back to 0). 0 (claimed), PG_ERR_REPLAY,
 * PG_ERR_LOCKED (*until), PG_ERR_NOTFOUND (no token), PG_ERR_INVAL
 * (not a step start of the token), or as tokdir_read().
 */
int tokdir_claim(struct tokdir *td, const char *user, uint64_t step_start,
                 int report, const struct tokrec_limits *lim, int64_t now,
                 int64_t *until);

/*
 * Count a failure of user at now on the write target (oathFailureCount by
 * compare-and-swap, oathLastFailure = now); a user locked already is left
 * as is. *failures and *until (0: not locked) as the directory has them
 * now. 0, PG_ERR_NOTFOUND (no token: nothing counted), or as tokdir_read().
 */
int tokdir_fail(struct tokdir *td, const char *user,
                const struct tokrec_limits *lim, int64_t now,
                uint64_t *failures, int64_t *until);

/* Clear user's failures on the write target (UNLOCK). 0, PG_ERR_NOTFOUND,
 * or as tokdir_read(). */
int tokdir_clear(struct tokdir *td, const char *user);

/* What a write-back found and wrote. */
struct tokdir_wb {
	uint64_t local_step; /* the step counter offered */
	uint64_t dir_step;   /* oathTOTPLastTimeStep before (0: none) */
	uint64_t step;       /* the step counter written; 0: none (lower) */
	uint64_t added;      /* failures added */
	uint64_t failures;   /* oathFailureCount after, when added */
};

/*
 * Write back what was decided while the directory was down (offline
 * mode): raise oathTOTPLastTimeStep to the counter of step_start (0:
 * none) if it is higher (a lower one is dropped), and add failures to
 * oathFailureCount (oathLastFailure = last_failure if later), by
 * compare-and-swap on the write target, as one modify. *out says what
 * was written. 0, PG_ERR_NOTFOUND, PG_ERR_BUSY, or as tokdir_read().
 */
int tokdir_writeback(struct tokdir *td, const char *user, uint64_t step_start,
                     uint64_t failures, int64_t last_failure,
                     const struct tokrec_limits *lim, int64_t now,
                     struct tokdir_wb *out);

/* The write target in use (its URI into uri, urisz bytes) and how many
 * times it changed. */
void tokdir_write_status(const struct tokdir *td, char *uri, size_t urisz,
                         uint64_t *failovers);

#endif
