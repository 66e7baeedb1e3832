/* SPDX-License-Identifier: BSD-3-Clause */
/* Writing files durably: whole writes despite short writes and signals, and
 * the fsync, rename, fsync sequence that replaces a file atomically. */
#ifndef PHIGUARD_COMMON_FILEIO_H
#define PHIGUARD_COMMON_FILEIO_H

#include <stddef.h>

/*
 * Write all n bytes at p to fd, retrying short writes and EINTR. Returns 0,
 * or PG_ERR_IO with errno from the failing write(2) (EIO if it wrote
 * nothing); some of the bytes may have been written by then.
 */
int fileio_write_all(int fd, const void *p, size_t n);

/* The step of fileio_commit() that failed. */
enum fileio_step {
	FILEIO_STEP_FSYNC,    /* fsync of the file: name is untouched */
	FILEIO_STEP_RENAME,   /* renameat: name is untouched */
	FILEIO_STEP_FSYNC_DIR /* fsync of the directory: name already is the
	                         new file, but a crash may still undo that */
};

/*
 * Replace name by the completely written temporary file tmp, open as fd,
 * so that a crash leaves either the old or the new file: fsync(fd), then
 * renameat(dirfd, tmp, dirfd, name), then fsync(dirfd) so the rename itself
 * is durable. Both names are relative to dirfd, an open directory. fd stays
 * open and the caller's. Returns 0, or PG_ERR_IO with errno from the failing
 * call and its step in *failed (if failed is not NULL). tmp is gone once
 * the rename has happened; before that, removing it is the caller's job.
 */
int fileio_commit(int fd, int dirfd, const char *tmp, const char *name,
                  enum fileio_step *failed);

#endif
