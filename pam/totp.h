/* SPDX-License-Identifier: BSD-3-Clause */
/* Checking a TOTP code against a user's tokens with liboath, in constant
 * time per candidate, yielding the absolute time step to claim. */
#ifndef PHIGUARD_PAM_TOTP_H
#define PHIGUARD_PAM_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tokens.h"

#define TOTP_MIN_DIGITS 6
#define TOTP_MAX_DIGITS 8
#define TOTP_MAX_ANSWER 64 /* raw bytes accepted from the conversation */

/* liboath's global setup and teardown; call in pairs. Returns 0 or
 * PG_ERR_INTERNAL. totp_done() accepts being called after a failed init. */
int totp_init(void);
void totp_done(void);

/*
 * Turn a raw answer into a code: surrounding whitespace is stripped; the
 * rest must be TOTP_MIN_DIGITS..TOTP_MAX_DIGITS ASCII digits, and the raw
 * answer at most TOTP_MAX_ANSWER bytes. On success writes the code,
 * NUL-terminated, to code (TOTP_MAX_DIGITS + 1 bytes) and returns 0;
 * else PG_ERR_INVAL and code is wiped. The caller wipes code after use.
 */
int totp_parse_answer(const char *answer, char *code);

/*
 * Check code against every token in list (each with its own algorithm,
 * digits and period) at time now, accepting window steps either side.
 * Tokens whose digits differ from strlen(code) are not tried. Every
 * token is tried even after a match, so the time does not tell which one
 * matched. The window is narrowed per token so that no accepted step
 * starts more than PG_PROTO_MAX_SKEW seconds from now. On a match sets
 * *step_start to the Unix time at which the matched step of the first
 * matching token starts (counter x period) and returns 0.
 * Returns PG_ERR_AUTH (no match), PG_ERR_INVAL (no token has that many
 * digits), PG_ERR_NOTFOUND (empty list: a dummy token is checked so that
 * an unenrolled user costs the same), PG_ERR_INTERNAL (liboath error).
 */
int totp_verify(const struct pg_token_list *list, const char *code, time_t now,
                unsigned window, uint64_t *step_start);

#endif
