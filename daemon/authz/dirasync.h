/* SPDX-License-Identifier: BSD-3-Clause */
/* Directory lookups driven from the event loop: the same lookup as
 * dir_lookup() (directory.h), made as a state machine over asynchronous
 * libldap searches on the servers' connections, many at once, with
 * nothing on the loop that blocks. Connecting (TCP, TLS under the
 * watchdog, StartTLS, bind) runs on a short-lived thread per server. */
#ifndef PHIGUARD_DAEMON_DIRASYNC_H
#define PHIGUARD_DAEMON_DIRASYNC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "authz/dir_config.h"
#include "authz/directory.h"

struct dirasync;

/* A lookup is done: tag as given to dirasync_lookup(), rc and res (the
 * callee's, on rc 0) as dir_lookup() returns them. */
typedef void dirasync_done_fn(void *arg, void *tag, int rc,
                              struct dir_result *res);

/* epoll_event data of the caller's own descriptors in the set: the
 * engine's are other values. */
#define DIRASYNC_TAG_CALLER 0

/*
 * An engine for cfg (as dir_new(): checked, no I/O yet). Its descriptors
 * (a deadline timer, each server's connection) go into the caller's
 * epoll set epfd (level-triggered), whose events the caller hands to
 * dirasync_pump(); wakefd (an eventfd) is written when the engine has
 * work for a pump without such an event (a connection made, a lookup
 * done at once): the caller watches it too and reads it. Finished
 * lookups are reported through done, from dirasync_pump() only. 0 and
 * *out, or as dir_new(), PG_ERR_IO.
 */
int dirasync_new(const struct dir_config *cfg, int epfd, int wakefd,
                 dirasync_done_fn *done, void *arg, struct dirasync **out,
                 char *err, size_t errlen);

/* Start a lookup of user (as dir_lookup()) reported under tag. 0, or
 * PG_ERR_NOMEM (not started). Never blocks. */
int dirasync_lookup(struct dirasync *e, const char *user, void *tag);

/* Make progress: read what the servers sent (ev: the epoll events the
 * caller got, any tags), give up on searches past their deadline, take
 * in connections made, and report finished lookups. Never blocks. */
void dirasync_pump(struct dirasync *e, const struct epoll_event *ev, size_t n);

/*
 * Hand every lookup of old over to e (started again there, under the
 * same tags) and close old's connections; old is freed by e once its
 * connecting threads have ended (at the latest by dirasync_free(e)).
 */
void dirasync_replace(struct dirasync *e, struct dirasync *old);

/* The handle: health, status, fail-back (dir_probe_apply()). Changes
 * made through it take effect at the next pump. */
struct dir *dirasync_dir(struct dirasync *e);

/* Lookups in flight. */
size_t dirasync_inflight(const struct dirasync *e);

/* Free e, waiting for its connecting threads (each bounded by the
 * directory's timeouts); lookups in flight are dropped unreported.
 * Accepts NULL. */
void dirasync_free(struct dirasync *e);

#endif
