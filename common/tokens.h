/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TOTP token store, /etc/phiguard/tokens: one token per line,
 *   USER ALGORITHM DIGITS PERIOD BASE32-SECRET [LABEL]
 * separated by spaces or tabs; '#' comments and blank lines are skipped.
 * ALGORITHM is SHA1, SHA256 or SHA512; DIGITS 6..8; PERIOD 10..300 s;
 * the secret is RFC 4648 Base32 (case-insensitive, padding optional) of
 * 10..64 bytes, or that secret sealed with the site key (common/seal.h:
 * "pgseal1:..."), which stays sealed until tokens_open*() opens it; LABEL
 * is 1..64 bytes of [A-Za-z0-9._@+-].
 */
#ifndef PHIGUARD_COMMON_TOKENS_H
#define PHIGUARD_COMMON_TOKENS_H

#include <stddef.h>

#include "seal.h"
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
	size_t secret_len; /* 0 for a sealed secret not opened yet */
	/* "" for a plain secret; else the sealed text as stored, kept (and
	 * written back by tokens_format_line) after it is opened. */
	char sealed[SEAL_TEXT_MAX + 1];
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
 * Format a token as one store line with "\n" into out: the sealed text if
 * tok->sealed is set, else the secret in Base32. Returns 0,
 * PG_ERR_TOOLONG or PG_ERR_INVAL (invalid field). out is wiped on error.
 */
int tokens_format_line(const struct pg_token *tok, char *out, size_t outsz);

/*
 * Open tok's sealed secret (if it has one) with the keyring kr (may be
 * NULL: no key_file) into tok->secret; the sealed text is kept. A plain
 * token is left as it is. Returns 0; PG_ERR_CONFIG if the secret is sealed
 * and kr is NULL or empty; else seal_open()'s error (PG_ERR_NOTFOUND:
 * unknown key id, PG_ERR_AUTH: wrong key, another user's or altered,
 * PG_ERR_INVAL: malformed or too short). The reason, naming the key id
 * but never the secret, is in err.
 */
int tokens_open(struct pg_token *tok, const struct seal_keyring *kr, char *err,
                size_t errlen);

/*
 * tokens_open() every token of list in place. The first failure stops,
 * wipes the whole list (n = 0) and is returned with "token N (LABEL):
 * reason" in err (N from 1): a login must not go on with some of a
 * user's tokens. Returns 0 if every token is plain or opened.
 */
int tokens_open_list(struct pg_token_list *list, const struct seal_keyring *kr,
                     char *err, size_t errlen);

/*
 * Seal tok's secret (secret_len must be valid) under k for tok->user into
 * tok->sealed, keeping the secret in memory. Returns 0 or seal_secret()'s
 * error (tok->sealed is then "").
 */
int tokens_seal(struct pg_token *tok, const struct seal_key *k);

/* Wipe a list / token. */
void tokens_list_wipe(struct pg_token_list *list);
void tokens_wipe(struct pg_token *tok);

#endif
