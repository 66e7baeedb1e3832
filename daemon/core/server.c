/* SPDX-License-Identifier: BSD-3-Clause */
/* One-process epoll server on a Unix socket: accept, per-connection line
 * buffers and deadlines, back-pressure by closing, signals via signalfd. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "proto.h"
#include "core/server.h"
#include "timeutil.h"

#define SERVER_BACKLOG    128
#define SERVER_MAX_EVENTS 64
#define SERVER_TICK_MS    60000
/* After EMFILE and friends, wait this long before accepting again rather
 * than spin on a listening socket that stays readable. */
#define SERVER_ACCEPT_PAUSE_MS 1000
/* Room for four full responses: enough for any client that reads, and a
 * hard bound for one that does not. */
#define SERVER_OUTBUF (4 * (PG_PROTO_MAX_LINE + 1))
/* File descriptors besides the clients: listener, epoll, signalfd, the
 * state log and directory, syslog, stdio, and slack for NSS. */
#define SERVER_SPARE_FDS 32

enum src_kind { SRC_LISTEN, SRC_SIGNAL, SRC_CONN, SRC_WATCH };

/* epoll hands back a pointer to this; it starts every pollable object. */
struct src {
	enum src_kind kind;
};

/* An outside descriptor the loop watches for the daemon (server_watch). */
struct watch {
	struct src src; /* first */
	struct watch *next;
	void (*fn)(void *arg);
	void *arg;
};

struct conn {
	struct src src;           /* first: epoll data points here */
	struct conn *prev, *next; /* deadline order, earliest first */
	int fd;
	uint32_t events; /* registered with epoll */
	int closing;     /* no more input; close once out is sent */
	uint64_t ticket; /* parked: awaiting server_answer(); else 0 */
	struct pg_peer peer;
	int64_t deadline;
	size_t inlen;
	size_t outoff, outlen;
	char in[PG_PROTO_MAX_LINE];
	char out[SERVER_OUTBUF];
};

struct pg_server {
	struct pg_server_params params;
	struct pg_server_hooks hooks;
	char *path;
	int epfd, lfd, sfd;
	struct src listen_src, signal_src;
	dev_t sock_dev; /* identity of the socket we bound, so that we */
	ino_t sock_ino; /* never unlink a successor's */
	int accept_paused;
	int64_t accept_resume;
	int64_t next_tick;
	int stop;
	struct conn *head, *tail;
	struct conn *current; /* whose request a hook is answering */
	struct watch *watches;
	size_t nconns;
	size_t nonroot; /* of those, from uids other than root */
	uint64_t requests, errors;
	int64_t started;
	/* Canned answers for refusals that happen outside any request. */
	char busy[PG_PROTO_MAX_LINE + 1];
	size_t busylen;
	char toolong[PG_PROTO_MAX_LINE + 1];
	size_t toolonglen;
};

static void canned_error(int err, const char *text, char *out, size_t *len)
{
	struct pg_msg msg;

	proto_make_error(&msg, err, text);
	/* Cannot fail: a short ERR always fits a maximal line. */
	if (proto_format(&msg, out, PG_PROTO_MAX_LINE + 1, len) != 0)
		*len = 0;
}

static int epoll_set(struct pg_server *srv, int op, int fd, uint32_t events,
                     struct src *src)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = src;
	return epoll_ctl(srv->epfd, op, fd, &ev);
}

static void raise_fd_limit(size_t clients)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)clients + SERVER_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
	                  ? need
	                  : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need)
		log_warnx("open file limit %lu is below max_clients + %d; "
		          "clients beyond it will wait",
		          (unsigned long)rl.rlim_cur, SERVER_SPARE_FDS);
}

static int setup_signals(struct pg_server *srv)
{
	sigset_t set;

	/* Writes to a vanished client must fail with EPIPE, not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return PG_ERR_IO;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	/* Blocked and read from a descriptor: no work in signal context. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return PG_ERR_IO;
	srv->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sfd < 0)
		return PG_ERR_IO;
	srv->signal_src.kind = SRC_SIGNAL;
	return epoll_set(srv, EPOLL_CTL_ADD, srv->sfd, EPOLLIN,
	                 &srv->signal_src) == 0
	           ? 0
	           : PG_ERR_IO;
}

/*
 * Clear the way for bind(): only a socket that nobody answers on is
 * removed. A live one means another daemon; anything else at the path is
 * not ours to delete.
 */
static int clear_stale(const struct sockaddr_un *sun)
{
	struct stat sb;
	int fd, rc = PG_ERR_IO;

	if (lstat(sun->sun_path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		log_err("%s", sun->sun_path);
		return PG_ERR_IO;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		log_errx("%s exists and is not a socket; not removing it",
		         sun->sun_path);
		return PG_ERR_IO;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                 0)) < 0)
		return PG_ERR_IO;
	/* Non-blocking: a full backlog answers EAGAIN, which means alive. */
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	    errno == EAGAIN) {
		log_errx("%s: another daemon is answering on it",
		         sun->sun_path);
		rc = PG_ERR_BUSY;
	} else if (errno == ECONNREFUSED) {
		if (unlink(sun->sun_path) == 0 || errno == ENOENT) {
			log_info("%s: removed stale socket", sun->sun_path);
			rc = 0;
		} else {
			log_err("%s: cannot remove stale socket",
			        sun->sun_path);
		}
	} else {
		log_err("%s: probing existing socket", sun->sun_path);
	}
	close(fd);
	return rc;
}

static int setup_listener(struct pg_server *srv)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(srv->path) >= sizeof(sun.sun_path)) {
		log_errx("%s: socket path too long (max %zu bytes)", srv->path,
		         sizeof(sun.sun_path) - 1);
		return PG_ERR_INVAL;
	}
	memcpy(sun.sun_path, srv->path, strlen(srv->path) + 1);
	if ((rc = clear_stale(&sun)) != 0)
		return rc;
	srv->lfd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->lfd < 0) {
		log_err("socket");
		return PG_ERR_IO;
	}
	/* 0666: anyone may connect; SO_PEERCRED and the dispatch table
	 * decide what each caller may ask. */
	old = umask(0111);
	rc = bind(srv->lfd, (const struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0) {
		log_err("%s: bind", srv->path);
		return PG_ERR_IO;
	}
	if (lstat(srv->path, &sb) != 0) {
		log_err("%s", srv->path);
		return PG_ERR_IO;
	}
	srv->sock_dev = sb.st_dev;
	srv->sock_ino = sb.st_ino;
	if (listen(srv->lfd, SERVER_BACKLOG) != 0) {
		log_err("%s: listen", srv->path);
		return PG_ERR_IO;
	}
	srv->listen_src.kind = SRC_LISTEN;
	if (epoll_set(srv, EPOLL_CTL_ADD, srv->lfd, EPOLLIN,
	              &srv->listen_src) != 0)
		return PG_ERR_IO;
	return 0;
}

int server_new(const struct pg_server_params *params,
               const struct pg_server_hooks *hooks, struct pg_server **out)
{
	int rc = PG_ERR_NOMEM;
	struct pg_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		goto out;
	srv->epfd = srv->lfd = srv->sfd = -1;
	srv->params = *params;
	srv->hooks = *hooks;
	if ((srv->path = strdup(params->socket_path)) == NULL)
		goto out;
	srv->params.socket_path = srv->path;
	canned_error(PG_ERR_BUSY, "too many clients", srv->busy, &srv->busylen);
	canned_error(PG_ERR_TOOLONG, "line too long", srv->toolong,
	             &srv->toolonglen);
	raise_fd_limit(params->max_clients);
	rc = PG_ERR_IO;
	if ((srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_err("epoll_create1");
		goto out;
	}
	if ((rc = setup_signals(srv)) != 0) {
		log_err("signal setup");
		goto out;
	}
	if ((rc = setup_listener(srv)) != 0)
		goto out;
	srv->started = time_mono_ms();
	srv->next_tick = srv->started + SERVER_TICK_MS;
	*out = srv;
	srv = NULL;
	rc = 0;
out:
	server_free(srv);
	return rc;
}

/* Deadline list. The timeout is the same for every connection, so moving
 * a connection to the tail on each refresh keeps the list sorted. */
static void list_unlink(struct pg_server *srv, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		srv->tail = c->prev;
	c->prev = c->next = NULL;
}

static void refresh_deadline(struct pg_server *srv, struct conn *c)
{
	if (srv->head == c || c->prev != NULL)
		list_unlink(srv, c);
	c->deadline = time_mono_ms() + srv->params.client_timeout_ms;
	c->prev = srv->tail;
	if (srv->tail != NULL)
		srv->tail->next = c;
	else
		srv->head = c;
	srv->tail = c;
}

static void conn_close(struct pg_server *srv, struct conn *c)
{
	list_unlink(srv, c);
	/* close() also drops it from the epoll set. */
	close(c->fd);
	srv->nconns--;
	if (!peer_is_root(&c->peer))
		srv->nonroot--;
	log_debug("closed connection from uid %u pid %ld",
	          (unsigned)c->peer.uid, (long)c->peer.pid);
	free(c);
}

/*
 * Register the events this connection needs now. Returns 0, or -1 after
 * closing it (nothing left to do, or epoll failed); c is freed then.
 */
static int conn_update(struct pg_server *srv, struct conn *c)
{
	uint32_t want = 0;

	if (!c->closing && c->ticket == 0)
		want |= EPOLLIN;
	if (c->outoff < c->outlen)
		want |= EPOLLOUT;
	/* A parked connection waits with no events: a hang-up still
	 * comes through as EPOLLHUP. */
	if ((want == 0 && c->ticket == 0) ||
	    (want != c->events &&
	     epoll_set(srv, EPOLL_CTL_MOD, c->fd, want, &c->src) != 0)) {
		conn_close(srv, c);
		return -1;
	}
	c->events = want;
	return 0;
}

/* Send what is queued, without blocking. -1: c was closed. */
static int conn_flush(struct pg_server *srv, struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			log_debug("send to uid %u: %s", (unsigned)c->peer.uid,
			          strerror(errno));
			conn_close(srv, c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	return conn_update(srv, c);
}

/*
 * Make room for one more maximal response. A client that lets four of
 * them pile up (on top of the kernel's socket buffer) is not reading:
 * drop it rather than buffer without bound or block. -1: c was closed.
 */
static int conn_reserve(struct pg_server *srv, struct conn *c)
{
	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (sizeof(c->out) - c->outlen >= PG_PROTO_MAX_LINE + 1)
		return 0;
	if (conn_flush(srv, c) != 0)
		return -1;
	if (sizeof(c->out) - c->outlen >= PG_PROTO_MAX_LINE + 1)
		return 0;
	log_info("closing connection from uid %u pid %ld: not reading its "
	         "responses",
	         (unsigned)c->peer.uid, (long)c->peer.pid);
	conn_close(srv, c);
	return -1;
}

static void queue(struct conn *c, const char *p, size_t n)
{
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/* Answer every complete line in the input buffer, in order. -1: closed. */
static int conn_process(struct pg_server *srv, struct conn *c)
{
	size_t start = 0, len, outlen;
	char *nl;
	int rc;

	while (!c->closing && c->ticket == 0 &&
	       (nl = memchr(c->in + start, '\n', c->inlen - start)) != NULL) {
		len = (size_t)(nl - (c->in + start));
		if (conn_reserve(srv, c) != 0)
			return -1;
		srv->current = c;
		rc = srv->hooks.request(srv->hooks.arg, &c->peer, c->in + start,
		                        len, c->out + c->outlen,
		                        sizeof(c->out) - c->outlen, &outlen);
		srv->current = NULL;
		start += len + 1;
		refresh_deadline(srv, c);
		if (c->ticket != 0)
			break; /* counted when answered */
		c->outlen += outlen;
		srv->requests++;
		if (rc != 0)
			srv->errors++;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	/*
	 * A full buffer without "\n" is a line over the limit. The rest of
	 * it is still on the way and cannot be told from the next request,
	 * so answer and hang up (proto.h).
	 */
	if (!c->closing && c->ticket == 0 && c->inlen == sizeof(c->in)) {
		if (conn_reserve(srv, c) != 0)
			return -1;
		queue(c, srv->toolong, srv->toolonglen);
		srv->requests++;
		srv->errors++;
		c->closing = 1;
		log_info("closing connection from uid %u pid %ld: line over "
		         "%d bytes",
		         (unsigned)c->peer.uid, (long)c->peer.pid,
		         PG_PROTO_MAX_LINE);
	}
	if (c->closing)
		c->inlen = 0;
	return conn_flush(srv, c);
}

static void conn_read(struct pg_server *srv, struct conn *c)
{
	ssize_t n;

	/* One read per wake-up: level-triggered epoll comes back for the
	 * rest, and a chatty client cannot starve the others. */
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
	         MSG_DONTWAIT);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		conn_close(srv, c);
		return;
	}
	if (n == 0) {
		/* The client finished sending (maybe only half-closed):
		 * answer what is complete, then close once it is sent. */
		if (conn_process(srv, c) != 0)
			return;
		c->closing = 1;
		c->inlen = 0;
		conn_flush(srv, c);
		return;
	}
	c->inlen += (size_t)n;
	conn_process(srv, c);
}

static void refuse_busy(struct pg_server *srv, int fd)
{
	/* Best effort and never blocking: the socket is non-blocking and
	 * an empty send buffer always takes one short line. */
	if (send(fd, srv->busy, srv->busylen, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("busy refusal not sent: %s", strerror(errno));
	close(fd);
	srv->errors++;
}

/*
 * Would one more connection from peer exceed a limit? Other uids share at
 * most half of max_clients, so that a local user holding connections open
 * cannot starve logins (PAM asks as root).
 */
static int over_limit(const struct pg_server *srv, const struct pg_peer *peer)
{
	size_t cap = srv->params.max_clients / 2;

	if (srv->nconns >= srv->params.max_clients) {
		log_info("refusing uid %u: max_clients (%zu) reached",
		         (unsigned)peer->uid, srv->params.max_clients);
		return 1;
	}
	if (!peer_is_root(peer) && srv->nonroot >= (cap > 0 ? cap : 1)) {
		log_info("refusing uid %u: non-root clients hold half of "
		         "max_clients",
		         (unsigned)peer->uid);
		return 1;
	}
	return 0;
}

static void accept_clients(struct pg_server *srv)
{
	struct pg_peer peer;
	struct conn *c;
	int fd;

	for (;;) {
		fd =
		    accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: pause instead of
			 * spinning on a listener that stays readable. */
			log_warn("accept");
			if (epoll_set(srv, EPOLL_CTL_MOD, srv->lfd, 0,
			              &srv->listen_src) == 0) {
				srv->accept_paused = 1;
				srv->accept_resume =
				    time_mono_ms() + SERVER_ACCEPT_PAUSE_MS;
			}
			return;
		}
		/* Identity is fixed here, once, from the kernel. */
		if (peer_from_socket(fd, &peer) != 0) {
			log_warn("peer credentials");
			close(fd);
			continue;
		}
		if (over_limit(srv, &peer)) {
			refuse_busy(srv, fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->src.kind = SRC_CONN;
		c->fd = fd;
		c->peer = peer;
		if (epoll_set(srv, EPOLL_CTL_ADD, fd, EPOLLIN, &c->src) != 0) {
			log_warn("new connection");
			close(fd);
			free(c);
			continue;
		}
		c->events = EPOLLIN;
		srv->nconns++;
		if (!peer_is_root(&c->peer))
			srv->nonroot++;
		refresh_deadline(srv, c);
		log_debug("connection from uid %u gid %u pid %ld",
		          (unsigned)c->peer.uid, (unsigned)c->peer.gid,
		          (long)c->peer.pid);
	}
}

static void read_signals(struct pg_server *srv)
{
	struct signalfd_siginfo si;

	while (read(srv->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (srv->hooks.reload != NULL)
				srv->hooks.reload(srv->hooks.arg);
			else
				log_info("SIGHUP: nothing to reload");
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			if (srv->hooks.user1 != NULL)
				srv->hooks.user1(srv->hooks.arg);
			else
				log_info("SIGUSR1: ignored");
			continue;
		}
		log_info("signal %u: shutting down", si.ssi_signo);
		srv->stop = 1;
	}
}

static void conn_event(struct pg_server *srv, struct conn *c, uint32_t ev)
{
	if (ev & EPOLLIN) {
		conn_read(srv, c);
		return; /* c may be gone; level-triggered events come back */
	}
	if (ev & EPOLLOUT) {
		if (conn_flush(srv, c) != 0)
			return;
	}
	if (ev & (EPOLLERR | EPOLLHUP))
		conn_close(srv, c);
}

/* Close connections past their deadline; return ms to the next wake-up. */
static int housekeeping(struct pg_server *srv)
{
	int64_t now = time_mono_ms(), next;

	while (srv->head != NULL && srv->head->deadline <= now) {
		/* A parked connection waits for the directory, whose waits
		 * are bounded on their own: keep it, at the back. */
		if (srv->head->ticket != 0) {
			refresh_deadline(srv, srv->head);
			continue;
		}
		log_info("closing connection from uid %u pid %ld: no complete "
		         "request within %d ms",
		         (unsigned)srv->head->peer.uid,
		         (long)srv->head->peer.pid,
		         srv->params.client_timeout_ms);
		conn_close(srv, srv->head);
	}
	if (srv->accept_paused && srv->accept_resume <= now &&
	    epoll_set(srv, EPOLL_CTL_MOD, srv->lfd, EPOLLIN,
	              &srv->listen_src) == 0)
		srv->accept_paused = 0;
	if (srv->next_tick <= now) {
		if (srv->hooks.tick != NULL)
			srv->hooks.tick(srv->hooks.arg);
		srv->next_tick = now + SERVER_TICK_MS;
	}
	next = srv->next_tick;
	if (srv->head != NULL && srv->head->deadline < next)
		next = srv->head->deadline;
	if (srv->accept_paused && srv->accept_resume < next)
		next = srv->accept_resume;
	return time_left_ms(next);
}

/* Stop listening at once, so clients fail fast instead of queueing. */
static void close_listener(struct pg_server *srv)
{
	struct stat sb;

	if (srv->lfd < 0)
		return;
	close(srv->lfd);
	srv->lfd = -1;
	if (lstat(srv->path, &sb) == 0 && sb.st_dev == srv->sock_dev &&
	    sb.st_ino == srv->sock_ino && unlink(srv->path) != 0)
		log_warn("%s: cannot remove socket", srv->path);
}

int server_run(struct pg_server *srv)
{
	struct epoll_event ev[SERVER_MAX_EVENTS];
	struct src *src;
	int n, i;

	while (!srv->stop) {
		n = epoll_wait(srv->epfd, ev, SERVER_MAX_EVENTS,
		               housekeeping(srv));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait");
			return PG_ERR_IO;
		}
		for (i = 0; i < n; i++) {
			src = ev[i].data.ptr;
			if (src->kind == SRC_LISTEN)
				accept_clients(srv);
			else if (src->kind == SRC_SIGNAL)
				read_signals(srv);
			else if (src->kind == SRC_WATCH)
				((struct watch *)src)
				    ->fn(((struct watch *)src)->arg);
			else
				conn_event(srv, (struct conn *)src,
				           ev[i].events);
		}
	}
	close_listener(srv);
	if (srv->hooks.stopping != NULL)
		srv->hooks.stopping(srv->hooks.arg);
	/* Every request read so far has been answered; hand out what is
	 * queued if the kernel takes it now, but wait for nobody. */
	while (srv->head != NULL) {
		if (conn_flush(srv, srv->head) == 0)
			conn_close(srv, srv->head);
	}
	return 0;
}

void server_park(struct pg_server *srv, uint64_t ticket)
{
	if (srv->current != NULL)
		srv->current->ticket = ticket;
}

void server_wake_at(struct pg_server *srv, int64_t at_ms)
{
	if (at_ms < srv->next_tick)
		srv->next_tick = at_ms;
}

static struct conn *parked_conn(const struct pg_server *srv, uint64_t ticket)
{
	struct conn *c = NULL;

	if (ticket != 0)
		for (c = srv->head; c != NULL && c->ticket != ticket;
		     c = c->next)
			;
	return c;
}

/* The peer has closed its end (a PAM module that stopped waiting), though
 * the loop may not have taken its EPOLLHUP yet: that will close c. */
static int conn_hung_up(const struct conn *c)
{
	struct pollfd p = {c->fd, 0, 0};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

int server_waiting(const struct pg_server *srv, uint64_t ticket)
{
	const struct conn *c = parked_conn(srv, ticket);

	return c != NULL && !conn_hung_up(c);
}

int server_answer(struct pg_server *srv, uint64_t ticket, const char *line,
                  size_t len, int rc)
{
	struct conn *c = parked_conn(srv, ticket);

	if (c == NULL)
		return PG_ERR_NOTFOUND;
	c->ticket = 0;
	srv->requests++;
	if (rc != 0)
		srv->errors++;
	/* Room for it: the connection read nothing while parked and
	 * conn_process reserved a maximal line before the hook ran. */
	if (len <= sizeof(c->out) - c->outlen)
		queue(c, line, len);
	refresh_deadline(srv, c);
	/* Requests that arrived meanwhile are waiting in c->in. Not from
	 * inside another request's hook, though: that would run a handler
	 * within a handler; they wait for the client's next bytes then. */
	if (srv->current != NULL)
		conn_flush(srv, c);
	else
		conn_process(srv, c);
	return 0;
}

int server_watch(struct pg_server *srv, int fd, void (*fn)(void *arg),
                 void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return PG_ERR_NOMEM;
	w->src.kind = SRC_WATCH;
	w->fn = fn;
	w->arg = arg;
	if (epoll_set(srv, EPOLL_CTL_ADD, fd, EPOLLIN, &w->src) != 0) {
		log_warn("watching fd %d", fd);
		free(w);
		return PG_ERR_IO;
	}
	w->next = srv->watches;
	srv->watches = w;
	return 0;
}

void server_stats(const struct pg_server *srv, struct pg_server_stats *out)
{
	out->clients = srv->nconns;
	out->requests = srv->requests;
	out->errors = srv->errors;
	out->uptime_s = (time_mono_ms() - srv->started) / 1000;
}

void server_free(struct pg_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->head != NULL)
		conn_close(srv, srv->head);
	if (srv->path != NULL)
		close_listener(srv);
	if (srv->sfd >= 0)
		close(srv->sfd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	while (srv->watches != NULL) {
		struct watch *w = srv->watches;

		srv->watches = w->next;
		free(w);
	}
	free(srv->path);
	free(srv);
}
