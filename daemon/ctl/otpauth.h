/* SPDX-License-Identifier: BSD-3-Clause */
/* otpauth:// key URIs (Google Authenticator "Key Uri Format") for enrolling
 * a token in an authenticator app. */
#ifndef PHIGUARD_CTL_OTPAUTH_H
#define PHIGUARD_CTL_OTPAUTH_H

#include <stddef.h>

#include "tokens.h"

/* Always enough for otpauth_build() with any valid token and issuer. */
#define OTPAUTH_URI_MAX 2048
/* Longest issuer accepted (bytes, before encoding). */
#define OTPAUTH_ISSUER_MAX 127

/*
 * Percent-encode src per RFC 3986: the unreserved bytes A-Z a-z 0-9 - . _ ~
 * are copied, every other byte becomes "%XX" (upper-case hex). Writes a
 * NUL-terminated string to out. Returns 0, or PG_ERR_TOOLONG if outsz is
 * too small (out is then "").
 */
int otpauth_pct_encode(const char *src, char *out, size_t outsz);

/*
 * Write the key URI for tok into out:
 *   otpauth://totp/ISSUER:USER?secret=B32&issuer=ISSUER&algorithm=A
 *     &digits=D&period=P
 * with ISSUER and USER percent-encoded and the secret in unpadded Base32.
 * issuer must be 1..OTPAUTH_ISSUER_MAX bytes without ':' (apps split the
 * label at the first colon). Returns 0, PG_ERR_INVAL (bad issuer, empty
 * or over-long secret), PG_ERR_TOOLONG or PG_ERR_NOMEM. out holds the
 * secret: the caller wipes it. out and every temporary are wiped on error.
 */
int otpauth_build(const struct pg_token *tok, const char *issuer, char *out,
                  size_t outsz);

#endif
