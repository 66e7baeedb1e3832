/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening files that hold secrets or policy only if nobody but their owner
 * could have written (or, for secrets, read) them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "safefile.h"
#include "secret.h"

#define SAFEFILE_MAX_SIZE (1024 * 1024)

const struct safefile_policy safefile_secret_policy = {
    .owner = 0,
    .allow_other_owner = 0,
    .forbidden_mode = 077,
    .max_size = SAFEFILE_MAX_SIZE,
};

const struct safefile_policy safefile_config_policy = {
    .owner = 0,
    .allow_other_owner = 0,
    .forbidden_mode = 022,
    .max_size = SAFEFILE_MAX_SIZE,
};

/*
 * Open and check; also hands back the fstat result so safefile_read can
 * size its buffer. Every check is on the descriptor, not the name, so the
 * file cannot be swapped between check and use.
 */
static int open_checked(const char *path, const struct safefile_policy *pol,
                        int *fd_out, struct stat *st_out, char *err,
                        size_t errlen)
{
	int rc = PG_ERR_IO;
	int fd, flags, e;
	struct stat st;
	mode_t mode;

	/* O_NONBLOCK: opening a FIFO planted at this path must not hang a
	 * login; it is refused below as not a regular file. */
	fd = open(path,
	          O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			rc = PG_ERR_NOTFOUND;
			pg_err_set(err, errlen, "%s: %s", path, strerror(e));
		} else if (e == ELOOP) {
			rc = PG_ERR_UNSAFE_FILE;
			pg_err_set(err, errlen, "%s: is a symbolic link", path);
		} else {
			pg_err_set(err, errlen, "%s: %s", path, strerror(e));
		}
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		pg_err_set(err, errlen, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	rc = PG_ERR_UNSAFE_FILE;
	if (!S_ISREG(st.st_mode)) {
		pg_err_set(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (!pol->allow_other_owner && st.st_uid != pol->owner &&
	    !(pol->root_too && st.st_uid == 0)) {
		pg_err_set(
		    err, errlen, "%s: must be owned by uid %lu%s (is %lu)",
		    path, (unsigned long)pol->owner,
		    pol->root_too ? " or root" : "", (unsigned long)st.st_uid);
		goto out;
	}
	mode = st.st_mode & 07777;
	if ((mode & pol->forbidden_mode) != 0) {
		pg_err_set(err, errlen,
		           "%s: mode %04o allows group/other %s (want %04o)",
		           path, (unsigned)mode,
		           (pol->forbidden_mode & 044) != 0 ? "access"
		                                            : "write access",
		           (unsigned)(mode & ~pol->forbidden_mode));
		goto out;
	}
	if ((unsigned long long)st.st_size > pol->max_size) {
		pg_err_set(err, errlen, "%s: larger than %zu bytes", path,
		           pol->max_size);
		goto out;
	}
	rc = PG_ERR_IO;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		pg_err_set(err, errlen, "%s: fcntl: %s", path, strerror(errno));
		goto out;
	}
	*fd_out = fd;
	*st_out = st;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int safefile_open(const char *path, const struct safefile_policy *pol,
                  int *fd_out, char *err, size_t errlen)
{
	struct stat st;

	return open_checked(path, pol, fd_out, &st, err, errlen);
}

/* Grow buf to newcap, wiping the old copy: it may already hold secrets. */
static int grow(char **buf, size_t len, size_t *cap, size_t newcap)
{
	char *nb = malloc(newcap);

	if (nb == NULL)
		return PG_ERR_NOMEM;
	memcpy(nb, *buf, len);
	secret_free(*buf, *cap);
	*buf = nb;
	*cap = newcap;
	return 0;
}

int safefile_read(const char *path, const struct safefile_policy *pol,
                  char **buf_out, size_t *len_out, char *err, size_t errlen)
{
	return safefile_read_stat(path, pol, buf_out, len_out, NULL, err,
	                          errlen);
}

int safefile_read_stat(const char *path, const struct safefile_policy *pol,
                       char **buf_out, size_t *len_out, struct stat *st_out,
                       char *err, size_t errlen)
{
	int rc;
	int fd = -1;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0, limit;
	ssize_t n;

	if ((rc = open_checked(path, pol, &fd, &st, err, errlen)) != 0)
		goto out;
	/*
	 * The file may grow after fstat, so the size seen there is only a
	 * hint: read until EOF but never keep more than max_size bytes. Room
	 * for one byte over the cap lets an over-size file be detected, and
	 * one more for the NUL.
	 */
	limit = pol->max_size + 2;
	cap = (size_t)st.st_size + 2;
	rc = PG_ERR_NOMEM;
	if ((buf = malloc(cap)) == NULL) {
		pg_err_set(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (len + 1 == cap) {
			if ((rc = grow(&buf, len, &cap,
			               cap * 2 < limit ? cap * 2 : limit)) !=
			    0) {
				pg_err_set(err, errlen, "%s: out of memory",
				           path);
				goto out;
			}
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = PG_ERR_IO;
			pg_err_set(err, errlen, "%s: read: %s", path,
			           strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > pol->max_size) {
			rc = PG_ERR_UNSAFE_FILE;
			pg_err_set(err, errlen, "%s: larger than %zu bytes",
			           path, pol->max_size);
			goto out;
		}
	}
	buf[len] = '\0';
	*buf_out = buf;
	*len_out = len;
	if (st_out != NULL)
		*st_out = st;
	buf = NULL;
	rc = 0;
out:
	secret_free(buf, cap);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* dir (fd, shown as name: the path up to it) as safefile_open_dir wants
 * it; last: the directory asked for, where no sticky bit excuses. */
static int check_dir(int fd, const char *name, const uid_t *owners,
                     size_t n_owners, int last, char *err, size_t errlen)
{
	struct stat st;
	size_t i;

	if (fstat(fd, &st) != 0) {
		pg_err_set(err, errlen, "%s: fstat: %s", name, strerror(errno));
		return PG_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		pg_err_set(err, errlen, "%s: not a directory", name);
		return PG_ERR_UNSAFE_FILE;
	}
	for (i = 0; i < n_owners && st.st_uid != 0; i++)
		if (st.st_uid == owners[i])
			break;
	if (st.st_uid != 0 && i == n_owners) {
		pg_err_set(err, errlen,
		           "%s: owned by uid %lu, not by root or the daemon's "
		           "user",
		           name, (unsigned long)st.st_uid);
		return PG_ERR_UNSAFE_FILE;
	}
	if ((st.st_mode & 022) != 0 && (last || !(st.st_mode & S_ISVTX))) {
		pg_err_set(err, errlen,
		           "%s: writable by group or other (mode %04o)", name,
		           (unsigned)(st.st_mode & 07777));
		return PG_ERR_UNSAFE_FILE;
	}
	return 0;
}

/* Open name in dir fd as the next component of shown. */
static int open_component(int fd, const char *name, const char *shown, int *out,
                          char *err, size_t errlen)
{
	struct stat st;
	int e;

	*out =
	    openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*out >= 0)
		return 0;
	e = errno;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		pg_err_set(err, errlen, "%s: is a symbolic link", shown);
		return PG_ERR_UNSAFE_FILE;
	}
	pg_err_set(err, errlen, "%s: %s", shown, strerror(e));
	if (e == ENOENT)
		return PG_ERR_NOTFOUND;
	return e == ENOTDIR ? PG_ERR_UNSAFE_FILE : PG_ERR_IO;
}

int safefile_open_dir(const char *path, const uid_t *owners, size_t n_owners,
                      int *fd_out, char *err, size_t errlen)
{
	char shown[PATH_MAX], name[NAME_MAX + 1];
	const char *p = path, *end;
	int fd = -1, next, rc = PG_ERR_INVAL;
	size_t len = strlen(path);

	if (path[0] != '/') {
		pg_err_set(err, errlen, "%s: not an absolute path", path);
		goto out;
	}
	rc = PG_ERR_TOOLONG;
	if (len >= sizeof(shown)) {
		pg_err_set(err, errlen, "%.64s...: path too long", path);
		goto out;
	}
	rc = PG_ERR_IO;
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		pg_err_set(err, errlen, "/: %s", strerror(errno));
		goto out;
	}
	p += strspn(p, "/");
	if ((rc = check_dir(fd, "/", owners, n_owners, *p == '\0', err,
	                    errlen)) != 0)
		goto out;
	while (*p != '\0') {
		end = p + strcspn(p, "/");
		if ((size_t)(end - p) > NAME_MAX) {
			rc = PG_ERR_TOOLONG;
			pg_err_set(err, errlen, "%s: name too long", path);
			goto out;
		}
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = '\0';
		snprintf(shown, sizeof(shown), "%.*s", (int)(end - path), path);
		p = end + strspn(end, "/");
		if ((rc = open_component(fd, name, shown, &next, err,
		                         errlen)) != 0)
			goto out;
		close(fd);
		fd = next;
		if ((rc = check_dir(fd, shown, owners, n_owners, *p == '\0',
		                    err, errlen)) != 0)
			goto out;
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
