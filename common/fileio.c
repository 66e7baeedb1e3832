/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole writes and atomic, durable file replacement. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"

int fileio_write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* A write of 0 bytes sets no errno; give callers one
			 * that says what happened. */
			if (w == 0)
				errno = EIO;
			return PG_ERR_IO;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int fileio_commit(int fd, int dirfd, const char *tmp, const char *name,
                  enum fileio_step *failed)
{
	enum fileio_step step;
	int rc = PG_ERR_IO;

	step = FILEIO_STEP_FSYNC;
	if (fsync(fd) != 0)
		goto out;
	step = FILEIO_STEP_RENAME;
	if (renameat(dirfd, tmp, dirfd, name) != 0)
		goto out;
	/* Without this the rename may not survive a power loss. */
	step = FILEIO_STEP_FSYNC_DIR;
	if (fsync(dirfd) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && failed != NULL)
		*failed = step;
	return rc;
}
