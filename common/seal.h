/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Token secrets sealed at rest with a site key: AES-256-GCM through
 * OpenSSL's EVP interface. The text form fits a token-store column and the
 * bytes of an LDAP oathSecret (':' is not Base32, so it cannot be taken
 * for a plain secret):
 *
 *   pgseal1:<key id, 16 lowercase hex>:<base64, RFC 4648, padded, of
 *            nonce(12) || ciphertext || tag(16)>
 *
 * The associated data binds the key id and the owner of the token:
 *   "phiguard-seal-v1" 0x00 || key id (8 raw bytes) || user name
 * so a sealed secret copied to another user's line or entry does not open.
 *
 * The key file (root-owned, mode 0600, not a symlink) holds one key per
 * line, "<key id, 16 lowercase hex> <base64 of 32 bytes>", blank lines and
 * '#' comments allowed. The FIRST key seals; every key opens (rotation:
 * a new key is prepended, every secret resealed, then the old line goes).
 */
#ifndef PHIGUARD_COMMON_SEAL_H
#define PHIGUARD_COMMON_SEAL_H

#include <stddef.h>

#define SEAL_PREFIX     "pgseal1:"
#define SEAL_KEY_LEN    32
#define SEAL_KEYID_LEN  8
#define SEAL_MAX_KEYS   8
#define SEAL_TEXT_MAX   160 /* bytes without the NUL; covers a 64-byte secret */
#define SEAL_SECRET_MAX 64  /* the largest secret sealed (tokens.h's limit) */
/* "<16 hex> <44 base64>\n" and its NUL. */
#define SEAL_KEY_LINE_MAX 64

struct seal_key {
	unsigned char id[SEAL_KEYID_LEN];
	unsigned char key[SEAL_KEY_LEN];
};

/* keys[0] seals; all n open. Holds keys: wipe with seal_keyring_wipe(). */
struct seal_keyring {
	size_t n;
	struct seal_key keys[SEAL_MAX_KEYS];
};

/*
 * Read the key file at path with the secret-file policy (safefile: no
 * symlink, regular file, mode without group/other bits, owned by root
 * unless check_owner is 0, as tokens_load_user()) into *kr. Returns 0
 * with kr->n >= 1; the safefile errors (PG_ERR_NOTFOUND,
 * PG_ERR_UNSAFE_FILE, PG_ERR_IO, PG_ERR_NOMEM); or PG_ERR_CONFIG for a
 * malformed line, a repeated key id, no key or more than SEAL_MAX_KEYS,
 * with "path: reason" (never key material) in err. *kr is wiped on error;
 * every buffer that held the file is wiped.
 */
int seal_keyring_load(const char *path, int check_owner,
                      struct seal_keyring *kr, char *err, size_t errlen);

/*
 * Parse key file text (len bytes, need not be NUL-terminated) into *kr,
 * as seal_keyring_load() does after reading. An empty ring (no key line)
 * is accepted here (kr->n == 0): phiguardctl keygen prepends to it.
 * Returns 0 or PG_ERR_CONFIG with "line N: reason" in err; *kr is wiped
 * on error.
 */
int seal_keyring_parse(const char *text, size_t len, struct seal_keyring *kr,
                       char *err, size_t errlen);

/*
 * Format k as one key file line with "\n" into out (at least
 * SEAL_KEY_LINE_MAX bytes). Returns 0 or PG_ERR_TOOLONG; out is wiped on
 * error and holds key material on success: wipe it after use.
 */
int seal_key_format_line(const struct seal_key *k, char *out, size_t outsz);

/*
 * A new key: SEAL_KEY_LEN random bytes and a random key id, from
 * OpenSSL's RAND_bytes. Returns 0 or PG_ERR_IO (no randomness); *k is
 * wiped on error.
 */
int seal_key_generate(struct seal_key *k);

/* Wipe every key of *kr and set n to 0. Accepts NULL. */
void seal_keyring_wipe(struct seal_keyring *kr);

/* 1 if the len bytes at text start with SEAL_PREFIX, else 0. Nothing
 * else of the text is checked. */
int seal_is_sealed(const char *text, size_t len);

/*
 * 0 if the len bytes at text are a well-formed sealed text (prefix, key
 * id, canonical padded base64 of nonce, 1..SEAL_SECRET_MAX bytes and
 * tag, at most SEAL_TEXT_MAX bytes), else PG_ERR_INVAL. No key is needed:
 * this is the syntax a store parser checks.
 */
int seal_text_check(const char *text, size_t len);

/*
 * Seal len bytes (1..SEAL_SECRET_MAX) of secret for user (the login name
 * the token belongs to, bound in as associated data) under k, with a fresh
 * random nonce, into out as NUL-terminated text. Returns 0, PG_ERR_INVAL
 * (len, user NULL or empty), PG_ERR_TOOLONG (outsz too small; SEAL_TEXT_MAX
 * + 1 always suffices), PG_ERR_IO (no randomness) or PG_ERR_INTERNAL
 * (OpenSSL failed). out is wiped on error.
 */
int seal_secret(const struct seal_key *k, const char *user,
                const unsigned char *secret, size_t len, char *out,
                size_t outsz);

/*
 * Open the NUL-terminated sealed text for user with the key of kr named in
 * it, into secret (secsz bytes) with its length in *len. Returns 0;
 * PG_ERR_INVAL if text is malformed; PG_ERR_NOTFOUND if kr (may be NULL
 * or empty) holds no key of that id; PG_ERR_AUTH if the tag does not
 * match (another key of the same id, another user, or a changed byte);
 * PG_ERR_TOOLONG if secsz is too small; PG_ERR_INTERNAL if OpenSSL
 * failed. secret and *len are written only on success; every
 * intermediate copy is wiped.
 */
int seal_open(const struct seal_keyring *kr, const char *user, const char *text,
              unsigned char *secret, size_t secsz, size_t *len);

#endif
