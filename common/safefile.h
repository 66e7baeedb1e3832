/* SPDX-License-Identifier: BSD-3-Clause */
/* Opening and reading files that hold secrets or policy, with the checks a
 * privileged reader needs: no symlinks, a regular file, owner, mode, size. */
#ifndef PHIGUARD_COMMON_SAFEFILE_H
#define PHIGUARD_COMMON_SAFEFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct safefile_policy {
	uid_t owner;           /* required owner uid */
	int allow_other_owner; /* if set, owner is not checked (tests only) */
	int root_too;          /* if set, root may own it as well as owner */
	mode_t forbidden_mode; /* bits that must be clear, 077 for secrets */
	size_t max_size;       /* larger files are refused */
};

/* Policy for secret files (tokens, passwords): root-owned, no group/other
 * bits, at most 1 MiB. */
extern const struct safefile_policy safefile_secret_policy;
/* Policy for config files: root-owned, not group/other writable, 1 MiB. */
extern const struct safefile_policy safefile_config_policy;

/*
 * Open path read-only with O_NOFOLLOW|O_CLOEXEC|O_NOCTTY and check the open
 * descriptor with fstat against the policy. On success stores the fd in
 * *fd_out and returns 0. On failure returns PG_ERR_NOTFOUND (missing),
 * PG_ERR_UNSAFE_FILE (symlink, not regular, owner, mode, size) or
 * PG_ERR_IO, and writes a one-line reason to err (if errlen > 0).
 */
int safefile_open(const char *path, const struct safefile_policy *pol,
                  int *fd_out, char *err, size_t errlen);

/*
 * safefile_open() then read the whole file into a NUL-terminated buffer.
 * On success *buf_out (owned by the caller; free with secret_free(buf,
 * *len_out + 1) if it may hold secrets) and *len_out are set. Same errors
 * as safefile_open(), plus PG_ERR_IO and PG_ERR_NOMEM. Intermediate
 * buffers are wiped.
 */
int safefile_read(const char *path, const struct safefile_policy *pol,
                  char **buf_out, size_t *len_out, char *err, size_t errlen);

/*
 * safefile_read(), and if st_out is not NULL also the fstat of the file
 * as it was opened and checked, e.g. for a rewrite that keeps its owner.
 * *st_out is written only on success.
 */
int safefile_read_stat(const char *path, const struct safefile_policy *pol,
                       char **buf_out, size_t *len_out, struct stat *st_out,
                       char *err, size_t errlen);

/*
 * Open the directory at path (absolute) for a privileged writer, walking
 * from "/" one component at a time with O_NOFOLLOW: no component may be a
 * symbolic link, and each must be a directory owned by root or one of
 * owners (n_owners uids) that group and others cannot write, except that
 * a parent with the sticky bit (as /tmp) may be: there only an entry's
 * owner can rename or remove it, and that owner is checked next. The
 * directory itself never may. So nobody else can remove, replace or
 * redirect what is in it. On success stores an O_RDONLY|O_DIRECTORY fd
 * in *fd_out and returns 0; else PG_ERR_NOTFOUND (a component missing),
 * PG_ERR_UNSAFE_FILE (symlink, not a directory, owner, mode),
 * PG_ERR_INVAL (not absolute), PG_ERR_TOOLONG or PG_ERR_IO, with
 * "component: reason" in err.
 */
int safefile_open_dir(const char *path, const uid_t *owners, size_t n_owners,
                      int *fd_out, char *err, size_t errlen);

#endif
