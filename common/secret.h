/* SPDX-License-Identifier: BSD-3-Clause */
/* Handling of secrets in memory: wiping, wipe-on-free, constant-time compare.
 */
#ifndef PHIGUARD_COMMON_SECRET_H
#define PHIGUARD_COMMON_SECRET_H

#include <stddef.h>

/* Overwrite len bytes at p with zeros in a way the compiler may not elide. */
void secret_wipe(void *p, size_t len);

/* Wipe len bytes at p, then free(p). Accepts NULL. */
void secret_free(void *p, size_t len);

/* Wipe a NUL-terminated string (its whole strlen) and free it. Accepts NULL. */
void secret_strfree(char *s);

/*
 * Compare two buffers of the same length in time that depends only on len.
 * Returns 1 if equal, 0 if not.
 */
int secret_equal(const void *a, const void *b, size_t len);

/*
 * Compare two NUL-terminated strings without an early exit on the first
 * differing byte; the time depends on the longer length only. 1 if equal.
 */
int secret_streq(const char *a, const char *b);

#endif
