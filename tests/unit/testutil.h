/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the cmocka unit tests: a scratch directory per test
 * group, writing and reading fixture files, checking that memory was wiped,
 * liboath set-up. */
#ifndef PHIGUARD_TESTS_TESTUTIL_H
#define PHIGUARD_TESTS_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* The current scratch directory (valid between setup and teardown). */
extern char tu_tmpdir[64];

/* cmocka setup/teardown: create / recursively remove tu_tmpdir (made
 * searchable and writable first, should a test have left it otherwise). */
int tu_setup_tmpdir(void **state);
int tu_teardown_tmpdir(void **state);

/* tu_tmpdir "/" name, in a static buffer overwritten by the next call. */
const char *tu_path(const char *name);

/* Create or truncate path with text and then chmod it to mode; fails the
 * running test on any error. */
void tu_write_file(const char *path, const char *text, mode_t mode);

/* The whole file at path, NUL-terminated, in a buffer the caller frees; its
 * length in *len if len is not NULL. Fails the running test on any error. */
char *tu_read_file(const char *path, size_t *len);

/* 1 if all len bytes at p are zero. */
int tu_all_zero(const void *p, size_t len);

/* cmocka group setup/teardown: oath_init() / oath_done(). */
int tu_setup_oath(void **state);
int tu_teardown_oath(void **state);

#endif
