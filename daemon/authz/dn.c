/* SPDX-License-Identifier: BSD-3-Clause */
/* DN comparison keys: libldap parses, we fold and serialize (dn.h). */
#include "config.h"

#include "authz/dn.h"

#include <stdlib.h>
#include <string.h>

#include <lber.h>
#include <ldap.h>

#include "err.h"

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Bytes that would make two different keys read alike: hex-escaped. */
static int needs_hex(unsigned char c)
{
	return c < 0x20 || c == 0x7f || strchr(",+=\\\"<>;#", c) != NULL;
}

static void put_hex2(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = hex[c >> 4];
	o[1] = hex[c & 15];
}

/*
 * "type=value" of one AVA, folded as dn.h says, in a malloc'd string.
 * Every output byte costs at most 3, so the size is known in advance.
 */
static char *ava_key(const LDAPAVA *ava)
{
	const struct berval *t = &ava->la_attr, *v = &ava->la_value;
	size_t i, o = 0, end = v->bv_len, start = 0;
	char *k = malloc(t->bv_len + 2 + 3 * v->bv_len + 1);
	int space = 0;

	if (k == NULL)
		return NULL;
	for (i = 0; i < t->bv_len; i++)
		k[o++] = ascii_lower(t->bv_val[i]);
	k[o++] = '=';
	if (ava->la_flags & LDAP_AVA_BINARY) {
		/* A BER value is compared as the bytes it is. */
		k[o++] = '#';
		for (i = 0; i < v->bv_len; i++, o += 2)
			put_hex2(k + o, (unsigned char)v->bv_val[i]);
		k[o] = '\0';
		return k;
	}
	while (start < end && v->bv_val[start] == ' ')
		start++;
	while (end > start && v->bv_val[end - 1] == ' ')
		end--;
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)v->bv_val[i];

		if (c == ' ') {
			space = 1;
			continue;
		}
		if (space)
			k[o++] = ' ';
		space = 0;
		if (needs_hex(c)) {
			k[o++] = '\\';
			put_hex2(k + o, c);
			o += 2;
		} else
			k[o++] = ascii_lower((char)c);
	}
	k[o] = '\0';
	return k;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append one RDN's key (its AVAs sorted, joined by '+') to *buf. */
static int rdn_append(LDAPRDN rdn, char **buf, size_t *len, size_t *cap)
{
	char **k = NULL;
	size_t n = 0, i, need;
	int rc = PG_ERR_NOMEM;

	while (rdn[n] != NULL)
		n++;
	if ((k = calloc(n, sizeof(*k))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((k[i] = ava_key(rdn[i])) == NULL)
			goto out;
	qsort(k, n, sizeof(*k), cmp_str);
	for (i = 0; i < n; i++) {
		need = *len + strlen(k[i]) + 2;
		if (need > *cap) {
			char *nb = realloc(*buf, need * 2);

			if (nb == NULL)
				goto out;
			*buf = nb;
			*cap = need * 2;
		}
		if (*len > 0)
			(*buf)[(*len)++] = i == 0 ? ',' : '+';
		strcpy(*buf + *len, k[i]);
		*len += strlen(k[i]);
	}
	rc = 0;
out:
	for (i = 0; k != NULL && i < n; i++)
		free(k[i]);
	free(k);
	return rc;
}

int dn_key(const char *dn, char **out)
{
	LDAPDN ldn = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0, i;
	int rc = PG_ERR_INVAL;

	if (dn == NULL || out == NULL)
		return PG_ERR_INVAL;
	/* LDAP_DN_FORMAT_LDAP takes RFC 4514 and the older, laxer forms
	 * (blanks around separators) that configs are written in. */
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS ||
	    ldn == NULL || ldn[0] == NULL)
		goto out;
	for (i = 0; ldn[i] != NULL; i++)
		if ((rc = rdn_append(ldn[i], &buf, &len, &cap)) != 0)
			goto out;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (ldn != NULL)
		ldap_dnfree(ldn);
	return rc;
}
