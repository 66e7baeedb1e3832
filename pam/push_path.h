/* SPDX-License-Identifier: BSD-3-Clause */
/* Where the module finds the push client: an absolute path fixed when the
 * module is built ($(pkglibdir)/push.so), never taken from the environment
 * or a search path. Its own file so that the test build of the module
 * (Makefile.am) can point at the build tree's push.so. */
#ifndef PHIGUARD_PAM_PUSH_PATH_H
#define PHIGUARD_PAM_PUSH_PATH_H

/* The push client's absolute path. */
extern const char push_path_object[];

#endif
