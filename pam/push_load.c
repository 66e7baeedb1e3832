/* SPDX-License-Identifier: BSD-3-Clause */
/* dlopen of the push client, by a path only root can have written. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "push_load.h"

/* One path component (a directory, or the object itself when is_object):
 * root's, not writable by group or others. Returns 0 or a pg_err. */
static int check_one(const char *path, int is_object, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_UNSAFE_FILE;
	}
	if (is_object ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a %s", path,
		         is_object ? "regular file" : "directory");
		return PG_ERR_UNSAFE_FILE;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen,
		         "%s: owned by uid %lu with mode %04o, must be root's "
		         "and not writable by group or others",
		         path, (unsigned long)st.st_uid,
		         (unsigned)(st.st_mode & 07777));
		return PG_ERR_UNSAFE_FILE;
	}
	return 0;
}

/* The object and every directory above it, once symbolic links are
 * resolved (into resolved, PATH_MAX bytes): whoever can write any of them
 * can replace the code this (root) process is about to run. */
static int check_path(const char *path, char *resolved, char *err,
                      size_t errlen)
{
	char dir[PATH_MAX], *slash;
	int r;

	if (path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path);
		return PG_ERR_UNSAFE_FILE;
	}
	if (realpath(path, resolved) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? PG_ERR_NOTFOUND : PG_ERR_UNSAFE_FILE;
	}
	if ((r = check_one(resolved, 1, err, errlen)) != 0)
		return r;
	memcpy(dir, resolved, strlen(resolved) + 1);
	/* realpath's answer is absolute: there is always a slash. */
	while ((slash = strrchr(dir, '/')) != dir) {
		*slash = '\0';
		if ((r = check_one(dir, 0, err, errlen)) != 0)
			return r;
	}
	return check_one("/", 0, err, errlen);
}

int push_load_check(const struct push_api *api, char *err, size_t errlen)
{
	if (api->version != PUSH_API_VERSION) {
		snprintf(err, errlen, "push client interface %u, want %u",
		         api->version, PUSH_API_VERSION);
		return PG_ERR_VERSION;
	}
	if (api->package_version == NULL ||
	    strcmp(api->package_version, PACKAGE_VERSION) != 0 ||
	    api->push_size != sizeof(struct push) ||
	    api->cfg_size != sizeof(struct push_cfg)) {
		snprintf(err, errlen,
		         "push client from phiguard %s, module from %s: "
		         "install the same version of both",
		         api->package_version != NULL ? api->package_version
		                                      : "?",
		         PACKAGE_VERSION);
		return PG_ERR_VERSION;
	}
	return 0;
}

int push_load_open(struct push_load *pl, const char *path, char *err,
                   size_t errlen)
{
	char resolved[PATH_MAX];
	const char *dlerr;
	int r;

	memset(pl, 0, sizeof(*pl));
	if ((r = check_path(path, resolved, err, errlen)) != 0)
		return r;
	/* The path just checked, not the one given: a symbolic link
	 * changed in between must not lead elsewhere. */
	if ((pl->handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		dlerr = dlerror();
		snprintf(err, errlen, "%s", dlerr != NULL ? dlerr : resolved);
		return PG_ERR_UNAVAIL;
	}
	pl->api = dlsym(pl->handle, PUSH_API_SYMBOL);
	if (pl->api == NULL) {
		snprintf(err, errlen, "%s: no %s", resolved, PUSH_API_SYMBOL);
		r = PG_ERR_UNAVAIL;
	} else {
		r = push_load_check(pl->api, err, errlen);
	}
	if (r != 0)
		push_load_close(pl);
	return r;
}

void push_load_close(struct push_load *pl)
{
	if (pl->handle != NULL)
		(void)dlclose(pl->handle);
	memset(pl, 0, sizeof(*pl));
}
