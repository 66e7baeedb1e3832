/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the daemon client (common/client.c) against a scripted
 * server thread on a Unix socket in a temp dir. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"
#include "err.h"
#include "proto.h"
#include "timeutil.h"

/* What the fake daemon does with each connection. */
enum mode {
	M_ECHO,      /* answer each request: OK verb=<verb> [user=<user>] */
	M_ERR,       /* answer ERR code=replay */
	M_SILENT,    /* read, never answer */
	M_LONG,      /* send 5000 bytes without a newline */
	M_MAXLINE,   /* send a 4096-byte line, newline included */
	M_TWO_LINES, /* answer with two lines at once */
	M_REQUEST,   /* answer with a request verb */
	M_VERSION,   /* answer in protocol v2 */
	M_CLOSE,     /* close right after accept */
	M_DRIP,      /* answer one byte at a time, slowly */
};

struct server {
	char dir[32];
	char path[64];
	int lfd;
	int stop[2];
	enum mode mode;
	pthread_t th;
};

static struct server srv;

/* Wait for fd or the stop pipe; 1 if fd is ready, 0 to stop. */
static int srv_wait(int fd)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
	                      {.fd = srv.stop[0], .events = POLLIN}};

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return 0;
	return !(p[1].revents & POLLIN) && (p[0].revents & (POLLIN | POLLHUP));
}

static void srv_send(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0 && (n = send(fd, s, len, MSG_NOSIGNAL)) > 0) {
		s += n;
		len -= (size_t)n;
	}
}

static void srv_answer(int fd, const char *line, size_t len)
{
	static struct pg_msg req, resp;
	static char out[PG_PROTO_MAX_LINE + 2];
	size_t olen = 0, i;

	switch (srv.mode) {
	case M_ECHO:
		if (proto_parse(line, len, &req) != 0) {
			proto_make_error(&resp, PG_ERR_PROTO, NULL);
		} else {
			proto_msg_init(&resp, PG_VERB_OK);
			proto_add(&resp, "verb", req.verb_name);
			if (proto_get(&req, "user") != NULL)
				proto_add(&resp, "user",
				          proto_get(&req, "user"));
		}
		proto_format(&resp, out, sizeof(out), &olen);
		srv_send(fd, out, olen);
		break;
	case M_ERR:
		srv_send(fd, "v1 ERR code=replay msg=x\n", 25);
		break;
	case M_MAXLINE:
		memcpy(out, "v1 OK a=", 8);
		memset(out + 8, 'x', PG_PROTO_MAX_LINE - 9);
		out[PG_PROTO_MAX_LINE - 1] = '\n';
		srv_send(fd, out, PG_PROTO_MAX_LINE);
		break;
	case M_LONG:
		memset(out, 'x', sizeof(out));
		srv_send(fd, "v1 OK a=", 8);
		srv_send(fd, out, sizeof(out));
		break;
	case M_TWO_LINES:
		srv_send(fd, "v1 OK a=1\nv1 OK a=2\n", 20);
		break;
	case M_REQUEST:
		srv_send(fd, "v1 PREAUTH user=x\n", 18);
		break;
	case M_VERSION:
		srv_send(fd, "v2 OK\n", 6);
		break;
	case M_DRIP:
		for (i = 0; i < 10; i++) {
			srv_send(fd, &"v1 OK a=1\n"[i], 1);
			usleep(20000);
		}
		break;
	case M_SILENT:
	case M_CLOSE:
		break;
	}
}

/* Serve connections one after another until told to stop. */
static void *srv_main(void *arg)
{
	static char line[PG_PROTO_MAX_LINE * 2];
	size_t len;
	ssize_t n;
	char *nl;
	int fd;

	while (srv_wait(srv.lfd)) {
		if ((fd = accept(srv.lfd, NULL, NULL)) < 0)
			continue;
		if (srv.mode == M_CLOSE) {
			close(fd);
			continue;
		}
		if (srv.mode == M_LONG) {
			srv_answer(fd, NULL, 0);
		}
		len = 0;
		while (srv_wait(fd)) {
			n = recv(fd, line + len, sizeof(line) - len, 0);
			if (n <= 0)
				break;
			len += (size_t)n;
			while ((nl = memchr(line, '\n', len)) != NULL) {
				if (srv.mode != M_LONG)
					srv_answer(fd, line,
					           (size_t)(nl - line) + 1);
				len -= (size_t)(nl - line) + 1;
				memmove(line, nl + 1, len);
			}
		}
		close(fd);
	}
	return arg;
}

static void srv_start(enum mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(srv.dir, sizeof(srv.dir), "/tmp/pgcliXXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.path, sizeof(srv.path), "%s/sock", srv.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv.path);
	srv.mode = mode;
	srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv.lfd >= 0);
	assert_int_equal(bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv.lfd, 8), 0);
	assert_int_equal(pipe(srv.stop), 0);
	assert_int_equal(pthread_create(&srv.th, NULL, srv_main, NULL), 0);
}

static void srv_stop(void)
{
	assert_int_equal(write(srv.stop[1], "x", 1), 1);
	assert_int_equal(pthread_join(srv.th, NULL), 0);
	close(srv.stop[0]);
	close(srv.stop[1]);
	close(srv.lfd);
	unlink(srv.path);
	rmdir(srv.dir);
}

static void make_req(struct pg_msg *m, const char *user)
{
	proto_msg_init(m, PG_VERB_PREAUTH);
	assert_int_equal(proto_add(m, "user", user), 0);
}

static void test_round_trip(void **state)
{
	static struct pg_msg req, resp;
	struct pg_client *c = NULL;
	uid_t me = geteuid();

	srv_start(M_ECHO);
	assert_int_equal(pg_client_connect(srv.path, 1000, &me, 1, &c), 0);
	assert_non_null(c);
	/* Several requests on one connection, answered in order. */
	make_req(&req, "nurse1");
	assert_int_equal(pg_client_request(c, &req, &resp, 1000), 0);
	assert_int_equal(resp.verb, PG_VERB_OK);
	assert_int_equal(proto_response_status(&resp), 0);
	assert_string_equal(proto_get(&resp, "verb"), "PREAUTH");
	assert_string_equal(proto_get(&resp, "user"), "nurse1");
	make_req(&req, "a b%=\x7f");
	assert_int_equal(pg_client_request(c, &req, &resp, 1000), 0);
	assert_string_equal(proto_get(&resp, "user"), "a b%=\x7f");
	pg_client_close(c);

	/* The one-shot helper, and no uid check at all. */
	make_req(&req, "nurse2");
	assert_int_equal(pg_client_call(srv.path, 1000, NULL, 0, &req, &resp),
	                 0);
	assert_string_equal(proto_get(&resp, "user"), "nurse2");
	srv_stop();
	pg_client_close(NULL);
}

static void test_err_response(void **state)
{
	static struct pg_msg req, resp;

	srv_start(M_ERR);
	make_req(&req, "nurse1");
	/* An ERR is a well-formed answer, not a failed request. */
	assert_int_equal(pg_client_call(srv.path, 1000, NULL, 0, &req, &resp),
	                 0);
	assert_int_equal(resp.verb, PG_VERB_ERR);
	assert_int_equal(proto_response_status(&resp), PG_ERR_REPLAY);
	srv_stop();
}

static void test_max_line(void **state)
{
	static struct pg_msg req, resp;

	srv_start(M_MAXLINE);
	make_req(&req, "nurse1");
	assert_int_equal(pg_client_call(srv.path, 1000, NULL, 0, &req, &resp),
	                 0);
	assert_int_equal(strlen(proto_get(&resp, "a")), PG_PROTO_MAX_LINE - 9);
	srv_stop();
}

static void test_unavailable(void **state)
{
	static struct pg_msg req, resp;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pg_client *c = NULL;
	char dir[32] = "/tmp/pgcliXXXXXX";
	char path[64];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none", dir);
	make_req(&req, "nurse1");
	assert_int_equal(pg_client_connect(path, 500, NULL, 0, &c),
	                 PG_ERR_UNAVAIL);
	assert_null(c);
	assert_int_equal(pg_client_call(path, 500, NULL, 0, &req, &resp),
	                 PG_ERR_UNAVAIL);

	/* A socket file nobody listens on any more: refused. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(pg_client_connect(path, 500, NULL, 0, &c),
	                 PG_ERR_UNAVAIL);
	unlink(path);
	rmdir(dir);
}

static void test_path_too_long(void **state)
{
	struct pg_client *c = NULL;
	char path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(pg_client_connect(path, 500, NULL, 0, &c),
	                 PG_ERR_INVAL);
	assert_int_equal(pg_client_connect(NULL, 500, NULL, 0, &c),
	                 PG_ERR_INVAL);
	assert_null(c);
}

static void test_credentials(void **state)
{
	static struct pg_msg req, resp;
	struct pg_client *c = NULL;
	uid_t others[] = {12345, 54321};
	uid_t mixed[] = {12345, geteuid()};

	srv_start(M_ECHO);
	assert_int_equal(pg_client_connect(srv.path, 1000, others, 2, &c),
	                 PG_ERR_CRED);
	assert_null(c);
	/* An empty trusted list trusts nobody. */
	assert_int_equal(pg_client_connect(srv.path, 1000, others, 0, &c),
	                 PG_ERR_CRED);
	make_req(&req, "nurse1");
	assert_int_equal(pg_client_call(srv.path, 1000, others, 2, &req, &resp),
	                 PG_ERR_CRED);
	assert_int_equal(pg_client_call(srv.path, 1000, mixed, 2, &req, &resp),
	                 0);
	srv_stop();
}

static void test_timeout(void **state)
{
	static struct pg_msg req, resp;
	struct pg_client *c = NULL;
	int64_t start, took;

	srv_start(M_SILENT);
	assert_int_equal(pg_client_connect(srv.path, 1000, NULL, 0, &c), 0);
	make_req(&req, "nurse1");
	start = time_mono_ms();
	assert_int_equal(pg_client_request(c, &req, &resp, 300),
	                 PG_ERR_TIMEOUT);
	took = time_mono_ms() - start;
	/* Bounded by the timeout, not by the silent server. */
	assert_true(took >= 250);
	assert_true(took < 3000);
	/* The stream is out of sync now: no further use. */
	assert_int_equal(pg_client_request(c, &req, &resp, 300), PG_ERR_IO);
	pg_client_close(c);
	srv_stop();

	/* A server that drips its answer is bounded by the total deadline,
	 * not by each read. */
	srv_start(M_DRIP);
	start = time_mono_ms();
	assert_int_equal(pg_client_call(srv.path, 100, NULL, 0, &req, &resp),
	                 PG_ERR_TIMEOUT);
	took = time_mono_ms() - start;
	assert_true(took < 1000);
	assert_int_equal(pg_client_call(srv.path, 2000, NULL, 0, &req, &resp),
	                 0);
	srv_stop();
}

static void test_connect_timeout(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pg_client *c = NULL;
	char dir[32] = "/tmp/pgcliXXXXXX";
	int lfd, fds[64], n = 0, i;
	int64_t start, took;

	/* A listener that never accepts, with its backlog filled up. */
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	for (n = 0; n < 64; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fds[n] >= 0);
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
	}
	assert_true(n < 64);
	start = time_mono_ms();
	assert_int_equal(pg_client_connect(sa.sun_path, 200, NULL, 0, &c),
	                 PG_ERR_TIMEOUT);
	took = time_mono_ms() - start;
	assert_true(took >= 150 && took < 3000);
	assert_null(c);
	for (i = 0; i <= n; i++)
		close(fds[i]);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void test_bad_responses(void **state)
{
	static struct pg_msg req, resp;
	static const struct {
		enum mode mode;
		int rc;
	} cases[] = {
	    {M_LONG, PG_ERR_TOOLONG},  {M_TWO_LINES, PG_ERR_PROTO},
	    {M_REQUEST, PG_ERR_PROTO}, {M_VERSION, PG_ERR_PROTO},
	    {M_CLOSE, PG_ERR_UNAVAIL},
	};
	size_t i;

	make_req(&req, "nurse1");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		srv_start(cases[i].mode);
		/* Closing before the request is sent must not raise SIGPIPE
		 * (which would kill this test). */
		assert_int_equal(
		    pg_client_call(srv.path, 1000, NULL, 0, &req, &resp),
		    cases[i].rc);
		srv_stop();
	}
}

static void test_bad_request(void **state)
{
	static struct pg_msg req, resp;
	struct pg_client *c = NULL;

	srv_start(M_ECHO);
	assert_int_equal(pg_client_connect(srv.path, 1000, NULL, 0, &c), 0);
	/* A message proto_format refuses never reaches the socket. */
	proto_msg_init(&req, PG_VERB_UNKNOWN);
	assert_int_equal(pg_client_request(c, &req, &resp, 1000), PG_ERR_INVAL);
	pg_client_close(c);
	assert_int_equal(pg_client_request(NULL, &req, &resp, 1000), PG_ERR_IO);
	srv_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_err_response),
	    cmocka_unit_test(test_max_line),
	    cmocka_unit_test(test_unavailable),
	    cmocka_unit_test(test_path_too_long),
	    cmocka_unit_test(test_credentials),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_connect_timeout),
	    cmocka_unit_test(test_bad_responses),
	    cmocka_unit_test(test_bad_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
