/* SPDX-License-Identifier: BSD-3-Clause */
/* SO_PEERCRED capture and the "may this uid ask about that user" rule. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "core/peer.h"

/* getpwnam_r buffers: start here, double on ERANGE up to the cap. */
#define PEER_PWBUF_START 4096
#define PEER_PWBUF_MAX   (1024 * 1024)

int peer_from_socket(int fd, struct pg_peer *out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return PG_ERR_IO;
	if (len != sizeof(cred)) {
		errno = EPROTO;
		return PG_ERR_IO;
	}
	out->pid = cred.pid;
	out->uid = cred.uid;
	out->gid = cred.gid;
	return 0;
}

int peer_is_root(const struct pg_peer *peer)
{
	return peer->uid == 0;
}

int peer_user_ids(const char *user, uid_t *uid, gid_t *gid)
{
	int rc = PG_ERR_NOMEM, err;
	struct passwd pw, *res = NULL;
	size_t size = PEER_PWBUF_START;
	char *buf = NULL, *nbuf;

	for (;;) {
		nbuf = realloc(buf, size);
		if (nbuf == NULL)
			goto out;
		buf = nbuf;
		err = getpwnam_r(user, &pw, buf, size, &res);
		if (err != ERANGE || size >= PEER_PWBUF_MAX)
			break;
		size *= 2;
	}
	if (err != 0) {
		errno = err;
		rc = PG_ERR_IO;
		goto out;
	}
	/* A name service that matches names ignoring case (SSSD with
	 * case_sensitive = false, nslcd's ignorecase) returns "nobody" for
	 * "Nobody": the entry must carry the name asked for, byte for byte,
	 * or a local account could ask about a directory person's name. */
	rc = PG_ERR_NOTFOUND;
	if (res == NULL || strcmp(res->pw_name, user) != 0)
		goto out;
	*uid = res->pw_uid;
	*gid = res->pw_gid;
	rc = 0;
out:
	free(buf);
	return rc;
}

int peer_may_ask(const struct pg_peer *peer, const char *user)
{
	uid_t uid;
	gid_t gid;
	int rc;

	if (peer_is_root(peer))
		return 0;
	/*
	 * Compare uids, not names: a name can be spelled twice in passwd
	 * (aliases share a uid) but the kernel-reported uid cannot lie.
	 */
	rc = peer_user_ids(user, &uid, &gid);
	if (rc == PG_ERR_IO)
		log_warn_f("getpwnam_r(%s)", user);
	return rc == 0 && uid == peer->uid ? 0 : PG_ERR_PERM;
}
