/* SPDX-License-Identifier: BSD-3-Clause */
/* Whom phiguardd runs as, for the files it reads as itself (the bind
 * password file): the same answer for the daemon and for --check-config,
 * whether root or the service user runs it. */
#ifndef PHIGUARD_DAEMON_RUNAS_H
#define PHIGUARD_DAEMON_RUNAS_H

#include <sys/types.h>

#include "conf.h"

/* Who must own such a file. */
struct runas_owner {
	uid_t uid;
	int root_too;     /* root may own it too (see runas_file_owner) */
	const char *name; /* uid's user name, or NULL if not looked up */
	const char *why;  /* static text: why this user, for --check-config */
};

/*
 * The owner for conf, from the effective uid and [daemon] user: not root:
 * the effective uid. Root with a [daemon] user: that user, whom the daemon
 * becomes before it reads such files. Root without one: the daemon stays
 * whoever starts it, root or (phiguardd.service's User=) PG_DAEMON_USER,
 * so either may own the file (root alone if that user does not exist).
 * Returns 0 and fills *out (name borrows from conf or a static string),
 * PG_ERR_NOTFOUND if the [daemon] user does not exist, or PG_ERR_NOMEM /
 * PG_ERR_IO (lookup failed). *out is written only on success.
 */
int runas_file_owner(const struct pg_conf *conf, struct runas_owner *out);

#endif
