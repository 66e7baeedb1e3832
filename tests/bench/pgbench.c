/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pgbench: a load generator for line protocols on a Unix socket (and, with
 * --echo-server, the bare epoll echo server that is its floor).
 *
 *   pgbench [-c CONNS] [-t SECONDS | -n COUNT] [-P DEPTH] [-r A:B]
 *           [-e SUBSTR] SOCKET LINE...
 *     Each of CONNS threads opens one connection and sends its LINEs in
 *     order, one response awaited per line, until SECONDS have passed or
 *     COUNT cycles were sent in all. The latency of a cycle is that of its
 *     last line (earlier lines are set-up, e.g. a FLUSH before an AUTHZ).
 *     -r A:B replaces "%d" in the lines by A, A+1, ... B (shared by all
 *     threads; the run ends after B). -P DEPTH pipelines DEPTH cycles of a
 *     one-line request per write (latency then spans the batch). A
 *     response is an error if it starts "v1 ERR" or, with -e, if it lacks
 *     SUBSTR (with -e an ERR that carries SUBSTR is what was expected,
 *     e.g. -e code=replay).
 *     Prints: requests= errors= seconds= rps= p50_us= p99_us= max_us=
 *
 *   pgbench --echo-server SOCKET REPLY_BYTES
 *     Answers every line with REPLY_BYTES bytes (the last one "\n").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXLINE  4096
#define MAXLINES 8

static const char *sock_path;
static char *lines[MAXLINES];
static int nlines;
static int pipeline = 1;
static double seconds = 0;
static long count_limit = 0;
static const char *expect;
static long range_lo = -1, range_hi = -1;
static atomic_long next_index;
static atomic_long cycles_started;
static double t_end;

struct worker {
	pthread_t tid;
	uint32_t *lat; /* microseconds */
	size_t nlat, cap;
	long errors;
};

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long");
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die(path);
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Buffered reader of response lines. */
struct reader {
	int fd;
	char buf[65536];
	size_t start, end;
};

/* The next line (NUL-terminated, without "\n"); exits on EOF. */
static char *read_line(struct reader *r)
{
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			char *line = r->buf + r->start;

			*nl = '\0';
			r->start = (size_t)(nl - r->buf) + 1;
			return line;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end == sizeof(r->buf)) {
			fprintf(stderr, "pgbench: response line too long\n");
			exit(2);
		}
		n = read(r->fd, r->buf + r->end, sizeof(r->buf) - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr,
			        "pgbench: connection closed by server\n");
			exit(2);
		}
		r->end += (size_t)n;
	}
}

static void record(struct worker *w, double us)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 65536;
		if ((w->lat = realloc(w->lat, w->cap * sizeof(*w->lat))) ==
		    NULL)
			die("realloc");
	}
	w->lat[w->nlat++] = us > 4e9 ? UINT32_MAX : (uint32_t)(us + 0.5);
}

static void check_reply(struct worker *w, const char *reply)
{
	if (expect != NULL ? strstr(reply, expect) == NULL
	                   : strncmp(reply, "v1 ERR", 6) == 0) {
		if (w->errors++ == 0)
			fprintf(stderr, "pgbench: unexpected reply: %s\n",
			        reply);
	}
}

/* Claim the next cycle; 0 when the run is over. Fills idx for -r. */
static int claim(long *idx)
{
	if (count_limit > 0 &&
	    atomic_fetch_add(&cycles_started, 1) >= count_limit)
		return 0;
	if (count_limit == 0 && now() >= t_end)
		return 0;
	if (range_lo >= 0) {
		*idx = atomic_fetch_add(&next_index, 1);
		if (*idx > range_hi)
			return 0;
	}
	return 1;
}

static size_t format_line(char *out, const char *tmpl, long idx)
{
	int n;

	if (range_lo >= 0 && strstr(tmpl, "%d") != NULL) {
		const char *p = strstr(tmpl, "%d");

		n = snprintf(out, MAXLINE, "%.*s%ld%s\n", (int)(p - tmpl), tmpl,
		             idx, p + 2);
	} else {
		n = snprintf(out, MAXLINE, "%s\n", tmpl);
	}
	if (n < 0 || n >= MAXLINE) {
		fprintf(stderr, "pgbench: request line too long\n");
		exit(2);
	}
	return (size_t)n;
}

static void *client_main(void *arg)
{
	struct worker *w = arg;
	struct reader *r = calloc(1, sizeof(*r));
	char *out = malloc((size_t)MAXLINE * (size_t)pipeline);
	long idx = 0;
	int i;

	if (r == NULL || out == NULL)
		die("malloc");
	r->fd = connect_unix(sock_path);
	for (;;) {
		double t0 = 0;
		size_t len = 0;
		int batch = 0;

		if (pipeline > 1) {
			while (batch < pipeline && claim(&idx)) {
				len += format_line(out + len, lines[0], idx);
				batch++;
			}
			if (batch == 0)
				break;
			t0 = now();
			write_all(r->fd, out, len);
			for (i = 0; i < batch; i++)
				check_reply(w, read_line(r));
			double us = (now() - t0) * 1e6;
			for (i = 0; i < batch; i++)
				record(w, us);
			continue;
		}
		if (!claim(&idx))
			break;
		for (i = 0; i < nlines; i++) {
			len = format_line(out, lines[i], idx);
			t0 = now();
			write_all(r->fd, out, len);
			check_reply(w, read_line(r));
		}
		record(w, (now() - t0) * 1e6);
	}
	close(r->fd);
	free(r);
	free(out);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ echo server */

struct conn {
	int fd;
	size_t inlen, outlen, outoff;
	char in[MAXLINE * 2];
	char *out;
	size_t outcap;
};

static _Noreturn void echo_server(const char *path, size_t reply_bytes)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev, evs[64];
	char *reply;
	int lfd, ep, i, n;

	if (reply_bytes < 1 || reply_bytes > MAXLINE)
		die("reply size");
	if ((reply = malloc(reply_bytes)) == NULL)
		die("malloc");
	memset(reply, 'x', reply_bytes - 1);
	reply[reply_bytes - 1] = '\n';
	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long");
	strcpy(sa.sun_path, path);
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                  0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 128) != 0)
		die(path);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		die("epoll_ctl");
	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t got, w;
			char *p, *nl;

			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL,
				                 SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					continue;
				if ((c = calloc(1, sizeof(*c))) == NULL)
					die("calloc");
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
					die("epoll_ctl");
				continue;
			}
			got = read(c->fd, c->in + c->inlen,
			           sizeof(c->in) - c->inlen);
			if (got <= 0 && !(got < 0 && errno == EAGAIN)) {
				close(c->fd);
				free(c->out);
				free(c);
				continue;
			}
			if (got > 0)
				c->inlen += (size_t)got;
			/* One reply per complete line. */
			p = c->in;
			while ((nl = memchr(p, '\n',
			                    c->inlen - (size_t)(p - c->in)))) {
				if (c->outlen + reply_bytes > c->outcap) {
					c->outcap =
					    c->outlen + reply_bytes + 65536;
					if ((c->out = realloc(
					         c->out, c->outcap)) == NULL)
						die("realloc");
				}
				memcpy(c->out + c->outlen, reply, reply_bytes);
				c->outlen += reply_bytes;
				p = nl + 1;
			}
			c->inlen -= (size_t)(p - c->in);
			memmove(c->in, p, c->inlen);
			if (c->inlen == sizeof(c->in))
				c->inlen = 0; /* an overlong line: drop it */
			/* Clients read their replies, so a full socket
			 * buffer drains: finish the write before moving on. */
			while (c->outoff < c->outlen) {
				w = write(c->fd, c->out + c->outoff,
				          c->outlen - c->outoff);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0 && errno == EAGAIN) {
					struct pollfd pfd = {c->fd, POLLOUT, 0};

					poll(&pfd, 1, 1000);
					continue;
				}
				if (w < 0)
					break;
				c->outoff += (size_t)w;
			}
			c->outoff = c->outlen = 0;
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: pgbench [-c CONNS] [-t SECONDS | -n COUNT] [-P DEPTH]"
	        " [-r A:B] [-e SUBSTR] SOCKET LINE...\n"
	        "       pgbench --echo-server SOCKET REPLY_BYTES\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct worker *ws;
	int conns = 1, opt, i;
	uint32_t *all;
	size_t total = 0, k;
	long errors = 0;
	double t0, elapsed;

	if (argc == 4 && strcmp(argv[1], "--echo-server") == 0)
		echo_server(argv[2], (size_t)atol(argv[3]));
	while ((opt = getopt(argc, argv, "c:t:n:P:r:e:")) != -1) {
		switch (opt) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			count_limit = atol(optarg);
			break;
		case 'P':
			pipeline = atoi(optarg);
			break;
		case 'e':
			expect = optarg;
			break;
		case 'r':
			if (sscanf(optarg, "%ld:%ld", &range_lo, &range_hi) !=
			        2 ||
			    range_lo < 0 || range_hi < range_lo)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || argc - optind - 1 > MAXLINES || conns < 1 ||
	    pipeline < 1 || (seconds <= 0 && count_limit <= 0 && range_lo < 0))
		usage();
	sock_path = argv[optind];
	for (i = optind + 1; i < argc; i++)
		lines[nlines++] = argv[i];
	if (pipeline > 1 && nlines != 1)
		usage();
	atomic_store(&next_index, range_lo);
	if ((ws = calloc((size_t)conns, sizeof(*ws))) == NULL)
		die("calloc");
	t0 = now();
	t_end = seconds > 0 ? t0 + seconds : 1e300;
	for (i = 0; i < conns; i++)
		if (pthread_create(&ws[i].tid, NULL, client_main, &ws[i]) != 0)
			die("pthread_create");
	for (i = 0; i < conns; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].nlat;
		errors += ws[i].errors;
	}
	elapsed = now() - t0;
	if (total == 0) {
		fprintf(stderr, "pgbench: no request completed\n");
		return 1;
	}
	if ((all = malloc(total * sizeof(*all))) == NULL)
		die("malloc");
	for (i = 0, k = 0; i < conns; i++) {
		memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
		k += ws[i].nlat;
		free(ws[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("requests=%zu errors=%ld seconds=%.3f rps=%.0f p50_us=%u "
	       "p99_us=%u max_us=%u\n",
	       total, errors, elapsed, (double)total / elapsed, all[total / 2],
	       all[(total * 99) / 100], all[total - 1]);
	free(all);
	free(ws);
	return errors > 0;
}
