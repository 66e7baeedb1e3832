/* SPDX-License-Identifier: BSD-3-Clause */
/* A token record's decisions: pure logic. */
#include "config.h"

#include "tokens/tokrec.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "seal.h"
#include "secret.h"

static const struct {
	const char *oid;
	enum pg_token_alg alg;
} hmac_oids[] = {
    {"1.2.840.113549.2.7", PG_ALG_SHA1},
    {"1.2.840.113549.2.9", PG_ALG_SHA256},
    {"1.2.840.113549.2.11", PG_ALG_SHA512},
};

const char *tokrec_alg_oid(enum pg_token_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(hmac_oids) / sizeof(hmac_oids[0]); i++)
		if (hmac_oids[i].alg == alg)
			return hmac_oids[i].oid;
	return NULL;
}

int tokrec_alg_from_oid(const char *oid, size_t len, enum pg_token_alg *alg)
{
	size_t i;

	for (i = 0; i < sizeof(hmac_oids) / sizeof(hmac_oids[0]); i++)
		if (strlen(hmac_oids[i].oid) == len &&
		    memcmp(hmac_oids[i].oid, oid, len) == 0) {
			*alg = hmac_oids[i].alg;
			return 0;
		}
	return PG_ERR_INVAL;
}

/* n digits of s as a number; -1 if one is not a digit. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int tokrec_gentime_parse(const char *s, size_t len, int64_t *out)
{
	struct tm tm;
	int f[6];
	size_t i;
	const size_t w[6] = {4, 2, 2, 2, 2, 2};
	size_t off = 0;
	time_t t;

	if (len < 15 || s[len - 1] != 'Z')
		return PG_ERR_INVAL;
	for (i = 0; i < 6; i++) {
		if ((f[i] = digits(s + off, w[i])) < 0)
			return PG_ERR_INVAL;
		off += w[i];
	}
	/* A fraction of a second, if any, does not matter here. */
	if (off != len - 1 && s[off] != '.' && s[off] != ',')
		return PG_ERR_INVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
	    f[4] > 59 || f[5] > 60 || (t = timegm(&tm)) == (time_t)-1)
		return PG_ERR_INVAL;
	*out = (int64_t)t;
	return 0;
}

void tokrec_gentime_format(int64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TOKREC_GENTIME_LEN, "%Y%m%d%H%M%SZ", &tm) == 0)
		snprintf(out, TOKREC_GENTIME_LEN, "19700101000000Z");
}

int64_t tokrec_lock_until(const struct tokrec_state *st,
                          const struct tokrec_limits *lim, int64_t now)
{
	int64_t until;

	if (!st->has_failures || st->failures < lim->max_failures ||
	    st->last_failure == 0)
		return 0;
	until = st->last_failure + lim->lockout;
	return now < until ? until : 0;
}

uint64_t tokrec_next_failures(const struct tokrec_state *st,
                              const struct tokrec_limits *lim, int64_t now)
{
	if (!st->has_failures || st->last_failure == 0 ||
	    now - st->last_failure > lim->failure_window)
		return 1;
	return st->failures + 1;
}

int tokrec_line(const char *user, enum pg_token_alg alg, unsigned digits_,
                unsigned period, const unsigned char *secret, size_t len,
                const char *label, char *out, size_t outsz)
{
	struct pg_token tok;
	char *nl;
	int rc = PG_ERR_INVAL;

	memset(&tok, 0, sizeof(tok));
	if (strlen(user) >= sizeof(tok.user))
		goto out;
	memcpy(tok.user, user, strlen(user) + 1);
	tok.alg = alg;
	tok.digits = digits_;
	tok.period = period;
	/* Sealed: handed on as it is, for the module to open. */
	if (seal_is_sealed((const char *)secret, len)) {
		if (len >= sizeof(tok.sealed) || memchr(secret, '\0', len))
			goto out;
		memcpy(tok.sealed, secret, len);
	} else {
		if (len > sizeof(tok.secret))
			goto out;
		memcpy(tok.secret, secret, len);
		tok.secret_len = len;
	}
	snprintf(tok.label, sizeof(tok.label), "%s", label);
	rc = tokens_format_line(&tok, out, outsz);
	if (rc == PG_ERR_INVAL && tok.label[0] != '\0') {
		/* Perhaps only the label: a description of any text. */
		tok.label[0] = '\0';
		rc = tokens_format_line(&tok, out, outsz);
	}
	if (rc == 0 && (nl = strchr(out, '\n')) != NULL)
		*nl = '\0';
out:
	tokens_wipe(&tok);
	return rc;
}
