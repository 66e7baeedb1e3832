/* SPDX-License-Identifier: BSD-3-Clause */
/* Who is on the other end of a connection (SO_PEERCRED), and what that
 * caller may ask about. The daemon trusts nothing else about identity. */
#ifndef PHIGUARD_DAEMON_PEER_H
#define PHIGUARD_DAEMON_PEER_H

#include <sys/types.h>

/* Credentials the kernel recorded when the peer connected. */
struct pg_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/*
 * Read SO_PEERCRED of the connected Unix socket fd into *out. Call once per
 * connection, right after accept. Returns 0, or PG_ERR_IO (errno saved);
 * *out is written only on success.
 */
int peer_from_socket(int fd, struct pg_peer *out);

/* 1 if the peer is root (may ask anything), else 0. */
int peer_is_root(const struct pg_peer *peer);

/*
 * Resolve user through NSS (getpwnam_r) to its uid and gid. Returns 0 and
 * sets both, PG_ERR_NOTFOUND (no such user, or NSS answered with an
 * entry whose name differs, e.g. in case) or PG_ERR_NOMEM / PG_ERR_IO
 * (lookup failed). Outputs are written only on success.
 */
int peer_user_ids(const char *user, uid_t *uid, gid_t *gid);

/*
 * May this peer ask about user? Root may ask about anyone; another uid only
 * about the user whose passwd entry (getpwnam_r) carries that uid. user
 * must already have passed username_check(). Returns 0 or PG_ERR_PERM (also
 * when the name does not resolve or the lookup fails: deny on doubt).
 */
int peer_may_ask(const struct pg_peer *peer, const char *user);

#endif
