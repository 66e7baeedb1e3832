/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsers that turn other TOTP tools' secret files (pam_oath usersfiles,
 * google-authenticator files) into phiguard tokens. */
#ifndef PHIGUARD_CTL_IMPORT_H
#define PHIGUARD_CTL_IMPORT_H

#include <stddef.h>

#include "tokens.h"

#define IMPORT_MSG_MAX  200
#define IMPORT_MAX_LINE 4096

#define IMPORT_LABEL_PAM_OATH    "pam_oath"
#define IMPORT_LABEL_GOOGLE_AUTH "google-auth"

enum import_format { IMPORT_PAM_OATH = 0, IMPORT_GOOGLE_AUTH, IMPORT_PHIGUARD };

/* One token found in the source file. */
struct import_item {
	unsigned line; /* where it came from (1-based) */
	int skipped;   /* set by the caller if the store refused it */
	struct pg_token tok;
};

/* A line-numbered message (line 0 = about the whole file). Messages never
 * contain secrets or static passwords, only user names, labels and reasons. */
struct import_msg {
	unsigned line;
	char text[IMPORT_MSG_MAX];
};

/*
 * The outcome of a parse: tokens to import, lines skipped with a reason,
 * and notes about settings that were not carried over. Start from {0};
 * release with import_result_free(), which wipes the tokens.
 */
struct import_result {
	struct import_item *items;
	size_t nitems, items_cap;
	struct import_msg *skips;
	size_t nskips, skips_cap;
	struct import_msg *notes;
	size_t nnotes, notes_cap;
};

/* "pam_oath", "google-authenticator" or "phiguard" -> format; -1 if
 * unknown. */
int import_format_from_name(const char *name);

/*
 * Parse a pam_oath usersfile (TYPE USER PASSWORD HEXSECRET ...). Time-based
 * lines (HOTP/T30, HOTP/T60, optionally /6, /7 or /8) become SHA1 tokens
 * with that period and digits, labelled "pam_oath" (then "pam_oath.2",
 * ... for further lines of the same user). Event-based lines, unknown
 * types, bad users or secrets are skipped with a reason; a static password
 * is noted as not migrated. Comments and blank lines are ignored. Returns
 * 0 or PG_ERR_NOMEM.
 */
int import_pam_oath(const char *text, size_t len, struct import_result *res);

/*
 * Parse a google-authenticator secret file for user: the Base32 secret on
 * line 1, then '" OPTION ...' lines and 8-digit scratch codes. Yields one
 * SHA1, 6-digit token labelled "google-auth" with STEP_SIZE (default 30)
 * as period; options that cannot be carried over and scratch codes are
 * noted. Returns 0, PG_ERR_BAD_USER, PG_ERR_NOMEM, or PG_ERR_INVAL with
 * "line N: reason" in err when the file is refused as a whole (HOTP, no
 * TOTP_AUTH, bad secret or step size, unrecognised line).
 */
int import_google_auth(const char *text, size_t len, const char *user,
                       struct import_result *res, char *err, size_t errlen);

/*
 * Parse a phiguard token file (common/tokens.h format): every token line
 * as it stands, label included; lines that do not parse are skipped with
 * the parser's reason, comments and blank lines ignored. Returns 0 or
 * PG_ERR_NOMEM.
 */
int import_phiguard(const char *text, size_t len, struct import_result *res);

/* Record a skipped line. Returns 0 or PG_ERR_NOMEM. */
int import_skip(struct import_result *res, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wipe and free everything in res; res is left empty. Accepts NULL. */
void import_result_free(struct import_result *res);

#endif
