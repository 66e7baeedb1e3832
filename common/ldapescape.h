/* SPDX-License-Identifier: BSD-3-Clause */
/* RFC 4515 escaping of values placed inside LDAP search filters. */
#ifndef PHIGUARD_COMMON_LDAPESCAPE_H
#define PHIGUARD_COMMON_LDAPESCAPE_H

#include <stddef.h>

/* Bytes needed to escape n input bytes, terminating NUL included. The
 * caller keeps n small enough that this does not overflow. */
#define LDAPESCAPE_SIZE(n) (3 * (size_t)(n) + 1)

/*
 * Escape inlen bytes at in (they may include NUL) as an RFC 4515 assertion
 * value: NUL, '*', '(', ')', '\' and also every other byte below 0x20 and
 * 0x7f become "\xx" with two lowercase hex digits; all other bytes, UTF-8
 * sequences included, are copied unchanged. The result in out (outsz
 * bytes) is NUL-terminated. Returns 0; PG_ERR_TOOLONG if out is too small
 * (out then holds "" when outsz > 0); PG_ERR_INVAL if out is NULL, or in is
 * NULL while inlen > 0. LDAPESCAPE_SIZE(inlen) bytes are always enough.
 */
int ldapescape_filter_value(const char *in, size_t inlen, char *out,
                            size_t outsz);

#endif
