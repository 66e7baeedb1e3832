/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading and atomically rewriting the token store (common/tokens.h format)
 * on behalf of phiguardctl, without ever losing a line it does not change. */
#ifndef PHIGUARD_CTL_TOKENSTORE_H
#define PHIGUARD_CTL_TOKENSTORE_H

#include <stddef.h>
#include <sys/stat.h>

#include "safefile.h"
#include "tokens.h"

/* How long a writer waits for another phiguardctl holding the store lock. */
#define TOKENSTORE_LOCK_TIMEOUT_MS 10000

/* Lines longer than this are never tokens; they are kept, unparsed. */
#define TOKENSTORE_MAX_LINE 1024

/*
 * A growable byte buffer for store text. It may hold secrets, so growing
 * copies and wipes the old block, and tokenstore_buf_wipe() zeroes it
 * before freeing. Start from {0} (empty). data is NUL-terminated when
 * non-NULL.
 */
struct tokenstore_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Append n bytes. Returns 0 or PG_ERR_NOMEM (the buffer is then unchanged). */
int tokenstore_buf_append(struct tokenstore_buf *b, const void *p, size_t n);

/* Wipe and free the contents; b is left empty and reusable. Accepts NULL. */
void tokenstore_buf_wipe(struct tokenstore_buf *b);

/*
 * Called for every line of store text: raw is the line exactly as stored
 * (rawlen bytes, including its "\n" if it has one), lineno counts from 1,
 * tok is the parsed token or NULL for a comment, blank or unparseable
 * line. tok is wiped after the call. A non-zero return stops the walk and
 * is returned by tokenstore_foreach().
 */
typedef int (*tokenstore_line_fn)(const char *raw, size_t rawlen,
                                  unsigned lineno, const struct pg_token *tok,
                                  void *arg);

/*
 * Walk len bytes of store text line by line. Lines that look like tokens
 * but fail to parse (or are too long, or contain a NUL) are counted in
 * *bad_lines (may be NULL) and passed with tok == NULL. Returns 0 or the
 * first non-zero value of fn.
 */
int tokenstore_foreach(const char *text, size_t len, tokenstore_line_fn fn,
                       void *arg, unsigned *bad_lines);

/* 0 if label is a valid store label (1..64 of [A-Za-z0-9._@+-]), else
 * PG_ERR_INVAL. */
int tokenstore_label_check(const char *label);

/*
 * Append tok to the store text in *store. An empty tok->label is replaced
 * by the first free "tokenN" (N from 1). Refused with PG_ERR_INVAL and a
 * reason in err: the user already has a token with that label, already
 * has PG_TOKENS_MAX_PER_USER tokens, or the line would not read back as
 * the same token (e.g. a user name starting with '#'). A missing final
 * "\n" of the existing text is added first; nothing else is changed.
 * Returns 0, PG_ERR_INVAL or PG_ERR_NOMEM. The line buffer is wiped.
 */
int tokenstore_add(struct tokenstore_buf *store, struct pg_token *tok,
                   char *err, size_t errlen);

/*
 * Drop user's tokens from *store: all of them, or only the one labelled
 * label if label is non-NULL. Every other line is kept byte for byte.
 * Returns 0 with the count in *removed, PG_ERR_NOTFOUND if nothing
 * matched (*store unchanged), or PG_ERR_NOMEM.
 */
int tokenstore_remove(struct tokenstore_buf *store, const char *user,
                      const char *label, unsigned *removed);

/*
 * Called by tokenstore_rewrite() for every token line: change *tok in
 * place (it is then written back with tokens_format_line() and read back
 * to check). lineno counts from 1. A non-zero return stops the rewrite and
 * is returned, with the reason in err.
 */
typedef int (*tokenstore_token_fn)(struct pg_token *tok, unsigned lineno,
                                   void *arg, char *err, size_t errlen);

/*
 * Rewrite every token line of *store through fn; comments, blank and
 * unparseable lines are kept byte for byte (counted in *bad_lines, may be
 * NULL). On success *store holds the new text; on error it is unchanged.
 * Returns 0, fn's error, PG_ERR_INVAL (a token that would not read back
 * the same) or PG_ERR_NOMEM, with the reason in err. Every copy of a
 * line is wiped.
 */
int tokenstore_rewrite(struct tokenstore_buf *store, tokenstore_token_fn fn,
                       void *arg, unsigned *bad_lines, char *err,
                       size_t errlen);

/*
 * Open path with safefile under pol and read it whole into *out (which
 * must be empty). If st is non-NULL it receives the fstat of the open
 * file. Returns 0, or the safefile errors (PG_ERR_NOTFOUND,
 * PG_ERR_UNSAFE_FILE, PG_ERR_IO) or PG_ERR_NOMEM, with "path: reason" in
 * err. *out is left empty on error.
 */
int tokenstore_load(const char *path, const struct safefile_policy *pol,
                    struct tokenstore_buf *out, struct stat *st, char *err,
                    size_t errlen);

/*
 * The policy for the token store: safefile_secret_policy, but the owner
 * must be the effective uid (root in production, the test user in tests).
 */
void tokenstore_policy(struct safefile_policy *pol);

/* Read the store at path (tokenstore_policy). A missing store reads as
 * empty. Same returns as tokenstore_load(). */
int tokenstore_read(const char *path, struct tokenstore_buf *out, char *err,
                    size_t errlen);

/*
 * Change the store in place. edit gets the current content in *store and
 * modifies it; a non-zero return aborts without writing and is returned.
 */
typedef int (*tokenstore_edit_fn)(struct tokenstore_buf *store, void *arg,
                                  char *err, size_t errlen);

/*
 * Rewrite the store at path under an exclusive flock() on "<path>.lock"
 * (created 0600; waits at most lock_timeout_ms, then PG_ERR_BUSY). The
 * current store is read (missing = empty), passed to edit, and the result
 * written to a mkstemp file in the same directory (mode 0600, the old
 * store's owner, or root:root for a new store when run as root), fsynced,
 * renamed over path, and the directory fsynced. The directory must be
 * owned by root or the caller and not writable by group or other. On any
 * error before the rename the store is untouched and no temporary file is
 * left; only a failed directory fsync is reported after the new store is
 * in place. Returns 0, edit's error, PG_ERR_BUSY,
 * PG_ERR_UNSAFE_FILE, PG_ERR_IO or PG_ERR_NOMEM, with the reason in err.
 * Every buffer that held store content is wiped.
 */
int tokenstore_update(const char *path, int lock_timeout_ms,
                      tokenstore_edit_fn edit, void *arg, char *err,
                      size_t errlen);

#endif
