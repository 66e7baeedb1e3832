/* SPDX-License-Identifier: BSD-3-Clause */
/* Migration parsers for pam_oath usersfiles and google-authenticator files:
 * what can be carried over becomes a token, the rest is reported. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oath.h>

#include "err.h"
#include "import.h"
#include "secret.h"
#include "tokens.h"
#include "username.h"

#define MIN_SECRET       10 /* bytes: the store's minimum, 80 bits */
#define MIN_PERIOD       10 /* seconds: the store's PERIOD range */
#define MAX_PERIOD       300
#define SCRATCH_CODE_LEN 8

enum oath_kind { OATH_KIND_UNKNOWN = 0, OATH_KIND_EVENT, OATH_KIND_TIME };

int import_format_from_name(const char *name)
{
	if (strcmp(name, "pam_oath") == 0)
		return IMPORT_PAM_OATH;
	if (strcmp(name, "google-authenticator") == 0)
		return IMPORT_GOOGLE_AUTH;
	if (strcmp(name, "phiguard") == 0)
		return IMPORT_PHIGUARD;
	return -1;
}

/*
 * Make room for one more element. The old block is wiped before it is
 * freed because item arrays hold secrets.
 */
static int grow(void **arr, size_t n, size_t *cap, size_t elsize)
{
	size_t ncap = *cap == 0 ? 8 : *cap * 2;
	void *na;

	if (n < *cap)
		return 0;
	if (ncap > SIZE_MAX / elsize || (na = calloc(ncap, elsize)) == NULL)
		return PG_ERR_NOMEM;
	if (n > 0)
		memcpy(na, *arr, n * elsize);
	secret_free(*arr, *cap * elsize);
	*arr = na;
	*cap = ncap;
	return 0;
}

__attribute__((format(printf, 4, 0))) static int
add_msg(struct import_msg **arr, size_t *n, size_t *cap, const char *fmt,
        unsigned line, va_list ap)
{
	int rc;

	if ((rc = grow((void **)arr, *n, cap, sizeof(**arr))) != 0)
		return rc;
	(*arr)[*n].line = line;
	vsnprintf((*arr)[*n].text, sizeof((*arr)[*n].text), fmt, ap);
	(*n)++;
	return 0;
}

int import_skip(struct import_result *res, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = add_msg(&res->skips, &res->nskips, &res->skips_cap, fmt, line, ap);
	va_end(ap);
	return rc;
}

__attribute__((format(printf, 3, 4))) static int
add_note(struct import_result *res, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = add_msg(&res->notes, &res->nnotes, &res->notes_cap, fmt, line, ap);
	va_end(ap);
	return rc;
}

/* Append a copy of tok (which the caller still wipes). */
static int add_item(struct import_result *res, unsigned line,
                    const struct pg_token *tok)
{
	int rc;

	if ((rc = grow((void **)&res->items, res->nitems, &res->items_cap,
	               sizeof(*res->items))) != 0)
		return rc;
	res->items[res->nitems].line = line;
	res->items[res->nitems].skipped = 0;
	res->items[res->nitems].tok = *tok;
	res->nitems++;
	return 0;
}

void import_result_free(struct import_result *res)
{
	if (res == NULL)
		return;
	secret_free(res->items, res->items_cap * sizeof(*res->items));
	free(res->skips);
	free(res->notes);
	memset(res, 0, sizeof(*res));
}

enum line_status { LINE_OK = 0, LINE_TOO_LONG, LINE_HAS_NUL };

/*
 * Copy the next line of [*p, end) into line (NUL-terminated, without "\n"
 * or a trailing "\r") and advance *p past it.
 */
static enum line_status next_line(const char **p, const char *end, char *line,
                                  size_t size)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	const char *start = *p;

	*p = nl != NULL ? nl + 1 : end;
	line[0] = '\0';
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (n >= size)
		return LINE_TOO_LONG;
	if (memchr(start, '\0', n) != NULL)
		return LINE_HAS_NUL;
	memcpy(line, start, n);
	line[n] = '\0';
	return LINE_OK;
}

/* Split line in place at blanks into at most max fields; returns the count. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t", &save); t != NULL && n < max;
	     t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	return n;
}

/*
 * pam_oath's token types: "HOTP" and "HOTP/E" are event-based, "HOTP/T30"
 * and "HOTP/T60" time-based; each may end in "/6", "/7" or "/8" digits.
 */
static enum oath_kind oath_type(const char *t, unsigned *period,
                                unsigned *digits)
{
	enum oath_kind kind;

	*digits = 6;
	*period = 0;
	if (strncmp(t, "HOTP", 4) != 0)
		return OATH_KIND_UNKNOWN;
	t += 4;
	if (*t == '\0')
		return OATH_KIND_EVENT;
	if (strncmp(t, "/E", 2) == 0) {
		kind = OATH_KIND_EVENT;
		t += 2;
	} else if (strncmp(t, "/T30", 4) == 0 || strncmp(t, "/T60", 4) == 0) {
		kind = OATH_KIND_TIME;
		*period = t[2] == '3' ? 30 : 60;
		t += 4;
	} else {
		return OATH_KIND_UNKNOWN;
	}
	if (*t == '\0')
		return kind;
	if (t[0] == '/' && t[1] >= '6' && t[1] <= '8' && t[2] == '\0') {
		*digits = (unsigned)(t[1] - '0');
		return kind;
	}
	return OATH_KIND_UNKNOWN;
}

/* Decode a pam_oath HEXSECRET into tok; a reason on failure. */
static const char *oath_secret(const char *hex, struct pg_token *tok)
{
	size_t len = sizeof(tok->secret);
	int rc;

	rc = oath_hex2bin(hex, (char *)tok->secret, &len);
	if (rc == OATH_TOO_SMALL_BUFFER)
		return "secret longer than 64 bytes";
	if (rc != OATH_OK)
		return "secret is not valid hex";
	if (len < MIN_SECRET)
		return "secret shorter than 10 bytes (80 bits); enroll a new "
		       "token instead";
	tok->secret_len = len;
	return NULL;
}

/* "pam_oath" for the user's first token in the file, then "pam_oath.N". */
static void oath_label(const struct import_result *res, const char *user,
                       char *label, size_t size)
{
	unsigned n = 1;
	size_t i;

	for (i = 0; i < res->nitems; i++)
		n += strcmp(res->items[i].tok.user, user) == 0;
	if (n == 1)
		snprintf(label, size, "%s", IMPORT_LABEL_PAM_OATH);
	else
		snprintf(label, size, "%s.%u", IMPORT_LABEL_PAM_OATH, n);
}

/* One usersfile line; only PG_ERR_NOMEM stops the parse. */
static int oath_line(char *line, unsigned lineno, struct import_result *res)
{
	struct pg_token tok;
	enum oath_kind kind;
	const char *why;
	char *f[4];
	size_t nf;
	int rc = 0;

	memset(&tok, 0, sizeof(tok));
	nf = split_fields(line, f, 4);
	/* pam_oath skips lines of an unknown type silently; blank lines and
	 * comments are expected, anything else is worth reporting. */
	if (nf == 0 || f[0][0] == '#')
		goto out;
	kind = oath_type(f[0], &tok.period, &tok.digits);
	if (kind == OATH_KIND_UNKNOWN) {
		rc = import_skip(res, lineno,
		                 "unknown token type "
		                 "(expected HOTP/T30 or HOTP/T60)");
		goto out;
	}
	if (nf < 4) {
		rc = import_skip(res, lineno,
		                 "expected TYPE USER PASSWORD HEXSECRET");
		goto out;
	}
	/* An invalid name is not echoed: it may hold control bytes. */
	if (username_check(f[1]) != 0) {
		rc = import_skip(res, lineno, "invalid user name");
		goto out;
	}
	if (kind == OATH_KIND_EVENT) {
		rc = import_skip(res, lineno,
		                 "user %s: event-based HOTP token, phiguard "
		                 "supports TOTP only; enroll a new token",
		                 f[1]);
		goto out;
	}
	if ((why = oath_secret(f[3], &tok)) != NULL) {
		rc = import_skip(res, lineno, "user %s: %s", f[1], why);
		goto out;
	}
	snprintf(tok.user, sizeof(tok.user), "%s", f[1]);
	tok.alg = PG_ALG_SHA1;
	oath_label(res, tok.user, tok.label, sizeof(tok.label));
	/* "-" means none, "+" checked elsewhere; anything else is a
	 * password that phiguard has no place for (and must not echo). */
	if (strcmp(f[2], "-") != 0 && strcmp(f[2], "+") != 0 &&
	    (rc = add_note(res, lineno, "user %s: static password not migrated",
	                   f[1])) != 0)
		goto out;
	rc = add_item(res, lineno, &tok);
out:
	tokens_wipe(&tok);
	return rc;
}

/* Feed every line of text to fn; lines too long or holding a NUL are
 * skipped. */
static int each_line(const char *text, size_t len, struct import_result *res,
                     int (*fn)(char *line, unsigned lineno,
                               struct import_result *res))
{
	char line[IMPORT_MAX_LINE];
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	int rc = 0;

	while (rc == 0 && len > 0 && p < end) {
		lineno++;
		switch (next_line(&p, end, line, sizeof(line))) {
		case LINE_TOO_LONG:
			rc = import_skip(res, lineno, "line too long");
			break;
		case LINE_HAS_NUL:
			rc = import_skip(res, lineno,
			                 "line contains a NUL byte");
			break;
		case LINE_OK:
			rc = fn(line, lineno, res);
			break;
		}
	}
	secret_wipe(line, sizeof(line));
	return rc;
}

int import_pam_oath(const char *text, size_t len, struct import_result *res)
{
	return each_line(text, len, res, oath_line);
}

/* One line of a phiguard token file, as the module reads it. */
static int token_line(char *line, unsigned lineno, struct import_result *res)
{
	struct pg_token tok;
	char why[IMPORT_MSG_MAX];
	int rc;

	rc = tokens_parse_line(line, &tok, why, sizeof(why));
	if (rc == PG_ERR_NOTFOUND)
		return 0;
	rc = rc != 0 ? import_skip(res, lineno, "%s", why)
	             : add_item(res, lineno, &tok);
	tokens_wipe(&tok);
	return rc;
}

int import_phiguard(const char *text, size_t len, struct import_result *res)
{
	return each_line(text, len, res, token_line);
}

/* The settings a google-authenticator file can carry. */
struct ga_state {
	int totp, hotp;
	unsigned long step;
	unsigned scratch;
};

/* Decode the Base32 secret of line 1 into tok; a reason on failure. */
static const char *ga_secret(const char *b32, struct pg_token *tok)
{
	size_t i, len = 0;
	char *bin = NULL;
	const char *why = NULL;

	for (i = 0; b32[i] != '\0'; i++) {
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		           "abcdefghijklmnopqrstuvwxyz234567=",
		           b32[i]) == NULL)
			return "line 1 is not a Base32 secret";
	}
	if (i == 0)
		return "line 1 is not a Base32 secret";
	if (oath_base32_decode(b32, i, &bin, &len) != OATH_OK)
		why = "line 1 is not a Base32 secret";
	else if (len < MIN_SECRET)
		why = "secret shorter than 10 bytes (80 bits)";
	else if (len > sizeof(tok->secret))
		why = "secret longer than 64 bytes";
	if (why == NULL) {
		memcpy(tok->secret, bin, len);
		tok->secret_len = len;
	}
	secret_free(bin, len);
	return why;
}

/* Options that work differently in phiguard: say what happens instead. */
static const struct {
	const char *name;
	const char *note;
} ga_dropped[] = {
    {"WINDOW_SIZE", "WINDOW_SIZE not migrated: [totp] window in "
                    "phiguard.conf applies to every user"},
    {"RATE_LIMIT", "RATE_LIMIT not migrated: phiguardd's lockout "
                   "([totp] max_failures) applies"},
    {"DISALLOW_REUSE", "DISALLOW_REUSE: phiguard always refuses a reused "
                       "code"},
    {"TIME_SKEW", "TIME_SKEW not migrated: the phone's clock must be "
                  "right"},
    {"RESETTING_TIME_SKEW", "RESETTING_TIME_SKEW not migrated"},
};

/* One '" NAME [value]' line. Returns 0, PG_ERR_NOMEM or PG_ERR_INVAL. */
static int ga_option(char *opt, unsigned lineno, struct ga_state *st,
                     struct import_result *res, char *err, size_t errlen)
{
	char *f[2], *end;
	size_t nf, i;

	nf = split_fields(opt, f, 2);
	if (nf == 0) {
		snprintf(err, errlen, "line %u: empty option", lineno);
		return PG_ERR_INVAL;
	}
	if (strcmp(f[0], "TOTP_AUTH") == 0) {
		st->totp = 1;
		return 0;
	}
	if (strcmp(f[0], "HOTP_COUNTER") == 0) {
		st->hotp = 1;
		return 0;
	}
	if (strcmp(f[0], "STEP_SIZE") == 0) {
		st->step = nf == 2 ? strtoul(f[1], &end, 10) : 0;
		if (nf < 2 || *end != '\0' || st->step < MIN_PERIOD ||
		    st->step > MAX_PERIOD) {
			snprintf(err, errlen,
			         "line %u: STEP_SIZE must be %d..%d seconds",
			         lineno, MIN_PERIOD, MAX_PERIOD);
			return PG_ERR_INVAL;
		}
		return 0;
	}
	for (i = 0; i < sizeof(ga_dropped) / sizeof(ga_dropped[0]); i++) {
		if (strcmp(f[0], ga_dropped[i].name) == 0)
			return add_note(res, lineno, "%s", ga_dropped[i].note);
	}
	/* Only a plain option name is echoed. */
	if (strspn(f[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == strlen(f[0]) &&
	    strlen(f[0]) <= 32)
		return add_note(res, lineno, "option %s not migrated", f[0]);
	return add_note(res, lineno, "unrecognised option not migrated");
}

static int is_scratch_code(const char *s)
{
	return strlen(s) == SCRATCH_CODE_LEN &&
	       strspn(s, "0123456789") == SCRATCH_CODE_LEN;
}

/* Everything after line 1: options, scratch codes, blank lines. */
static int ga_rest(const char *p, const char *end, struct ga_state *st,
                   struct import_result *res, char *err, size_t errlen)
{
	char line[IMPORT_MAX_LINE];
	unsigned lineno = 1;
	int rc = 0;

	while (rc == 0 && p < end) {
		lineno++;
		if (next_line(&p, end, line, sizeof(line)) != LINE_OK) {
			snprintf(err, errlen, "line %u: too long or binary",
			         lineno);
			rc = PG_ERR_INVAL;
		} else if (strncmp(line, "\" ", 2) == 0) {
			rc = ga_option(line + 2, lineno, st, res, err, errlen);
		} else if (is_scratch_code(line)) {
			st->scratch++;
		} else if (line[strspn(line, " \t")] != '\0') {
			snprintf(err, errlen,
			         "line %u: neither an option nor a scratch "
			         "code",
			         lineno);
			rc = PG_ERR_INVAL;
		}
	}
	/* Scratch codes are secrets too. */
	secret_wipe(line, sizeof(line));
	return rc;
}

int import_google_auth(const char *text, size_t len, const char *user,
                       struct import_result *res, char *err, size_t errlen)
{
	char line[IMPORT_MAX_LINE];
	struct ga_state st = {0, 0, 30, 0};
	struct pg_token tok;
	const char *p = text, *end = text + len, *why;
	int rc = PG_ERR_BAD_USER;

	memset(&tok, 0, sizeof(tok));
	if (username_check(user) != 0) {
		snprintf(err, errlen, "invalid user name");
		goto out;
	}
	rc = PG_ERR_INVAL;
	if (len == 0 || next_line(&p, end, line, sizeof(line)) != LINE_OK) {
		snprintf(err, errlen, "line 1 is not a Base32 secret");
		goto out;
	}
	if ((why = ga_secret(line, &tok)) != NULL) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if ((rc = ga_rest(p, end, &st, res, err, errlen)) != 0)
		goto out;
	rc = PG_ERR_INVAL;
	/* google-authenticator's rule: HOTP_COUNTER makes it HOTP, else
	 * TOTP_AUTH makes it TOTP, else only scratch codes work. */
	if (st.hotp) {
		snprintf(err, errlen,
		         "HOTP_COUNTER: counter-based (HOTP) secret, phiguard "
		         "supports TOTP only; enroll a new token");
		goto out;
	}
	if (!st.totp) {
		snprintf(err, errlen,
		         "no TOTP_AUTH line: the secret is not "
		         "used for TOTP codes");
		goto out;
	}
	snprintf(tok.user, sizeof(tok.user), "%s", user);
	snprintf(tok.label, sizeof(tok.label), "%s", IMPORT_LABEL_GOOGLE_AUTH);
	tok.alg = PG_ALG_SHA1;
	tok.digits = 6;
	tok.period = (unsigned)st.step;
	if ((st.scratch > 0 &&
	     (rc = add_note(res, 0,
	                    "%u scratch codes not migrated: phiguard has none",
	                    st.scratch)) != 0) ||
	    (rc = add_item(res, 1, &tok)) != 0)
		goto out;
	rc = 0;
out:
	secret_wipe(line, sizeof(line));
	tokens_wipe(&tok);
	return rc;
}
