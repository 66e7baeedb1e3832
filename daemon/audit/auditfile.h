/* SPDX-License-Identifier: BSD-3-Clause */
/* Audit trail files on disk: the rotated predecessors' names, the last
 * complete line of a file, and the chain head a daemon continues from.
 * Shared by phiguardd and phiguardctl. */
#ifndef PHIGUARD_DAEMON_AUDITFILE_H
#define PHIGUARD_DAEMON_AUDITFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "audit/auditfmt.h"

/*
 * The rotated predecessors of path: the files named path ".N" (N decimal,
 * no leading zero) in its directory, oldest (smallest N) first, as *n
 * malloc'ed paths in a malloc'ed array; free with auditfile_free_names().
 * *max_n gets the highest N (0 if none); may be NULL. Returns 0, PG_ERR_IO
 * (directory unreadable) or PG_ERR_NOMEM.
 */
int auditfile_rotated(const char *path, char ***names, size_t *n,
                      unsigned long *max_n);
void auditfile_free_names(char **names, size_t n);

/*
 * In the open file fd of size bytes: *end_complete gets the offset just
 * after the last "\n" (0 if none), and hex the SHA-256 of the last
 * complete line (the bytes between the "\n" before it and its own "\n"),
 * if there is one (*has_line 1). Reads backwards with pread; lines of
 * any length. Returns 0 or PG_ERR_IO.
 */
int auditfile_tail(int fd, off_t size, off_t *end_complete, int *has_line,
                   char hex[AUDIT_HEX_SIZE]);

/*
 * The head a daemon would continue from: the hash of the last complete
 * line of path, or of its newest rotated predecessor when path is empty
 * or missing, or the genesis when there is no file at all (then
 * PG_ERR_NOTFOUND, hex still set). Returns 0, PG_ERR_NOTFOUND or
 * PG_ERR_IO.
 */
int auditfile_head(const char *path, char hex[AUDIT_HEX_SIZE]);

#endif
