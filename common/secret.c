/* SPDX-License-Identifier: BSD-3-Clause */
/* Wiping and comparing secrets so that neither the compiler nor timing
 * gives them away. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "secret.h"

#ifndef HAVE_EXPLICIT_BZERO
/*
 * Calling memset through a volatile pointer stops the compiler from
 * proving the store dead and dropping it before free().
 */
static void *(*const volatile secret_memset)(void *, int, size_t) = memset;
#endif

void secret_wipe(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, len);
#else
	secret_memset(p, 0, len);
#endif
}

void secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	secret_wipe(p, len);
	free(p);
}

void secret_strfree(char *s)
{
	if (s == NULL)
		return;
	secret_free(s, strlen(s));
}

int secret_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *pa = a;
	const volatile unsigned char *pb = b;
	unsigned char diff = 0;
	size_t i;

	/* Accumulate every difference; no branch depends on the data. */
	for (i = 0; i < len; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}

int secret_streq(const char *a, const char *b)
{
	const volatile unsigned char *pa = (const unsigned char *)a;
	const volatile unsigned char *pb = (const unsigned char *)b;
	size_t la, lb, n, i;
	unsigned char diff;
	unsigned char ca, cb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	n = la > lb ? la : lb;
	diff = la != lb;
	/*
	 * Walk the longer length; past the end of the shorter string compare
	 * against 0 instead of reading out of bounds. The index clamps are
	 * arithmetic, so the loop shape depends only on n.
	 */
	for (i = 0; i < n; i++) {
		ca = i < la ? pa[i] : 0;
		cb = i < lb ? pb[i] : 0;
		diff |= ca ^ cb;
	}
	return diff == 0;
}
