/* SPDX-License-Identifier: BSD-3-Clause */
/* The push branch of the auth stage: send the push, keep the user told,
 * wait, REPORT the outcome to phiguardd and log one line. */
#ifndef PHIGUARD_PAM_AUTH_PUSH_H
#define PHIGUARD_PAM_AUTH_PUSH_H

#include <stdint.h>

#include "stage.h"

/* auth_push_run's answer when failmode=safe sends the user to TOTP. */
#define AUTH_PUSH_FALLBACK 1

/*
 * One push for st's user with st->cfg.push, through the push client
 * loaded for it (push_load.h); a push client that cannot be loaded is a
 * provider failure with reason "push-client". Returns
 *   0                   approved by the user (and REPORTed);
 *   AUTH_PUSH_FALLBACK  the provider failed (unreachable, TLS, bad reply,
 *                       ...) and failmode=safe: the caller prompts for a
 *                       TOTP code instead (the error is REPORTed);
 *   PG_ERR_AUTH         denied, unanswered, fraud, refused by the
 *                       provider, or the conversation failed;
 *   PG_ERR_UNAVAIL      the provider failed under failmode=secure;
 *   other pg_err        the daemon could not take the REPORT (fail
 *                       closed even after an approval).
 * st->reason is set on every path. *locked_until is set when the REPORT
 * says the user is now locked (0 otherwise). Never lets anyone in without
 * an approved push.
 */
int auth_push_run(struct stage *st, int64_t *locked_until);

#endif
