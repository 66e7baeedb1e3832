/* SPDX-License-Identifier: BSD-3-Clause */
/* Building otpauth:// URIs with RFC 3986 percent-encoding; the secret goes
 * into the URI in unpadded Base32 and never into a buffer left unwiped. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <oath.h>

#include "err.h"
#include "otpauth.h"
#include "secret.h"
#include "tokens.h"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int otpauth_pct_encode(const char *src, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (outsz == 0)
		return PG_ERR_TOOLONG;
	for (; *s != '\0'; s++) {
		if (o + (unreserved(*s) ? 1 : 3) >= outsz) {
			out[0] = '\0';
			return PG_ERR_TOOLONG;
		}
		if (unreserved(*s)) {
			out[o++] = (char)*s;
		} else {
			out[o++] = '%';
			out[o++] = hex[*s >> 4];
			out[o++] = hex[*s & 0x0f];
		}
	}
	out[o] = '\0';
	return 0;
}

/*
 * The secret in Base32 without the '=' padding, which the key URI format
 * says to leave out. *b32 is allocated by liboath; free it with
 * secret_free(*b32, *b32len).
 */
static int secret_base32(const struct pg_token *tok, char **b32, size_t *b32len)
{
	char *p = NULL;
	size_t len = 0, i;

	if (tok->secret_len == 0 || tok->secret_len > PG_TOKEN_MAX_SECRET)
		return PG_ERR_INVAL;
	if (oath_base32_encode((const char *)tok->secret, tok->secret_len, &p,
	                       &len) != OATH_OK)
		return PG_ERR_NOMEM;
	for (i = 0; i < len && p[i] != '='; i++)
		;
	p[i] = '\0';
	*b32 = p;
	*b32len = len;
	return 0;
}

int otpauth_build(const struct pg_token *tok, const char *issuer, char *out,
                  size_t outsz)
{
	/* Each byte may become three; the user name is bounded by tokens.h. */
	char enc_issuer[OTPAUTH_ISSUER_MAX * 3 + 1];
	char enc_user[PG_USER_MAX * 3 + 1];
	const char *alg;
	char *b32 = NULL;
	size_t b32len = 0, ilen;
	int n, rc = PG_ERR_INVAL;

	if (outsz > 0)
		out[0] = '\0';
	ilen = strlen(issuer);
	if (ilen == 0 || ilen > OTPAUTH_ISSUER_MAX ||
	    strchr(issuer, ':') != NULL ||
	    (alg = tokens_alg_name(tok->alg)) == NULL)
		goto out;
	if ((rc = otpauth_pct_encode(issuer, enc_issuer, sizeof(enc_issuer))) !=
	        0 ||
	    (rc = otpauth_pct_encode(tok->user, enc_user, sizeof(enc_user))) !=
	        0 ||
	    (rc = secret_base32(tok, &b32, &b32len)) != 0)
		goto out;
	n = snprintf(out, outsz,
	             "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=%s"
	             "&digits=%u&period=%u",
	             enc_issuer, enc_user, b32, enc_issuer, alg, tok->digits,
	             tok->period);
	rc = n < 0 || (size_t)n >= outsz ? PG_ERR_TOOLONG : 0;
out:
	if (rc != 0 && outsz > 0)
		secret_wipe(out, outsz);
	secret_free(b32, b32len);
	return rc;
}
