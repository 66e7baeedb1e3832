/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TOTP token store, /etc/phiguard/tokens: one token per line,
 *   USER ALGORITHM DIGITS PERIOD BASE32-SECRET [LABEL]
 * separated by spaces or tabs; '#' comments and blank lines are skipped.
 * ALGORITHM is SHA1, SHA256 or SHA512; DIGITS 6..8; PERIOD 10..300 s;
 * the secret is RFC 4648 Base32 (case-insensitive, padding optional) of
 * 10..64 bytes; LABEL is 1..64 bytes of [A-Za-z0-9._@+-].
 */
#ifndef PHIGUARD_COMMON_TOKENS_H
#define PHIGUARD_COMMON_TOKENS_H

#include <stddef.h>

#include "username.h"

#define PG_TOKEN_MAX_SECRET    64 /* bytes after Base32 decoding */
#define PG_TOKEN_MAX_LABEL     64
#define PG_TOKENS_MAX_PER_USER 16

enum pg_token_alg { PG_ALG_SHA1 = 0, PG_ALG_SHA256, PG_ALG_SHA512 };

struct pg_token {
	char user[PG_USER_MAX + 1];
	enum pg_token_alg alg;
	unsigned digits;
	unsigned period;
	unsigned char secret[PG_TOKEN_MAX_SECRET]; /* decoded key */
	size_t secret_len;
	char label[PG_TOKEN_MAX_LABEL + 1]; /* "" if none */
};

/* A user's tokens. Wiped on free. */
struct pg_token_list {
	size_t n;
	struct pg_token tok[PG_TOKENS_MAX_PER_USER];
};

/* "SHA1" etc. and back; tokens_alg_name returns NULL for an invalid alg,
 * tokens_alg_from_name (case-insensitive) returns -1 if unknown. */
const char *tokens_alg_name(enum pg_token_alg alg);
int tokens_alg_from_name(const char *name);

/*
 * Parse one line (without "\n", NUL-terminated) into *tok. Returns 0,
 * PG_ERR_NOTFOUND for a comment or blank line, or PG_ERR_INVAL with a
 * reason ("bad digits") in err. *tok is wiped on error.
 */
int tokens_parse_line(const char *line, struct pg_token *tok, char *err,
                      size_t errlen);

/*
 * Collect user's tokens from the store text (len bytes). Bad lines are
 * skipped and counted in *bad_lines (may be NULL); the first reason is in
 * err as "line N: reason". More than PG_TOKENS_MAX_PER_USER tokens: the
 * extra ones are ignored and counted as bad. Returns 0 with list->n >= 0.
 */
int tokens_find_user(const char *text, size_t len, const char *user,
                     struct pg_token_list *list, unsigned *bad_lines, char *err,
                     size_t errlen);

/*
 * Read the store at path with the secret-file policy (check_owner as in
 * conf_load) and collect user's tokens. Returns 0 (list->n may be 0),
 * or the safefile errors with the reason in err.
 */
int tokens_load_user(const char *path, int check_owner, const char *user,
                     struct pg_token_list *list, unsigned *bad_lines, char *err,
                     size_t errlen);

/*
 * Format a token as one store line with "\n" into out. Returns 0,
 * PG_ERR_TOOLONG or PG_ERR_INVAL (invalid field). out is wiped on error.
 */
int tokens_format_line(const struct pg_token *tok, char *out, size_t outsz);

/* Wipe a list / token. */
void tokens_list_wipe(struct pg_token_list *list);
void tokens_wipe(struct pg_token *tok);

#endif
