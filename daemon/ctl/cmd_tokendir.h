/* SPDX-License-Identifier: BSD-3-Clause */
/* The token commands' work when the tokens live in the directory
 * ([tokens] store = ldap): each opens the directory with the admin
 * credential, does its part through tokendir.h and says what happened. */
#ifndef PHIGUARD_CTL_CMD_TOKENDIR_H
#define PHIGUARD_CTL_CMD_TOKENDIR_H

#include <stddef.h>

#include "conf.h"
#include "import.h"
#include "tokens.h"

/*
 * Store tok for tok->user, its sealed text as oathSecret if it has one
 * (tokens_seal()), else its raw key bytes; replace: the
 * user's token, if any, is deleted first (--force). On success the token's
 * DN is in where (wsz bytes). Returns an enum ctl_exit, after saying why
 * on stderr.
 */
int cmd_tokendir_enroll(const struct pg_conf *conf, const struct pg_token *tok,
                        int replace, char *where, size_t wsz);

/* Unlink user's token and delete it. Returns an enum ctl_exit. */
int cmd_tokendir_remove(const struct pg_conf *conf, const char *user);

/* One row per user with a token (only user, if non-NULL), never a secret.
 * Returns an enum ctl_exit (FAIL if user has none). */
int cmd_tokendir_list(const struct pg_conf *conf, const char *user);

/*
 * Store res's tokens (as cmd_tokendir_enroll() stores one), one per user: a
 * user's further tokens are skipped (recorded in res with the line of the one
 * imported), as are users the directory refuses (no such entry, a token already
 * there without replace). *imported counts the tokens stored. Returns 0, or an
 * enum ctl_exit when the directory cannot be used at all (said on stderr).
 */
int cmd_tokendir_import(const struct pg_conf *conf, struct import_result *res,
                        int replace, unsigned *imported);

/*
 * phiguardctl reseal on the directory: every token's secret opened with
 * any key of kr and sealed under its first (plain ones too), first all
 * checked, then each rewritten (tokendir_reseal()). Sets *n to the tokens
 * resealed. Returns CTL_EXIT_OK or CTL_EXIT_FAIL after saying why.
 */
int cmd_tokendir_reseal(const struct pg_conf *conf,
                        const struct seal_keyring *kr, unsigned *n);

#endif
