/* SPDX-License-Identifier: BSD-3-Clause */
/* The daemon's event loop: the listening Unix socket, non-blocking client
 * connections with bounded buffers and deadlines, and signals, all in one
 * epoll set of one process. What a request means is the hooks' business. */
#ifndef PHIGUARD_DAEMON_SERVER_H
#define PHIGUARD_DAEMON_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/peer.h"

struct pg_server; /* opaque */

struct pg_server_params {
	const char *socket_path;
	size_t max_clients;    /* concurrent connections; one more gets busy;
	                          non-root uids share at most half */
	int client_timeout_ms; /* a line must complete within this */
};

struct pg_server_hooks {
	/*
	 * Answer one request line (len bytes, without its "\n") from peer:
	 * write exactly one response line ending in "\n" into out (outsz >=
	 * PG_PROTO_MAX_LINE + 1) and its length to *outlen. Returns 0 for an
	 * OK response or the pg_err its ERR carries (for the statistics).
	 */
	int (*request)(void *arg, const struct pg_peer *peer, const char *line,
	               size_t len, char *out, size_t outsz, size_t *outlen);
	/* Housekeeping, about once a minute; may be NULL. */
	void (*tick)(void *arg);
	/* SIGHUP; may be NULL (then it is logged and ignored). */
	void (*reload)(void *arg);
	void *arg;
	/* SIGUSR1; may be NULL (then it is logged and ignored). */
	void (*user1)(void *arg);
	/* Stopping: the loop has ended and nothing new is read, but the
	 * clients are still connected, so that parked requests can be
	 * answered (server_answer) before they are closed; may be NULL. */
	void (*stopping)(void *arg);
};

struct pg_server_stats {
	size_t clients;    /* connections open now */
	uint64_t requests; /* lines answered, over-long ones included */
	uint64_t errors;   /* of those, answered with ERR; plus busy refusals */
	int64_t uptime_s;  /* since server_new */
};

/*
 * Ignore SIGPIPE, route SIGTERM, SIGINT, SIGHUP and SIGUSR1 to the loop
 * (signalfd), raise RLIMIT_NOFILE for max_clients if allowed, and listen on the
 * socket (created mode 0666: the peer check decides who may ask what). A stale
 * socket is removed only if nobody answers on it; any other file at that
 * path is left alone. Errors are logged. Returns 0 and *out, PG_ERR_BUSY
 * (another daemon answers), PG_ERR_INVAL (path too long), PG_ERR_IO or
 * PG_ERR_NOMEM. hooks is copied.
 */
int server_new(const struct pg_server_params *params,
               const struct pg_server_hooks *hooks, struct pg_server **out);

/*
 * Serve until SIGTERM or SIGINT: then stop accepting, remove the socket,
 * call the stopping hook, send what is already queued (without waiting)
 * and close every client.
 * Returns 0, or PG_ERR_IO if the event loop itself failed.
 */
int server_run(struct pg_server *srv);

/*
 * Called from inside a request hook: the request being answered will be
 * answered later with server_answer() under ticket (never 0, unique among
 * parked requests), so the hook writes nothing. The connection reads no
 * further request until then (responses stay in order) and is not timed
 * out meanwhile.
 */
void server_park(struct pg_server *srv, uint64_t ticket);

/* 1 if the client of parked ticket still waits for its answer; 0 if it has
 * gone (its connection is closed, or its peer has hung up though the loop
 * has not seen it yet). */
int server_waiting(const struct pg_server *srv, uint64_t ticket);

/*
 * Answer the parked request of ticket with line (len bytes, ending in
 * "\n"; rc as the request hook would return it) and resume reading that
 * connection. Returns 0, or PG_ERR_NOTFOUND if its connection is closed
 * (the answer is dropped). Called from inside a request hook, requests
 * the client pipelined meanwhile are answered only once it sends more.
 */
int server_answer(struct pg_server *srv, uint64_t ticket, const char *line,
                  size_t len, int rc);

/*
 * Watch fd (readable) in the event loop: fn(arg) runs on the loop's
 * thread whenever it is readable, and must drain it. Returns 0,
 * PG_ERR_NOMEM or PG_ERR_IO. The watch lasts until server_free().
 */
int server_watch(struct pg_server *srv, int fd, void (*fn)(void *arg),
                 void *arg);

/* Run the tick hook no later than at_ms (a time_mono_ms() value), for a
 * retry that cannot wait for the next minute; then ticks go on as usual. */
void server_wake_at(struct pg_server *srv, int64_t at_ms);

/* Counters for STATUS. */
void server_stats(const struct pg_server *srv, struct pg_server_stats *out);

/* Close everything and remove the socket if it is still ours. Accepts
 * NULL. */
void server_free(struct pg_server *srv);

#endif
