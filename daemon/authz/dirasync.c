/* SPDX-License-Identifier: BSD-3-Clause */
/* Directory lookups driven from the event loop: the servers' connections
 * (made on a thread each, then watched in the loop's epoll set), results
 * read with ldap_result() at a zero timeout and routed to their lookup by
 * message id, search deadlines on a timer; the steps are dirsteps.c's. */
#include "config.h"

#include "authz/dirasync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "authz/dirasync_impl.h"
#include "core/thread.h"
#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "username.h"

/* epoll tags: the deadline timer, and server i's connection. */
#define TAG_TIMER  1
#define TAG_SERVER 2

static void wake(const struct dirasync *e)
{
	uint64_t one = 1;

	if (write(e->wakefd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warn("waking the event loop");
}

static void unlink_lookup(struct dirasync *e, struct alookup *lk)
{
	struct alookup **p = &e->lookups;

	while (*p != NULL && *p != lk)
		p = &(*p)->next;
	if (*p != NULL) {
		*p = lk->next;
		e->nlookups--;
	}
}

/* Queue lk's report for the next pump (which frees it). */
static void report(struct dirasync *e, struct alookup *lk)
{
	lk->next = NULL;
	*e->finished_tail = lk;
	e->finished_tail = &lk->next;
}

/* The lookup is over with rc (dir_lookup()'s end). */
void dirasync_finish(struct dirasync *e, struct alookup *lk, int rc)
{
	dir_lookup_end(e->d, rc, lk->searches, &lk->f, &lk->res);
	lk->rc = rc;
	dirsteps_reset(lk);
	unlink_lookup(e, lk);
	report(e, lk);
}

static void *connect_main(void *arg)
{
	struct aserver *as = arg;
	LDAP *ld = NULL;
	int rc = ldapconn_connect(&as->call, &ld);

	pthread_mutex_lock(&as->e->mu);
	as->rc = rc;
	as->ld = ld;
	as->done = 1;
	pthread_mutex_unlock(&as->e->mu);
	wake(as->e);
	return NULL;
}

/* lk waits for its server's connection: a thread makes it, within lk's
 * budget, unless one is on its way (lk then shares its budget). */
void dirasync_wait_connection(struct dirasync *e, struct alookup *lk)
{
	struct aserver *as = &e->as[lk->srv];

	lk->step = STEP_CONNECT;
	if (as->connecting) {
		lk->a.call.deadline = as->call.deadline;
		return;
	}
	as->call = lk->a.call;
	as->done = 0;
	as->ld = NULL;
	if (thread_start(&as->thread, connect_main, as) != 0) {
		log_warnx("directory: no thread to connect to %s",
		          e->d->srv[lk->srv].conn.uri);
		dirsteps_turn_over(e, lk, PG_ERR_NOMEM);
		return;
	}
	as->connecting = 1;
}

/* ld's socket non-blocking: no libldap call on it waits from now on
 * (a read finds nothing, a write that does not fit fails). */
static int nonblocking(LDAP *ld, int *fd)
{
	int fl;

	*fd = -1;
	if (ldap_get_option(ld, LDAP_OPT_DESC, fd) != LDAP_OPT_SUCCESS ||
	    *fd < 0 || (fl = fcntl(*fd, F_GETFL)) < 0 ||
	    fcntl(*fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return PG_ERR_IO;
	return 0;
}

/* Close a connection a thread made and the loop did not take. */
static void discard(LDAP *ld)
{
	int fd;

	(void)nonblocking(ld, &fd);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

/* The connection is the loop's now: non-blocking, watched. */
static int adopt(struct dirasync *e, size_t index, LDAP *ld)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int fd;

	if (nonblocking(ld, &fd) != 0)
		return PG_ERR_IO;
	ev.data.u64 = TAG_SERVER + index;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_warn("directory: watching a connection");
		return PG_ERR_IO;
	}
	e->as[index].fd = fd;
	e->d->srv[index].ld = ld;
	return 0;
}

/* Server index's thread has ended: its waiters go on. The first takes a
 * failure as its own (dir_lookup() would); the others move on without
 * counting it again. */
static void connected(struct dirasync *e, size_t index)
{
	struct aserver *as = &e->as[index];
	struct alookup *lk;
	int rc = as->rc, first = 1;

	pthread_join(as->thread, NULL);
	as->connecting = 0;
	if (rc == 0 && (rc = adopt(e, index, as->ld)) != 0)
		discard(as->ld);
	as->ld = NULL;
	for (;;) {
		for (lk = e->lookups; lk != NULL; lk = lk->next)
			if (lk->srv == index && !lk->evicted &&
			    lk->step == STEP_CONNECT)
				break;
		/* One of them is connecting again: the rest wait for it. */
		if (lk == NULL || as->connecting)
			return;
		if (rc == 0)
			dirsteps_begin(e, lk);
		else if (first)
			dirsteps_turn_over(e, lk, rc);
		else {
			if (ldapconn_server_failed(rc))
				lk->last = rc;
			else if (rc == PG_ERR_CONFIG)
				lk->refused = 1;
			dirsteps_next_server(e, lk);
		}
		first = 0;
	}
}

/* Before a connection closes (any cause): the lookups using it are
 * started again at the next pump, its descriptor is unwatched. */
static void on_close(void *arg, size_t index, LDAP *ld)
{
	struct dirasync *e = arg;
	struct aserver *as = &e->as[index];
	struct alookup *lk;

	(void)ld;
	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->srv == index && lk->step != STEP_CONNECT &&
		    lk->conn_gen == e->d->srv[index].conn_gen) {
			lk->evicted = 1;
			lk->msgid = -1;
		}
	if (as->discoverer != NULL && as->discoverer->evicted)
		as->discoverer = NULL;
	if (as->fd >= 0 && epoll_ctl(e->epfd, EPOLL_CTL_DEL, as->fd, NULL))
		log_warn("directory: unwatching a connection");
	as->fd = -1;
	wake(e);
}

static struct alookup *find_msg(struct dirasync *e, size_t index, int msgid)
{
	struct alookup *lk;

	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->srv == index && lk->msgid == msgid && !lk->evicted)
			return lk;
	return NULL;
}

/* One message from server index. */
static void route(struct dirasync *e, size_t index, LDAPMessage *m)
{
	LDAP *ld = e->d->srv[index].ld;
	struct alookup *lk = find_msg(e, index, ldap_msgid(m));
	int lrc = LDAP_OTHER;

	if (lk == NULL) {
		ldap_msgfree(m);
		return;
	}
	switch (ldap_msgtype(m)) {
	case LDAP_RES_SEARCH_ENTRY:
		if (dirsteps_entry(lk, m) != 0) {
			ldap_msgfree(m);
			ldap_abandon_ext(ld, lk->msgid, NULL, NULL);
			lk->msgid = -1;
			dirsteps_turn_over(e, lk, PG_ERR_NOMEM);
		}
		return;
	case LDAP_RES_SEARCH_RESULT:
		if (ldap_parse_result(ld, m, &lrc, NULL, NULL, NULL, NULL, 1) !=
		    LDAP_SUCCESS)
			lrc = LDAP_OTHER;
		dirsteps_result(e, lk, lrc);
		return;
	default: /* references: referrals are never chased */
		ldap_msgfree(m);
	}
}

/* Server index's connection failed under its searches: the first lookup
 * takes the failure (dir_lookup() would), the others start again. */
static void conn_lost(struct dirasync *e, size_t index, int lrc)
{
	struct server *s = &e->d->srv[index];
	struct alookup *lk;
	uint64_t gen;

	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->srv == index && lk->msgid >= 0 && !lk->evicted)
			break;
	if (lk == NULL) {
		log_info("directory: %s: connection closed while idle",
		         s->conn.uri);
		dir_srv_close(e->d, s);
		return;
	}
	lk->msgid = -1;
	gen = s->conn_gen;
	dirsteps_turn_over(e, lk,
	                   ldapconn_fail(&lk->a.call, s->ld, "search", lrc));
	/* Dead for the others too, whatever lk made of it. */
	if (s->ld != NULL && s->conn_gen == gen)
		dir_srv_close(e->d, s);
}

/* Everything server index has sent, TLS records libldap holds included:
 * ldap_result() with a zero timeout until it has nothing. */
static void drain_server(struct dirasync *e, size_t index)
{
	struct server *s = &e->d->srv[index];
	struct timeval zero = {0, 0};
	LDAPMessage *m;
	LDAP *ld = s->ld;
	int rc, lrc, got = 0;
	char c;

	while (ld != NULL && s->ld == ld) {
		m = NULL;
		rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &zero, &m);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &lrc) !=
			    LDAP_OPT_SUCCESS)
				lrc = LDAP_SERVER_DOWN;
			conn_lost(e, index, lrc);
			return;
		}
		got = 1;
		route(e, index, m);
	}
	/* Readable with nothing for libldap: the server closed it. */
	if (!got && s->ld == ld && e->as[index].fd >= 0 &&
	    recv(e->as[index].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		conn_lost(e, index, LDAP_SERVER_DOWN);
}

/* Searches past their deadline are abandoned and fail as a blocking
 * search that timed out fails. */
static void expire(struct dirasync *e)
{
	int64_t now = time_mono_ms();
	struct alookup *lk;
	LDAP *ld;

	for (;;) {
		for (lk = e->lookups; lk != NULL; lk = lk->next)
			if (lk->msgid >= 0 && !lk->evicted &&
			    lk->search_deadline <= now)
				break;
		if (lk == NULL)
			return;
		ld = dirsteps_ld(e, lk);
		ldap_abandon_ext(ld, lk->msgid, NULL, NULL);
		lk->msgid = -1;
		dirsteps_turn_over(
		    e, lk,
		    ldapconn_fail(&lk->a.call, ld, "search", LDAP_TIMEOUT));
	}
}

/* The timer at or before the earliest search deadline. */
static void rearm(struct dirasync *e)
{
	struct itimerspec its;
	struct alookup *lk;
	int64_t first = 0;

	for (lk = e->lookups; lk != NULL; lk = lk->next)
		if (lk->msgid >= 0 && !lk->evicted &&
		    (first == 0 || lk->search_deadline < first))
			first = lk->search_deadline;
	/* A timer set earlier than needed (or with nothing left to time)
	 * only makes one pump for nothing; setting it at every search would
	 * cost a system call each. */
	if (first == 0 || (e->armed != 0 && e->armed <= first))
		return;
	memset(&its, 0, sizeof(its));
	its.it_value = time_mono_timespec(first);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		log_warn("directory: search deadline timer");
	e->armed = first;
}

static void restart_evicted(struct dirasync *e)
{
	struct alookup *lk;

	for (;;) {
		for (lk = e->lookups; lk != NULL && !lk->evicted; lk = lk->next)
			;
		if (lk == NULL)
			return;
		dirsteps_restart(e, lk);
	}
}

/* Threads that have made their connection (or failed to). */
static void take_connections(struct dirasync *e)
{
	size_t i;
	int done;

	for (i = 0; i < e->d->nsrv; i++) {
		if (!e->as[i].connecting)
			continue;
		pthread_mutex_lock(&e->mu);
		done = e->as[i].done;
		pthread_mutex_unlock(&e->mu);
		if (done)
			connected(e, i);
	}
}

/* Free retired engines whose threads have ended. */
static void reap_retired(struct dirasync *e)
{
	struct dirasync **p = &e->retired, *r;
	size_t i;
	int busy;

	while ((r = *p) != NULL) {
		busy = 0;
		for (i = 0; i < r->d->nsrv; i++) {
			if (!r->as[i].connecting)
				continue;
			pthread_mutex_lock(&r->mu);
			busy |= !r->as[i].done;
			pthread_mutex_unlock(&r->mu);
		}
		if (busy) {
			p = &r->retired;
			continue;
		}
		*p = r->retired;
		r->retired = NULL;
		dirasync_free(r);
	}
}

static void deliver(struct dirasync *e)
{
	struct alookup *lk;

	while ((lk = e->finished) != NULL) {
		e->finished = lk->next;
		if (e->finished == NULL)
			e->finished_tail = &e->finished;
		e->done(e->arg, lk->tag, lk->rc, lk->res);
		lk->res = NULL; /* the callee's now */
		dirsteps_free(lk);
	}
}

void dirasync_pump(struct dirasync *e, const struct epoll_event *ev, size_t n)
{
	uint64_t ticks;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ev[i].data.u64 == TAG_TIMER) {
			if (read(e->tfd, &ticks, sizeof(ticks)) < 0 &&
			    errno != EAGAIN)
				log_warn("directory: search deadline timer");
			e->armed = 0;
		} else if (ev[i].data.u64 >= TAG_SERVER &&
		           ev[i].data.u64 < TAG_SERVER + e->d->nsrv) {
			drain_server(e, (size_t)(ev[i].data.u64 - TAG_SERVER));
		}
	}
	take_connections(e);
	expire(e);
	restart_evicted(e);
	dirsteps_release_waiters(e);
	restart_evicted(e);
	rearm(e);
	reap_retired(e);
	deliver(e);
}

/* Start lk (its user and tag set, nothing else) on e. */
static void lookup_start(struct dirasync *e, struct alookup *lk)
{
	lk->msgid = -1;
	lk->last = PG_ERR_UNAVAIL;
	lk->tried = lk->refused = 0;
	lk->searches = lk->restarts = 0;
	lk->evicted = 0;
	lk->conn_gen = UINT64_MAX;
	lk->next = e->lookups;
	e->lookups = lk;
	e->nlookups++;
	e->d->lookups++;
	lk->norder = dir_order(e->d, lk->order);
	lk->pos = 0;
	dirsteps_next_server(e, lk);
}

int dirasync_lookup(struct dirasync *e, const char *user, void *tag)
{
	size_t len = strlen(user) + 1;
	struct alookup *lk;

	if ((lk = calloc(1, sizeof(*lk) + len)) == NULL)
		return PG_ERR_NOMEM;
	memcpy(lk->user, user, len);
	lk->tag = tag;
	if (username_check(user) != 0) {
		lk->rc = PG_ERR_BAD_USER;
		report(e, lk);
	} else
		lookup_start(e, lk);
	/* A search sent: its answer wakes the loop, or its deadline. The
	 * end (no server to ask): the pump reports it. */
	rearm(e);
	if (e->finished != NULL)
		wake(e);
	return 0;
}

struct dir *dirasync_dir(struct dirasync *e)
{
	return e->d;
}

int dirasync_new(const struct dir_config *cfg, int epfd, int wakefd,
                 dirasync_done_fn *done, void *arg, struct dirasync **out,
                 char *err, size_t errlen)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_TIMER};
	struct dirasync *e;
	size_t i;
	int rc;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return PG_ERR_NOMEM;
	e->epfd = epfd;
	e->wakefd = wakefd;
	e->done = done;
	e->arg = arg;
	e->finished_tail = &e->finished;
	pthread_mutex_init(&e->mu, NULL);
	for (i = 0; i < DIR_MAX_URIS; i++) {
		e->as[i].e = e;
		e->as[i].index = i;
		e->as[i].fd = -1;
	}
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if ((rc = dir_new(cfg, &e->d, err, errlen)) != 0)
		goto fail;
	rc = PG_ERR_IO;
	if (e->tfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, e->tfd, &ev) != 0)
		goto fail;
	e->d->on_close = on_close;
	e->d->on_close_arg = e;
	*out = e;
	return 0;
fail:
	dirasync_free(e);
	return rc;
}

void dirasync_replace(struct dirasync *e, struct dirasync *old)
{
	struct alookup *lk;
	size_t i;

	while ((lk = old->lookups) != NULL) {
		old->lookups = lk->next;
		old->nlookups--;
		dirsteps_reset(lk);
		lookup_start(e, lk);
	}
	wake(e);
	/* Its finished ones are reported by e. */
	if (old->finished != NULL) {
		*e->finished_tail = old->finished;
		e->finished_tail = old->finished_tail;
		old->finished = NULL;
		old->finished_tail = &old->finished;
		wake(e);
	}
	for (i = 0; i < old->d->nsrv; i++)
		dir_srv_close(old->d, &old->d->srv[i]);
	if (old->tfd >= 0)
		close(old->tfd);
	old->tfd = -1;
	old->retired = e->retired;
	e->retired = old;
	reap_retired(e);
}

void dirasync_free(struct dirasync *e)
{
	struct alookup *lk;
	size_t i;

	if (e == NULL)
		return;
	while (e->retired != NULL) {
		struct dirasync *r = e->retired;

		e->retired = r->retired;
		r->retired = NULL;
		dirasync_free(r);
	}
	for (i = 0; i < DIR_MAX_URIS; i++) {
		if (!e->as[i].connecting)
			continue;
		pthread_join(e->as[i].thread, NULL);
		if (e->as[i].ld != NULL)
			discard(e->as[i].ld);
	}
	while ((lk = e->lookups) != NULL) {
		e->lookups = lk->next;
		dirsteps_free(lk);
	}
	while ((lk = e->finished) != NULL) {
		e->finished = lk->next;
		dir_result_free(lk->res);
		dirsteps_free(lk);
	}
	if (e->d != NULL)
		e->d->on_close = NULL;
	for (i = 0; i < DIR_MAX_URIS; i++)
		if (e->as[i].fd >= 0)
			(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->as[i].fd,
			                NULL);
	dir_free(e->d);
	if (e->tfd >= 0)
		close(e->tfd);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
