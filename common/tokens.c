/* SPDX-License-Identifier: BSD-3-Clause */
/* The TOTP token store: parsing and formatting its lines, and collecting one
 * user's tokens with every copy of a secret wiped after use. */
#include "config.h"

#include <liboath/oath.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "safefile.h"
#include "seal.h"
#include "secret.h"
#include "tokens.h"

#define TOKEN_FIELDS_MAX 6
#define TOKEN_MIN_SECRET 10
#define TOKEN_MIN_PERIOD 10
#define TOKEN_MAX_PERIOD 300
/* Base32 of PG_TOKEN_MAX_SECRET bytes, padded: ceil(64 / 5) * 8. */
#define B32_MAX_CHARS 104
/* A valid line is far shorter (user 256 + secret 104 + label 64 + the
 * rest); anything longer is refused before it is copied. */
#define TOKEN_LINE_MAX 1024

static const char *const alg_names[] = {
    [PG_ALG_SHA1] = "SHA1",
    [PG_ALG_SHA256] = "SHA256",
    [PG_ALG_SHA512] = "SHA512",
};

#define N_ALGS (sizeof(alg_names) / sizeof(alg_names[0]))

const char *tokens_alg_name(enum pg_token_alg alg)
{
	if ((size_t)alg >= N_ALGS)
		return NULL;
	return alg_names[alg];
}

int tokens_alg_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	/* Case-insensitive: the file is edited by hand, and otpauth URIs
	 * in the wild spell it either way. */
	for (i = 0; i < N_ALGS; i++)
		if (strcasecmp(alg_names[i], name) == 0)
			return (int)i;
	return -1;
}

__attribute__((format(printf, 3, 4))) static int
token_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return PG_ERR_INVAL;
}

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int label_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
	       c == '+' || c == '-';
}

static int label_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PG_TOKEN_MAX_LABEL)
		return 0;
	for (i = 0; i < len; i++)
		if (!label_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Decimal in [min, max] with no sign, spaces or leading junk. */
static int parse_uint(const char *s, size_t len, unsigned min, unsigned max,
                      unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	/* No valid digits or period field is longer than 3 digits; the cap
	 * also rules out overflow. */
	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/*
 * Decode an RFC 4648 Base32 secret into tok. The alphabet and padding are
 * checked here rather than left to liboath, which skips characters it does
 * not like (spaces) and so would accept a line we cannot format back.
 */
static int decode_secret(const char *s, size_t len, struct pg_token *tok,
                         char *err, size_t errlen)
{
	char up[B32_MAX_CHARS + 1];
	char *bin = NULL;
	size_t binlen = 0, n, data, i;
	int rc = PG_ERR_INVAL;

	if (len > B32_MAX_CHARS) {
		token_error(err, errlen, "secret too long (max %d bytes)",
		            PG_TOKEN_MAX_SECRET);
		goto out;
	}
	for (data = 0; data < len && s[data] != '='; data++) {
		if ((s[data] >= 'A' && s[data] <= 'Z') ||
		    (s[data] >= 'a' && s[data] <= 'z') ||
		    (s[data] >= '2' && s[data] <= '7'))
			continue;
		token_error(err, errlen, "bad base32 secret");
		goto out;
	}
	for (i = data; i < len; i++) {
		if (s[i] != '=') {
			token_error(err, errlen, "bad base32 secret");
			goto out;
		}
	}
	/* Padding, if given, must be complete; the unpadded length must be
	 * one a whole number of bytes encodes to. */
	if ((data < len && len % 8 != 0) || data % 8 == 1 || data % 8 == 3 ||
	    data % 8 == 6) {
		token_error(err, errlen, "bad base32 length");
		goto out;
	}
	for (n = 0; n < data; n++)
		up[n] = (s[n] >= 'a' && s[n] <= 'z') ? (char)(s[n] - 32) : s[n];
	up[n] = '\0';
	/* Base32 needs no crypto backend; oath_init() is idempotent, and
	 * oath_done() is left to whoever owns the library's lifetime (the
	 * PAM module pairs them per call). */
	if (oath_init() != OATH_OK ||
	    oath_base32_decode(up, n, &bin, &binlen) != OATH_OK) {
		token_error(err, errlen, "bad base32 secret");
		goto out;
	}
	if (binlen < TOKEN_MIN_SECRET || binlen > PG_TOKEN_MAX_SECRET) {
		token_error(err, errlen, "secret must be %d..%d bytes (is %zu)",
		            TOKEN_MIN_SECRET, PG_TOKEN_MAX_SECRET, binlen);
		goto out;
	}
	memcpy(tok->secret, bin, binlen);
	tok->secret_len = binlen;
	rc = 0;
out:
	secret_wipe(up, sizeof(up));
	secret_free(bin, binlen);
	return rc;
}

int tokens_parse_line(const char *line, struct pg_token *tok, char *err,
                      size_t errlen)
{
	const char *f[TOKEN_FIELDS_MAX];
	size_t flen[TOKEN_FIELDS_MAX];
	const char *p = line;
	size_t nf = 0;
	int rc = PG_ERR_INVAL;
	int alg;

	memset(tok, 0, sizeof(*tok));
	while (is_sep(*p))
		p++;
	if (*p == '\0' || *p == '#') {
		rc = PG_ERR_NOTFOUND;
		goto out;
	}
	while (*p != '\0') {
		if (nf == TOKEN_FIELDS_MAX) {
			token_error(err, errlen, "too many fields");
			goto out;
		}
		f[nf] = p;
		while (*p != '\0' && !is_sep(*p))
			p++;
		flen[nf] = (size_t)(p - f[nf]);
		nf++;
		while (is_sep(*p))
			p++;
	}
	if (nf < 5) {
		token_error(err, errlen,
		            "missing fields (want USER ALGORITHM DIGITS "
		            "PERIOD SECRET [LABEL])");
		goto out;
	}

	if (flen[0] > PG_USER_MAX) {
		token_error(err, errlen, "bad user name");
		goto out;
	}
	memcpy(tok->user, f[0], flen[0]);
	tok->user[flen[0]] = '\0';
	if (username_check(tok->user) != 0) {
		token_error(err, errlen, "bad user name");
		goto out;
	}

	alg = -1;
	if (flen[1] <= strlen("SHA512")) {
		char name[8];

		memcpy(name, f[1], flen[1]);
		name[flen[1]] = '\0';
		alg = tokens_alg_from_name(name);
	}
	if (alg < 0) {
		token_error(err, errlen,
		            "bad algorithm (want SHA1, SHA256 "
		            "or SHA512)");
		goto out;
	}
	tok->alg = (enum pg_token_alg)alg;

	if (parse_uint(f[2], flen[2], 6, 8, &tok->digits) != 0) {
		token_error(err, errlen, "bad digits (want 6..8)");
		goto out;
	}
	if (parse_uint(f[3], flen[3], TOKEN_MIN_PERIOD, TOKEN_MAX_PERIOD,
	               &tok->period) != 0) {
		token_error(err, errlen, "bad period (want %d..%d)",
		            TOKEN_MIN_PERIOD, TOKEN_MAX_PERIOD);
		goto out;
	}
	if (seal_is_sealed(f[4], flen[4])) {
		if (seal_text_check(f[4], flen[4]) != 0) {
			token_error(err, errlen, "bad sealed secret");
			goto out;
		}
		memcpy(tok->sealed, f[4], flen[4]);
		tok->sealed[flen[4]] = '\0';
	} else if ((rc = decode_secret(f[4], flen[4], tok, err, errlen)) != 0) {
		goto out;
	}
	rc = PG_ERR_INVAL;
	if (nf == 6) {
		if (!label_valid(f[5], flen[5])) {
			token_error(
			    err, errlen,
			    "bad label (1..%d of A-Z a-z 0-9 . _ @ + -)",
			    PG_TOKEN_MAX_LABEL);
			goto out;
		}
		memcpy(tok->label, f[5], flen[5]);
		tok->label[flen[5]] = '\0';
	}
	rc = 0;
out:
	if (rc != 0)
		tokens_wipe(tok);
	return rc;
}

int tokens_find_user(const char *text, size_t len, const char *user,
                     struct pg_token_list *list, unsigned *bad_lines, char *err,
                     size_t errlen)
{
	char line[TOKEN_LINE_MAX + 1];
	char why[160];
	struct pg_token tok;
	const char *end = text != NULL ? text + len : NULL, *nl;
	unsigned lineno = 0, bad = 0;
	size_t llen;
	int r;

	list->n = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/*
	 * Every line is parsed, the requested user's or not, so the work
	 * (and the time) does not depend on whether the user is enrolled,
	 * and a damaged store is reported whoever logs in.
	 */
	while (text != NULL && text < end) {
		lineno++;
		nl = memchr(text, '\n', (size_t)(end - text));
		llen = (size_t)((nl != NULL ? nl : end) - text);
		why[0] = '\0';
		if (llen > TOKEN_LINE_MAX) {
			snprintf(why, sizeof(why), "line too long");
		} else if (memchr(text, '\0', llen) != NULL) {
			snprintf(why, sizeof(why), "NUL byte in line");
		} else {
			memcpy(line, text, llen);
			line[llen] = '\0';
			r = tokens_parse_line(line, &tok, why, sizeof(why));
			secret_wipe(line, llen);
			/* Exact, case-sensitive match, as getpwnam() does. */
			if (r == 0 && user != NULL &&
			    strcmp(tok.user, user) == 0) {
				if (list->n < PG_TOKENS_MAX_PER_USER)
					list->tok[list->n++] = tok;
				else
					snprintf(why, sizeof(why),
					         "more than %d tokens for "
					         "user",
					         PG_TOKENS_MAX_PER_USER);
			}
			tokens_wipe(&tok);
		}
		if (why[0] != '\0') {
			if (bad == 0 && err != NULL && errlen > 0)
				snprintf(err, errlen, "line %u: %s", lineno,
				         why);
			bad++;
		}
		text = nl != NULL ? nl + 1 : end;
	}
	if (bad_lines != NULL)
		*bad_lines = bad;
	return 0;
}

int tokens_load_user(const char *path, int check_owner, const char *user,
                     struct pg_token_list *list, unsigned *bad_lines, char *err,
                     size_t errlen)
{
	struct safefile_policy pol = safefile_secret_policy;
	char why[PG_TOKEN_MAX_LABEL + 192];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	pol.allow_other_owner = !check_owner;
	if ((rc = safefile_read(path, &pol, &buf, &len, err, errlen)) != 0)
		goto out;
	tokens_find_user(buf, len, user, list, bad_lines, why, sizeof(why));
	if (err != NULL && errlen > 0) {
		if (why[0] != '\0')
			snprintf(err, errlen, "%s: %s", path, why);
		else
			err[0] = '\0';
	}
	rc = 0;
out:
	secret_free(buf, len + 1);
	return rc;
}

/* The secret column: the sealed text as it is, or the secret in Base32
 * (allocated in *b32, wiped and freed by the caller). */
static int secret_column(const struct pg_token *tok, const char **col,
                         char **b32, size_t *b32len)
{
	size_t slen = strnlen(tok->sealed, sizeof(tok->sealed));

	if (slen > 0) {
		if (slen == sizeof(tok->sealed) ||
		    seal_text_check(tok->sealed, slen) != 0)
			return PG_ERR_INVAL;
		*col = tok->sealed;
		return 0;
	}
	if (tok->secret_len < TOKEN_MIN_SECRET ||
	    tok->secret_len > PG_TOKEN_MAX_SECRET)
		return PG_ERR_INVAL;
	if (oath_init() != OATH_OK ||
	    oath_base32_encode((const char *)tok->secret, tok->secret_len, b32,
	                       b32len) != OATH_OK)
		return PG_ERR_NOMEM;
	/* Written unpadded, as authenticator apps expect in otpauth URIs;
	 * the parser accepts either form. */
	while (*b32len > 0 && (*b32)[*b32len - 1] == '=')
		(*b32)[--*b32len] = '\0';
	*col = *b32;
	return 0;
}

int tokens_format_line(const struct pg_token *tok, char *out, size_t outsz)
{
	const char *col = NULL;
	char *b32 = NULL;
	size_t b32len = 0;
	int rc = PG_ERR_INVAL;
	int n;

	if (username_check(tok->user) != 0 ||
	    tokens_alg_name(tok->alg) == NULL || tok->digits < 6 ||
	    tok->digits > 8 || tok->period < TOKEN_MIN_PERIOD ||
	    tok->period > TOKEN_MAX_PERIOD ||
	    (tok->label[0] != '\0' &&
	     !label_valid(tok->label,
	                  strnlen(tok->label, sizeof(tok->label)))) ||
	    strnlen(tok->label, sizeof(tok->label)) == sizeof(tok->label))
		goto out;
	if ((rc = secret_column(tok, &col, &b32, &b32len)) != 0)
		goto out;
	n = snprintf(out, outsz, "%s %s %u %u %s%s%s\n", tok->user,
	             tokens_alg_name(tok->alg), tok->digits, tok->period, col,
	             tok->label[0] != '\0' ? " " : "", tok->label);
	rc = PG_ERR_TOOLONG;
	if (n < 0 || (size_t)n >= outsz)
		goto out;
	rc = 0;
out:
	if (rc != 0 && out != NULL && outsz > 0)
		secret_wipe(out, outsz);
	secret_free(b32, b32len);
	return rc;
}

int tokens_open(struct pg_token *tok, const struct seal_keyring *kr, char *err,
                size_t errlen)
{
	size_t len = 0;
	int rc;

	if (tok->sealed[0] == '\0')
		return 0;
	if (kr == NULL || kr->n == 0) {
		pg_err_set(err, errlen, "sealed secret and no key_file");
		return PG_ERR_CONFIG;
	}
	rc = seal_open(kr, tok->user, tok->sealed, tok->secret,
	               sizeof(tok->secret), &len);
	if (rc == 0 && len < TOKEN_MIN_SECRET)
		rc = PG_ERR_INVAL;
	switch (rc) {
	case 0:
		tok->secret_len = len;
		return 0;
	case PG_ERR_NOTFOUND:
		/* The key id is no secret: it tells the admin which key
		 * file line is missing. */
		pg_err_set(err, errlen,
		           "sealed with key %.16s, not in key_file",
		           tok->sealed + strlen(SEAL_PREFIX));
		break;
	case PG_ERR_AUTH:
		pg_err_set(
		    err, errlen,
		    "sealed secret does not open with key %.16s (another "
		    "key of that id, another user's secret, or altered)",
		    tok->sealed + strlen(SEAL_PREFIX));
		break;
	default:
		pg_err_set(err, errlen, "malformed sealed secret");
		break;
	}
	secret_wipe(tok->secret, sizeof(tok->secret));
	tok->secret_len = 0;
	return rc == PG_ERR_TOOLONG ? PG_ERR_INVAL : rc;
}

int tokens_open_list(struct pg_token_list *list, const struct seal_keyring *kr,
                     char *err, size_t errlen)
{
	char why[192];
	size_t i;
	int rc;

	for (i = 0; i < list->n && i < PG_TOKENS_MAX_PER_USER; i++) {
		if ((rc = tokens_open(&list->tok[i], kr, why, sizeof(why))) ==
		    0)
			continue;
		pg_err_set(err, errlen, "token %zu (%s): %s", i + 1,
		           list->tok[i].label[0] != '\0' ? list->tok[i].label
		                                         : "no label",
		           why);
		tokens_list_wipe(list);
		return rc;
	}
	return 0;
}

int tokens_seal(struct pg_token *tok, const struct seal_key *k)
{
	int rc;

	if (tok->secret_len < TOKEN_MIN_SECRET ||
	    tok->secret_len > PG_TOKEN_MAX_SECRET)
		rc = PG_ERR_INVAL;
	else
		rc = seal_secret(k, tok->user, tok->secret, tok->secret_len,
		                 tok->sealed, sizeof(tok->sealed));
	if (rc != 0)
		secret_wipe(tok->sealed, sizeof(tok->sealed));
	return rc;
}

void tokens_wipe(struct pg_token *tok)
{
	if (tok != NULL)
		secret_wipe(tok, sizeof(*tok));
}

void tokens_list_wipe(struct pg_token_list *list)
{
	if (list != NULL)
		secret_wipe(list, sizeof(*list));
}
