/* SPDX-License-Identifier: BSD-3-Clause */
/* A user's token record as the directory holds it (OATH-LDAP), and the
 * decisions taken on it: lock state, the next failure count, the token
 * line handed to the module. Pure logic, no I/O. */
#ifndef PHIGUARD_DAEMON_TOKREC_H
#define PHIGUARD_DAEMON_TOKREC_H

#include <stddef.h>
#include <stdint.h>

#include "tokens.h"

/* A token-store line: user, algorithm, digits, period, a secret of
 * PG_TOKEN_MAX_SECRET bytes in Base32 or sealed (SEAL_TEXT_MAX), label. */
#define TOKREC_LINE_MAX 640
#define TOKREC_DN_MAX   512
/* GeneralizedTime as written: YYYYMMDDHHMMSSZ and the NUL. */
#define TOKREC_GENTIME_LEN 16

/* The [totp] lockout settings. */
struct tokrec_limits {
	unsigned max_failures;
	int64_t failure_window;
	int64_t lockout;
};

/* The state attributes of a token entry; has_* 0 when absent. */
struct tokrec_state {
	int has_step;
	uint64_t step; /* oathTOTPLastTimeStep: a step counter */
	int has_failures;
	uint64_t failures;    /* oathFailureCount */
	int64_t last_failure; /* oathLastFailure, unix seconds; 0 = none */
};

/* A user's token as read. */
struct tokrec {
	int found; /* the user has a token (the rest is valid) */
	char dn[TOKREC_DN_MAX];
	unsigned period; /* seconds */
	/* The parameters entry and what it said. */
	char params_dn[TOKREC_DN_MAX];
	enum pg_token_alg alg;
	unsigned digits;
	struct tokrec_state st;
	char line[TOKREC_LINE_MAX]; /* the token-store line, no "\n" */
};

/* The algorithm of an RFC 8018 HMAC OID (1.2.840.113549.2.7 SHA1, .2.9
 * SHA256, .2.11 SHA512), len bytes. 0 and *alg, or PG_ERR_INVAL. */
int tokrec_alg_from_oid(const char *oid, size_t len, enum pg_token_alg *alg);

/* And back: alg's OID, or NULL for an invalid alg. */
const char *tokrec_alg_oid(enum pg_token_alg alg);

/* A GeneralizedTime (YYYYMMDDHHMMSS[.fraction]Z, UTC) of len bytes as unix
 * seconds. 0 and *out, or PG_ERR_INVAL. */
int tokrec_gentime_parse(const char *s, size_t len, int64_t *out);

/* t as YYYYMMDDHHMMSSZ into out (TOKREC_GENTIME_LEN bytes). */
void tokrec_gentime_format(int64_t t, char *out);

/* The end of the lock st puts the user under at now, or 0: failures >=
 * max_failures and now < last_failure + lockout. */
int64_t tokrec_lock_until(const struct tokrec_state *st,
                          const struct tokrec_limits *lim, int64_t now);

/* The failure count after one more failure at now: 1 if the last one is
 * older than failure_window (or none), else one more. */
uint64_t tokrec_next_failures(const struct tokrec_state *st,
                              const struct tokrec_limits *lim, int64_t now);

/*
 * The token-store line (tokens.h) of user's token into out (outsz bytes,
 * no "\n"): secret (len bytes) is the raw key, written in Base32, or, when
 * it is sealed text (seal_is_sealed), that text as it is. A label that is
 * not a valid token label is left out. 0, or PG_ERR_INVAL (a field out of
 * range), PG_ERR_TOOLONG, PG_ERR_NOMEM. out is wiped on error.
 */
int tokrec_line(const char *user, enum pg_token_alg alg, unsigned digits,
                unsigned period, const unsigned char *secret, size_t len,
                const char *label, char *out, size_t outsz);

#endif
