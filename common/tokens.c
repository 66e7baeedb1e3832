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
#include "username.h"

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

/* A line split into its fields, each checked (check_line()): what
 * fill_token() turns into a token. The pointers are into the line. */
struct token_fields {
	const char *f[TOKEN_FIELDS_MAX];
	size_t flen[TOKEN_FIELDS_MAX];
	size_t nf;
	enum pg_token_alg alg;
	unsigned digits, period;
	size_t b32_data; /* Base32 characters before any padding */
	int sealed;
};

/*
 * Check an RFC 4648 Base32 secret of len characters without decoding it:
 * *data is the number before any padding. The alphabet and padding are
 * checked here rather than left to liboath, which skips characters it
 * does not like (spaces) and so would accept a line we cannot format
 * back. What passes decodes to data * 5 / 8 bytes.
 */
static int check_b32_secret(const char *s, size_t len, size_t *data, char *err,
                            size_t errlen)
{
	size_t i, n;

	if (len > B32_MAX_CHARS)
		return token_error(err, errlen,
		                   "secret too long (max %d bytes)",
		                   PG_TOKEN_MAX_SECRET);
	for (n = 0; n < len && s[n] != '='; n++) {
		if ((s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '2' && s[n] <= '7'))
			continue;
		return token_error(err, errlen, "bad base32 secret");
	}
	for (i = n; i < len; i++)
		if (s[i] != '=')
			return token_error(err, errlen, "bad base32 secret");
	/* Padding, if given, must be complete; the unpadded length must be
	 * one a whole number of bytes encodes to. */
	if ((n < len && len % 8 != 0) || n % 8 == 1 || n % 8 == 3 || n % 8 == 6)
		return token_error(err, errlen, "bad base32 length");
	if (n * 5 / 8 < TOKEN_MIN_SECRET || n * 5 / 8 > PG_TOKEN_MAX_SECRET)
		return token_error(
		    err, errlen, "secret must be %d..%d bytes (is %zu)",
		    TOKEN_MIN_SECRET, PG_TOKEN_MAX_SECRET, n * 5 / 8);
	*data = n;
	return 0;
}

/* Decode the first data characters of a Base32 secret that passed
 * check_b32_secret() into out (PG_TOKEN_MAX_SECRET bytes); *outlen. */
static int decode_b32_secret(const char *s, size_t data, unsigned char *out,
                             size_t *outlen)
{
	char up[B32_MAX_CHARS + 1];
	char *bin = NULL;
	size_t binlen = 0, n;
	int rc = PG_ERR_INVAL;

	for (n = 0; n < data; n++)
		up[n] = (s[n] >= 'a' && s[n] <= 'z') ? (char)(s[n] - 32) : s[n];
	up[n] = '\0';
	/* Base32 needs no crypto backend; oath_init() is idempotent, and
	 * oath_done() is left to whoever owns the library's lifetime (the
	 * PAM module pairs them per call). */
	if (oath_init() == OATH_OK &&
	    oath_base32_decode(up, n, &bin, &binlen) == OATH_OK &&
	    binlen == data * 5 / 8) {
		memcpy(out, bin, binlen);
		*outlen = binlen;
		rc = 0;
	}
	secret_wipe(up, sizeof(up));
	secret_free(bin, binlen);
	return rc;
}

/* Split line (NUL-terminated) into tf and check every field, copying and
 * decoding nothing. 0, PG_ERR_NOTFOUND (a comment or blank line), or
 * PG_ERR_INVAL with the reason in err. */
static int check_line(const char *line, struct token_fields *tf, char *err,
                      size_t errlen)
{
	const char *p = line;
	char name[8];
	int alg = -1;

	/* Not a memset: this runs for every line of the store, and only
	 * the first nf fields are ever read. */
	tf->nf = 0;
	tf->sealed = 0;
	tf->b32_data = 0;
	while (is_sep(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return PG_ERR_NOTFOUND;
	while (*p != '\0') {
		if (tf->nf == TOKEN_FIELDS_MAX)
			return token_error(err, errlen, "too many fields");
		tf->f[tf->nf] = p;
		while (*p != '\0' && !is_sep(*p))
			p++;
		tf->flen[tf->nf] = (size_t)(p - tf->f[tf->nf]);
		tf->nf++;
		while (is_sep(*p))
			p++;
	}
	if (tf->nf < 5)
		return token_error(err, errlen,
		                   "missing fields (want USER ALGORITHM DIGITS "
		                   "PERIOD SECRET [LABEL])");
	if (username_check_n(tf->f[0], tf->flen[0]) != 0)
		return token_error(err, errlen, "bad user name");
	if (tf->flen[1] < sizeof(name)) {
		memcpy(name, tf->f[1], tf->flen[1]);
		name[tf->flen[1]] = '\0';
		alg = tokens_alg_from_name(name);
	}
	if (alg < 0)
		return token_error(err, errlen,
		                   "bad algorithm (want SHA1, SHA256 "
		                   "or SHA512)");
	tf->alg = (enum pg_token_alg)alg;
	if (parse_uint(tf->f[2], tf->flen[2], 6, 8, &tf->digits) != 0)
		return token_error(err, errlen, "bad digits (want 6..8)");
	if (parse_uint(tf->f[3], tf->flen[3], TOKEN_MIN_PERIOD,
	               TOKEN_MAX_PERIOD, &tf->period) != 0)
		return token_error(err, errlen, "bad period (want %d..%d)",
		                   TOKEN_MIN_PERIOD, TOKEN_MAX_PERIOD);
	tf->sealed = seal_is_sealed(tf->f[4], tf->flen[4]);
	if (tf->sealed) {
		if (seal_text_check(tf->f[4], tf->flen[4]) != 0)
			return token_error(err, errlen, "bad sealed secret");
	} else if (check_b32_secret(tf->f[4], tf->flen[4], &tf->b32_data, err,
	                            errlen) != 0) {
		return PG_ERR_INVAL;
	}
	if (tf->nf == 6 && !label_valid(tf->f[5], tf->flen[5]))
		return token_error(err, errlen,
		                   "bad label (1..%d of A-Z a-z 0-9 . _ @ + -)",
		                   PG_TOKEN_MAX_LABEL);
	return 0;
}

/* The token of a line check_line() passed. 0 or PG_ERR_INVAL (err); tok is
 * wiped on error. */
static int fill_token(const struct token_fields *tf, struct pg_token *tok,
                      char *err, size_t errlen)
{
	memset(tok, 0, sizeof(*tok));
	memcpy(tok->user, tf->f[0], tf->flen[0]);
	tok->alg = tf->alg;
	tok->digits = tf->digits;
	tok->period = tf->period;
	if (tf->sealed) {
		memcpy(tok->sealed, tf->f[4], tf->flen[4]);
	} else if (decode_b32_secret(tf->f[4], tf->b32_data, tok->secret,
	                             &tok->secret_len) != 0) {
		tokens_wipe(tok);
		return token_error(err, errlen, "bad base32 secret");
	}
	if (tf->nf == 6)
		memcpy(tok->label, tf->f[5], tf->flen[5]);
	return 0;
}

int tokens_parse_line(const char *line, struct pg_token *tok, char *err,
                      size_t errlen)
{
	struct token_fields tf;
	int rc = check_line(line, &tf, err, errlen);

	if (rc != 0) {
		tokens_wipe(tok);
		return rc;
	}
	return fill_token(&tf, tok, err, errlen);
}

/* A secret decoded for nobody, as long as a user's own one takes: a user
 * with no token waits as long for the prompt as one with a token. */
static void decode_for_timing(void)
{
	static const char dummy[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
	unsigned char bin[PG_TOKEN_MAX_SECRET];
	size_t binlen = 0;

	(void)decode_b32_secret(dummy, sizeof(dummy) - 1, bin, &binlen);
	secret_wipe(bin, sizeof(bin));
}

int tokens_find_user(const char *text, size_t len, const char *user,
                     struct pg_token_list *list, unsigned *bad_lines, char *err,
                     size_t errlen)
{
	char line[TOKEN_LINE_MAX + 1];
	char why[160];
	struct token_fields tf;
	const char *end = text != NULL ? text + len : NULL, *nl;
	size_t ulen = user != NULL ? strlen(user) : 0;
	unsigned lineno = 0, bad = 0;
	size_t llen;
	int r;

	list->n = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/*
	 * Every line is checked, the requested user's or not, so that a
	 * damaged store is reported whoever logs in; only the user's lines
	 * are decoded (decoding every secret was most of a login's time with
	 * a store of 2,000 agents). One decode is made for a user with none,
	 * so enrollment does not show in the time to the prompt.
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
			r = check_line(line, &tf, why, sizeof(why));
			/* Exact, case-sensitive match, as getpwnam() does. */
			if (r == 0 && user != NULL && tf.flen[0] == ulen &&
			    memcmp(tf.f[0], user, ulen) == 0) {
				if (list->n == PG_TOKENS_MAX_PER_USER)
					snprintf(why, sizeof(why),
					         "more than %d tokens for "
					         "user",
					         PG_TOKENS_MAX_PER_USER);
				else if (fill_token(&tf, &list->tok[list->n],
				                    why, sizeof(why)) == 0)
					list->n++;
			}
			secret_wipe(line, llen);
		}
		if (why[0] != '\0') {
			if (bad == 0 && err != NULL && errlen > 0)
				snprintf(err, errlen, "line %u: %s", lineno,
				         why);
			bad++;
		}
		text = nl != NULL ? nl + 1 : end;
	}
	if (user != NULL && list->n == 0)
		decode_for_timing();
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
