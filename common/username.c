/* SPDX-License-Identifier: BSD-3-Clause */
/* User name validation: the one rule every part of phiguard applies before a
 * name reaches a log line, a file or the wire. */
#include "config.h"

#include <stddef.h>

#include "err.h"
#include "username.h"

/*
 * Length of the valid UTF-8 sequence starting at s (at most avail bytes),
 * or 0 if it is malformed. Overlong forms, UTF-16 surrogates and code
 * points above U+10FFFF are rejected: they are the classic ways to smuggle
 * a second spelling of the same name past a comparison.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		/* 0x80..0xc1 (continuation or overlong lead), 0xf5..0xff. */
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	if (cp > 0x10ffff)
		return 0;
	return n;
}

int username_check_n(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i, n;

	if (name == NULL || len == 0 || len > PG_USER_MAX)
		return PG_ERR_BAD_USER;
	/* A leading '-' reads as an option to tools; '.' as a hidden or
	 * relative path component. */
	if (s[0] == '-' || s[0] == '.')
		return PG_ERR_BAD_USER;
	for (i = 0; i < len; i += n) {
		/* '/' and ':' break paths and passwd-style files; '%' and '='
		 * are the protocol's escape and separator. NUL is below 0x21.
		 */
		if (s[i] < 0x21 || s[i] == 0x7f || s[i] == '/' || s[i] == ':' ||
		    s[i] == '%' || s[i] == '=')
			return PG_ERR_BAD_USER;
		n = utf8_seq_len(s + i, len - i);
		if (n == 0)
			return PG_ERR_BAD_USER;
	}
	return 0;
}

int username_check(const char *name)
{
	size_t len;

	if (name == NULL)
		return PG_ERR_BAD_USER;
	/* Bounded scan: never walk an unterminated buffer past the limit. */
	for (len = 0; len <= PG_USER_MAX && name[len] != '\0'; len++)
		;
	return username_check_n(name, len);
}
