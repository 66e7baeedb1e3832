/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4515 escaping of values placed inside LDAP search filters. */
#include "config.h"

#include "ldapescape.h"

#include "err.h"

/*
 * RFC 4515 requires escaping only NUL, '*', '(', ')' and '\'. Control
 * characters and DEL are escaped as well: they never belong in a user or
 * group name, and an escaped form keeps them out of log lines that quote
 * the filter. Bytes >= 0x80 stay as they are, so UTF-8 names remain
 * readable and match what the server stores.
 */
static int must_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '*' || c == '(' || c == ')' ||
	       c == '\\';
}

int ldapescape_filter_value(const char *in, size_t inlen, char *out,
                            size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	int rc = PG_ERR_TOOLONG;

	if (out == NULL || (in == NULL && inlen > 0))
		return PG_ERR_INVAL;
	if (outsz == 0)
		return PG_ERR_TOOLONG;
	for (i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];

		/* Room for this byte's output plus the final NUL. */
		if (must_escape(c)) {
			if (outsz - o < 4)
				goto out;
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else {
			if (outsz - o < 2)
				goto out;
			out[o++] = (char)c;
		}
	}
	rc = 0;
out:
	/* A truncated value must never reach a filter: leave "" instead. */
	out[rc == 0 ? o : 0] = '\0';
	return rc;
}
