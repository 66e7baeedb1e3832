/* SPDX-License-Identifier: BSD-3-Clause */
/* Loading the push client (push_api.h) into the module, for one push:
 * by absolute path only, after checking that nobody but root can have
 * written it, with every symbol bound at load (RTLD_NOW) and none of them
 * visible to other objects (RTLD_LOCAL). */
#ifndef PHIGUARD_PAM_PUSH_LOAD_H
#define PHIGUARD_PAM_PUSH_LOAD_H

#include <stddef.h>

#include "push_api.h"

struct push_load {
	void *handle;               /* dlopen's */
	const struct push_api *api; /* in the loaded object; borrowed */
};

/*
 * Load the push client at path (absolute) and find its table. The file
 * must be a regular file, and it and every directory above it owned by
 * root and not writable by group or others (a symbolic link in the path
 * is followed, and where it leads is checked). Returns 0 with pl->api
 * set (release with push_load_close), or, with a one-line reason in err
 * (errlen > 0) and *pl zeroed:
 *   PG_ERR_NOTFOUND     path does not exist;
 *   PG_ERR_UNSAFE_FILE  a relative path, not a regular file, or owner or
 *                       mode as above;
 *   PG_ERR_UNAVAIL      dlopen failed (a missing library, a bad object)
 *                       or the object has no PUSH_API_SYMBOL;
 *   PG_ERR_VERSION      the table is not this module's (push_load_check).
 */
int push_load_open(struct push_load *pl, const char *path, char *err,
                   size_t errlen);

/*
 * Whether api is a table this module can call: PUSH_API_VERSION, the same
 * PACKAGE_VERSION and the same structure sizes. Returns 0, or
 * PG_ERR_VERSION with a one-line reason in err (errlen > 0).
 */
int push_load_check(const struct push_api *api, char *err, size_t errlen);

/* Release what push_load_open loaded; accepts a zeroed *pl. The object
 * itself stays mapped (it is linked -z nodelete: see Makefile.am). */
void push_load_close(struct push_load *pl);

#endif
