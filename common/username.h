/* SPDX-License-Identifier: BSD-3-Clause */
/* What phiguard accepts as a user name, in one place. */
#ifndef PHIGUARD_COMMON_USERNAME_H
#define PHIGUARD_COMMON_USERNAME_H

#include <stddef.h>

#define PG_USER_MAX 256 /* bytes, without the terminating NUL */

/*
 * Returns 0 if name is acceptable: 1..PG_USER_MAX bytes, valid UTF-8, no
 * byte below 0x21 (controls, space), no 0x7f, no '/', ':', '%', '=' and it
 * does not start with '-' or '.'. Otherwise PG_ERR_BAD_USER. NULL -> error.
 */
int username_check(const char *name);

/* The same rule for the len bytes at name (no terminating NUL needed; a
 * NUL among them is refused). */
int username_check_n(const char *name, size_t len);

#endif
