/* SPDX-License-Identifier: BSD-3-Clause */
/* The client side of the phiguard protocol: one connection to phiguardd,
 * every step bounded by a deadline. Used by the PAM module, phiguardctl
 * and local applications. */
#ifndef PHIGUARD_COMMON_CLIENT_H
#define PHIGUARD_COMMON_CLIENT_H

#include <sys/types.h>

#include "proto.h"

#define PG_DEFAULT_SOCKET "/run/phiguard/phiguardd.sock"
/* The unprivileged user phiguardd runs as under its systemd unit: its
 * clients trust this uid (if the user exists) besides root. */
#define PG_DAEMON_USER "phiguard"

struct pg_client; /* opaque */

/* Room pg_client_daemon_uids() needs. */
#define PG_CLIENT_DAEMON_UIDS 4

/*
 * The uids phiguardd may run as: root, our own euid (a daemon started by
 * this user, as in tests), PG_DAEMON_USER's (its systemd unit) and
 * conf_user's (phiguard.conf's [daemon] user, "" for none), each once;
 * users NSS does not know are left out. Fills uids (room for
 * PG_CLIENT_DAEMON_UIDS) and returns how many. For pg_client_connect's
 * trusted_uids, and for the owners the daemon accepts for its directories.
 */
size_t pg_client_daemon_uids(const char *conf_user, uid_t *uids);

/*
 * Connect to the daemon's socket at path within timeout_ms (non-blocking
 * connect + poll, SOCK_CLOEXEC). If trusted_uids is non-NULL (n entries),
 * the daemon's SO_PEERCRED uid must be one of them, else PG_ERR_CRED.
 * Returns 0 and sets *out, or PG_ERR_UNAVAIL (no socket, refused),
 * PG_ERR_TIMEOUT, PG_ERR_CRED, PG_ERR_NOMEM, PG_ERR_INVAL (path too long),
 * PG_ERR_IO (socket() or connect() failed otherwise).
 */
int pg_client_connect(const char *path, int timeout_ms,
                      const uid_t *trusted_uids, size_t n_trusted,
                      struct pg_client **out);

/*
 * Send req and read one response line into *resp, both within timeout_ms
 * in total. Returns 0 when a well-formed response was read (which may be
 * an ERR: see proto_response_status()), PG_ERR_TIMEOUT, PG_ERR_IO,
 * PG_ERR_UNAVAIL (daemon closed the connection), PG_ERR_PROTO or
 * PG_ERR_TOOLONG; PG_ERR_INVAL/PG_ERR_TOOLONG if req does not format.
 * After an error the connection is unusable (further requests get
 * PG_ERR_IO); close it.
 * Buffers that held the request or response are wiped.
 */
int pg_client_request(struct pg_client *c, const struct pg_msg *req,
                      struct pg_msg *resp, int timeout_ms);

/*
 * The uid of the process at the other end of c (SO_PEERCRED, as the
 * kernel recorded it at connect). Returns 0 and sets *uid, or
 * PG_ERR_CRED if the kernel does not say.
 */
int pg_client_peer_uid(const struct pg_client *c, uid_t *uid);

/* Close and free. Accepts NULL. */
void pg_client_close(struct pg_client *c);

/* Connect, one request, close: the common case. Same returns as above. */
int pg_client_call(const char *path, int timeout_ms, const uid_t *trusted_uids,
                   size_t n_trusted, const struct pg_msg *req,
                   struct pg_msg *resp);

#endif
