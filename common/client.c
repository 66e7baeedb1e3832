/* SPDX-License-Identifier: BSD-3-Clause */
/* The client end of the phiguard socket: connect, check who answers, and
 * exchange one line each way, never waiting longer than the caller allows. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "secret.h"
#include "timeutil.h"

/* How long to back off when the daemon's listen backlog is full. */
#define CONNECT_RETRY_MS 10

struct pg_client {
	int fd;
	int failed; /* an earlier error left the stream out of sync */
};

/* Wait for events on fd until deadline. 0 when ready (or in error, which
 * the following call reports), PG_ERR_TIMEOUT or PG_ERR_IO. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	for (;;) {
		n = poll(&pfd, 1, time_left_ms(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return PG_ERR_TIMEOUT;
		if (errno != EINTR)
			return PG_ERR_IO;
	}
}

/*
 * Connect without blocking. A Unix socket differs from TCP here: a full
 * backlog gives EAGAIN, and the attempt is not in progress, so it must be
 * repeated rather than waited for.
 */
static int connect_fd(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	socklen_t sl;
	int err, r;

	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		switch (errno) {
		case EAGAIN:
			if (time_left_ms(deadline) == 0)
				return PG_ERR_TIMEOUT;
			poll(NULL, 0, CONNECT_RETRY_MS);
			continue;
		case EINPROGRESS:
		case EINTR:
			if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
				return r;
			sl = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) !=
			    0)
				return PG_ERR_IO;
			if (err == 0)
				return 0;
			return err == ENOENT || err == ECONNREFUSED
			           ? PG_ERR_UNAVAIL
			           : PG_ERR_IO;
		case ENOENT:
		case ECONNREFUSED:
		case ENOTDIR:
		case EACCES:
			/* No daemon listening here (or not for us). */
			return PG_ERR_UNAVAIL;
		default:
			return PG_ERR_IO;
		}
	}
}

static int peer_uid(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t sl = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) != 0 ||
	    sl != sizeof(cred))
		return PG_ERR_CRED;
	*uid = cred.uid;
	return 0;
}

/* Is the process at the other end running as one of the trusted uids? A
 * socket path in a writable directory could be taken over by anyone. */
static int check_peer(int fd, const uid_t *trusted, size_t n)
{
	uid_t uid;
	size_t i;

	if (trusted == NULL)
		return 0;
	if (peer_uid(fd, &uid) != 0)
		return PG_ERR_CRED;
	for (i = 0; i < n; i++)
		if (uid == trusted[i])
			return 0;
	return PG_ERR_CRED;
}

int pg_client_connect(const char *path, int timeout_ms,
                      const uid_t *trusted_uids, size_t n_trusted,
                      struct pg_client **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pg_client *c = NULL;
	int rc = PG_ERR_INVAL;
	int fd = -1;

	if (path == NULL || strlen(path) >= sizeof(sa.sun_path))
		goto out;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = PG_ERR_NOMEM;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = errno == ENOMEM || errno == ENOBUFS ? PG_ERR_NOMEM
		                                         : PG_ERR_IO;
		goto out;
	}
	if ((rc = connect_fd(fd, &sa, deadline)) != 0 ||
	    (rc = check_peer(fd, trusted_uids, n_trusted)) != 0)
		goto out;
	c->fd = fd;
	*out = c;
	c = NULL;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(c);
	return rc;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < len) {
		/* MSG_NOSIGNAL: a daemon that went away must not kill the
		 * process we are loaded into with SIGPIPE. */
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
				return r;
			continue;
		}
		return errno == EPIPE || errno == ECONNRESET ? PG_ERR_UNAVAIL
		                                             : PG_ERR_IO;
	}
	return 0;
}

/*
 * Read exactly one line into buf (PG_PROTO_MAX_LINE bytes). Anything after
 * the "\n" would be an answer to a question we did not ask, so it is a
 * protocol error rather than something to keep for later.
 */
static int recv_line(int fd, char *buf, size_t *len_out, int64_t deadline)
{
	size_t len = 0;
	char *nl;
	ssize_t n;
	int r;

	for (;;) {
		/* Wait first: an answer is seldom there the moment its
		 * request is sent, and a recv() that finds nothing is a
		 * system call wasted. */
		if ((r = wait_fd(fd, POLLIN, deadline)) != 0)
			return r;
		n = recv(fd, buf + len, PG_PROTO_MAX_LINE - len, 0);
		if (n == 0)
			return PG_ERR_UNAVAIL;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return errno == ECONNRESET ? PG_ERR_UNAVAIL : PG_ERR_IO;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			if ((size_t)(nl - buf) + 1 != len)
				return PG_ERR_PROTO;
			*len_out = len;
			return 0;
		}
		if (len == PG_PROTO_MAX_LINE)
			return PG_ERR_TOOLONG;
	}
}

int pg_client_request(struct pg_client *c, const struct pg_msg *req,
                      struct pg_msg *resp, int timeout_ms)
{
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char buf[PG_PROTO_MAX_LINE + 1];
	size_t len = 0;
	int rc = PG_ERR_IO;

	if (c == NULL || c->failed)
		goto out;
	if ((rc = proto_format(req, buf, sizeof(buf), &len)) != 0 ||
	    (rc = send_all(c->fd, buf, len, deadline)) != 0)
		goto out;
	secret_wipe(buf, len);
	len = 0;
	if ((rc = recv_line(c->fd, buf, &len, deadline)) != 0)
		goto out;
	rc = proto_parse(buf, len, resp);
	/* A daemon speaking another version is, to this client, simply not
	 * speaking the protocol. */
	if (rc == PG_ERR_VERSION)
		rc = PG_ERR_PROTO;
	if (rc == 0 && resp->verb != PG_VERB_OK && resp->verb != PG_VERB_ERR) {
		proto_msg_clear(resp);
		rc = PG_ERR_PROTO;
	}
out:
	secret_wipe(buf, sizeof(buf));
	if (rc != 0 && c != NULL)
		c->failed = 1;
	return rc;
}

int pg_client_peer_uid(const struct pg_client *c, uid_t *uid)
{
	return peer_uid(c->fd, uid);
}

void pg_client_close(struct pg_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

int pg_client_call(const char *path, int timeout_ms, const uid_t *trusted_uids,
                   size_t n_trusted, const struct pg_msg *req,
                   struct pg_msg *resp)
{
	/* One budget for the whole call, so a slow connect leaves less time
	 * for the answer instead of doubling the worst case. */
	int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pg_client *c = NULL;
	int rc;

	rc = pg_client_connect(path, timeout_ms, trusted_uids, n_trusted, &c);
	if (rc == 0)
		rc = pg_client_request(c, req, resp, time_left_ms(deadline));
	pg_client_close(c);
	return rc;
}

/* Add name's uid to uids (n entries) unless unknown or already there. */
static size_t add_user(const char *name, uid_t *uids, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	size_t i;

	if (name[0] == '\0' ||
	    getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return n;
	for (i = 0; i < n; i++)
		if (uids[i] == res->pw_uid)
			return n;
	uids[n] = res->pw_uid;
	return n + 1;
}

size_t pg_client_daemon_uids(const char *conf_user, uid_t *uids)
{
	size_t n = 0;

	uids[n++] = 0;
	if (geteuid() != 0)
		uids[n++] = geteuid();
	n = add_user(PG_DAEMON_USER, uids, n);
	return add_user(conf_user, uids, n);
}
