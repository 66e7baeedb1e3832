/* SPDX-License-Identifier: BSD-3-Clause */
/* UTF-8 validation (RFC 3629): what the JSON writer passes through and
 * what the audit line parser accepts. */
#ifndef PHIGUARD_COMMON_UTF8_H
#define PHIGUARD_COMMON_UTF8_H

#include <stddef.h>

/*
 * Length (1..4) of the valid UTF-8 sequence at s, which has n >= 1 bytes,
 * or 0 when it is not one: a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF or a sequence cut by n. An ASCII
 * byte (NUL included) is a sequence of 1.
 */
size_t utf8_seq(const unsigned char *s, size_t n);

#endif
