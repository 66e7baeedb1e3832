/* SPDX-License-Identifier: BSD-3-Clause */
/* The token store's worker thread and its queue. */
#include "config.h"

#include "tokens/tokstore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "authz/authz_conf.h"
#include "authz/dir_config.h"
#include "core/thread.h"
#include "err.h"
#include "log.h"
#include "secret.h"
#include "tokens/tokdir.h"

/* The settings the worker builds its handle from. */
struct tokstore_cfg {
	struct dir_config dir;
	char write_uri[DIR_URI_MAX];
};

struct pg_tokstore {
	struct tokrec_limits lim; /* loop side */
	size_t queued;            /* loop side: submitted, not finished */
	struct tokkeep *kept;     /* loop side */
	int offline;              /* loop side: the last job found it down */
	int64_t next_probe;       /* loop side: tokstore_probe_due() */
	struct tokkeep_image *saving; /* loop side: with the worker */
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t worker;
	int started, stop;
	struct tokjob *q, **q_tail, *done;
	struct tokstore_cfg *new_cfg; /* for the worker to pick up */
	struct tokkeep_image *save_q; /* for the worker to write */
	int save_done, save_rc;       /* it has, with that result */
	char write_target[DIR_URI_MAX];
	uint64_t failovers;
};

struct tokjob *tokjob_new(enum tokjob_kind kind, const char *user, int64_t now)
{
	struct tokjob *j;

	if (strlen(user) >= sizeof(j->user) ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	memcpy(j->user, user, strlen(user) + 1);
	j->now = now;
	return j;
}

void tokjob_free(struct tokjob *j)
{
	if (j == NULL)
		return;
	secret_wipe(&j->rec, sizeof(j->rec));
	free(j);
}

static void run_job(struct tokdir *td, struct tokjob *j)
{
	switch (j->kind) {
	case TOKJOB_READ:
		j->rc = tokdir_read(td, j->user, &j->rec);
		break;
	case TOKJOB_CLAIM:
		j->rc = tokdir_claim(td, j->user, j->step_start, j->report,
		                     &j->lim, j->now, &j->until);
		break;
	case TOKJOB_FAIL:
		j->rc = tokdir_fail(td, j->user, &j->lim, j->now, &j->failures,
		                    &j->until);
		break;
	case TOKJOB_CLEAR:
		j->rc = tokdir_clear(td, j->user);
		break;
	case TOKJOB_WRITEBACK:
		j->rc = tokdir_writeback(td, j->user, j->step_start,
		                         j->wb_failures, j->wb_last_failure,
		                         &j->lim, j->now, &j->wb);
		break;
	}
}

/* Take new settings, if any; the caller holds mu. */
static void pick_cfg(struct pg_tokstore *ts, struct tokdir **td)
{
	struct tokstore_cfg *cfg = ts->new_cfg;
	char err[PG_CONF_ERRLEN];

	if (cfg == NULL)
		return;
	ts->new_cfg = NULL;
	tokdir_free(*td);
	*td = NULL;
	/* Checked before it was handed over: a failure here is memory. */
	if (tokdir_new(&cfg->dir, cfg->write_uri, td, err, sizeof(err)) != 0)
		log_errx("tokens: %s", err);
	else
		tokdir_write_status(*td, ts->write_target,
		                    sizeof(ts->write_target), &ts->failovers);
	free(cfg);
}

static void wake_loop(struct pg_tokstore *ts)
{
	uint64_t one = 1;

	if (write(ts->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warn("waking the event loop");
}

/* Jobs in order; a save of the kept records (tokstore_save_kept) before
 * the next job. */
static void *worker_main(void *arg)
{
	struct pg_tokstore *ts = arg;
	struct tokkeep_image *img;
	struct tokdir *td = NULL;
	struct tokjob *j;
	int rc;

	pthread_mutex_lock(&ts->mu);
	while (!ts->stop) {
		pick_cfg(ts, &td);
		if ((img = ts->save_q) != NULL) {
			ts->save_q = NULL;
			pthread_mutex_unlock(&ts->mu);
			rc = tokkeep_image_write(img);
			pthread_mutex_lock(&ts->mu);
			ts->save_rc = rc;
			ts->save_done = 1;
			wake_loop(ts);
			continue;
		}
		if ((j = ts->q) == NULL) {
			pthread_cond_wait(&ts->cv, &ts->mu);
			continue;
		}
		if ((ts->q = j->next) == NULL)
			ts->q_tail = &ts->q;
		pthread_mutex_unlock(&ts->mu);
		if (td != NULL)
			run_job(td, j);
		else
			j->rc = PG_ERR_NOMEM;
		pthread_mutex_lock(&ts->mu);
		if (td != NULL)
			tokdir_write_status(td, ts->write_target,
			                    sizeof(ts->write_target),
			                    &ts->failovers);
		j->next = ts->done;
		ts->done = j;
		wake_loop(ts);
	}
	pthread_mutex_unlock(&ts->mu);
	tokdir_free(td);
	return NULL;
}

/* conf's settings for the worker, checked. */
static int make_cfg(const struct pg_conf *conf, struct tokstore_cfg **out,
                    char *err, size_t errlen)
{
	struct tokstore_cfg *cfg = calloc(1, sizeof(*cfg));
	struct tokdir *td = NULL;
	int rc;

	if (cfg == NULL)
		return PG_ERR_NOMEM;
	if (!conf->ldap) {
		snprintf(err, errlen, "[tokens]: store = ldap needs [ldap]");
		rc = PG_ERR_CONFIG;
		goto out;
	}
	if ((rc = authz_conf_dir(conf, &cfg->dir, err, errlen)) != 0)
		goto out;
	snprintf(cfg->write_uri, sizeof(cfg->write_uri), "%s", conf->write_uri);
	/* The handle's own checks (write_uri), without I/O. */
	if ((rc = tokdir_new(&cfg->dir, cfg->write_uri, &td, err, errlen)) != 0)
		goto out;
	tokdir_free(td);
	*out = cfg;
	cfg = NULL;
out:
	free(cfg);
	return rc;
}

static void set_limits(struct pg_tokstore *ts, const struct pg_conf *conf)
{
	ts->lim.max_failures = (unsigned)conf->max_failures;
	ts->lim.failure_window = conf->failure_window;
	ts->lim.lockout = conf->lockout;
}

/* The records kept in conf's state_dir (checked by the state log, which
 * opened it first). */
static int load_kept(const struct pg_conf *conf, struct tokkeep **out,
                     char *err, size_t errlen)
{
	int dirfd = open(conf->state_dir,
	                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (dirfd < 0) {
		snprintf(err, errlen, "%s: %s", conf->state_dir,
		         strerror(errno));
		return PG_ERR_IO;
	}
	if ((rc = tokkeep_load(dirfd, out)) != 0) {
		close(dirfd);
		snprintf(err, errlen, "%s/%s: %s", conf->state_dir,
		         TOKKEEP_FILE, pg_err_name(rc));
	}
	return rc;
}

int tokstore_check_config(const struct pg_conf *conf, char *err, size_t errlen)
{
	struct tokstore_cfg *cfg = NULL;
	int rc = make_cfg(conf, &cfg, err, errlen);

	free(cfg);
	return rc;
}

int tokstore_new(const struct pg_conf *conf, struct pg_tokstore **out,
                 char *err, size_t errlen)
{
	struct pg_tokstore *ts = calloc(1, sizeof(*ts));
	struct tokstore_cfg *cfg = NULL;
	int rc;

	if (ts == NULL)
		return PG_ERR_NOMEM;
	ts->efd = -1;
	ts->q_tail = &ts->q;
	if ((rc = make_cfg(conf, &cfg, err, errlen)) != 0 ||
	    (rc = load_kept(conf, &ts->kept, err, errlen)) != 0)
		goto out;
	set_limits(ts, conf);
	snprintf(ts->write_target, sizeof(ts->write_target), "%s",
	         cfg->write_uri[0] ? cfg->write_uri : cfg->dir.uris[0]);
	ts->new_cfg = cfg;
	rc = PG_ERR_IO;
	if ((ts->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "tokens: eventfd: %s", strerror(errno));
		goto out;
	}
	pthread_mutex_init(&ts->mu, NULL);
	pthread_cond_init(&ts->cv, NULL);
	if (thread_start(&ts->worker, worker_main, ts) != 0) {
		snprintf(err, errlen, "tokens: no worker thread");
		pthread_mutex_destroy(&ts->mu);
		pthread_cond_destroy(&ts->cv);
		goto out;
	}
	ts->started = 1;
	*out = ts;
	return 0;
out:
	if (ts->efd >= 0)
		close(ts->efd);
	tokkeep_free(ts->kept);
	free(ts->new_cfg);
	free(ts);
	return rc;
}

int tokstore_reconfigure(struct pg_tokstore *ts, const struct pg_conf *conf,
                         char *err, size_t errlen)
{
	struct tokstore_cfg *cfg = NULL;
	int rc;

	if ((rc = make_cfg(conf, &cfg, err, errlen)) != 0)
		return rc;
	set_limits(ts, conf);
	pthread_mutex_lock(&ts->mu);
	free(ts->new_cfg);
	ts->new_cfg = cfg;
	pthread_cond_signal(&ts->cv);
	pthread_mutex_unlock(&ts->mu);
	return 0;
}

int tokstore_submit(struct pg_tokstore *ts, struct tokjob *j)
{
	if (ts->queued >= TOKSTORE_MAX_QUEUED)
		return PG_ERR_BUSY;
	j->lim = ts->lim;
	j->next = NULL;
	ts->queued++;
	pthread_mutex_lock(&ts->mu);
	*ts->q_tail = j;
	ts->q_tail = &j->next;
	pthread_mutex_unlock(&ts->mu);
	/* After the unlock: woken under the mutex, the worker would only
	 * block on it again. */
	pthread_cond_signal(&ts->cv);
	return 0;
}

int tokstore_fd(const struct pg_tokstore *ts)
{
	return ts->efd;
}

/* Finish a list (linked newest first) oldest first. */
static void finish_all(struct pg_tokstore *ts, struct tokjob *list)
{
	struct tokjob *rev = NULL, *j;

	while ((j = list) != NULL) {
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while ((j = rev) != NULL) {
		rev = j->next;
		ts->queued--;
		/* Back: what waits to be written back may go at once. */
		if (ts->offline && !tokstore_unreachable(j->rc))
			ts->next_probe = 0;
		ts->offline = tokstore_unreachable(j->rc);
		j->finish(j);
	}
}

void tokstore_drain(struct pg_tokstore *ts)
{
	struct tokjob *list;
	uint64_t n;
	int saved, rc;

	if (read(ts->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("eventfd");
	pthread_mutex_lock(&ts->mu);
	list = ts->done;
	ts->done = NULL;
	saved = ts->save_done;
	ts->save_done = 0;
	rc = ts->save_rc;
	pthread_mutex_unlock(&ts->mu);
	if (saved) {
		tokkeep_image_done(ts->kept, ts->saving, rc);
		ts->saving = NULL;
	}
	finish_all(ts, list);
}

void tokstore_save_kept(struct pg_tokstore *ts)
{
	struct tokkeep_image *img;

	if (ts->saving != NULL || tokkeep_image(ts->kept, &img) != 0 ||
	    img == NULL)
		return;
	ts->saving = img;
	pthread_mutex_lock(&ts->mu);
	ts->save_q = img;
	pthread_mutex_unlock(&ts->mu);
	pthread_cond_signal(&ts->cv);
}

struct tokkeep *tokstore_kept(struct pg_tokstore *ts)
{
	return ts->kept;
}

int tokstore_online(const struct pg_tokstore *ts)
{
	return !ts->offline;
}

int tokstore_probe_due(struct pg_tokstore *ts, int64_t now)
{
	if (now < ts->next_probe)
		return 0;
	if (ts->offline)
		ts->next_probe = now + TOKSTORE_PROBE_S;
	return 1;
}

int64_t tokstore_next_probe(const struct pg_tokstore *ts, int64_t now)
{
	return ts->next_probe < now ? now : ts->next_probe;
}

void tokstore_defer_probe(struct pg_tokstore *ts, int64_t now)
{
	ts->next_probe = now + TOKSTORE_PROBE_S;
}

int tokstore_unreachable(int rc)
{
	return rc == PG_ERR_UNAVAIL || rc == PG_ERR_TIMEOUT;
}

int tokstore_status(struct pg_tokstore *ts, struct pg_msg *resp)
{
	char uri[DIR_URI_MAX];
	uint64_t failovers;
	int rc;

	pthread_mutex_lock(&ts->mu);
	memcpy(uri, ts->write_target, sizeof(uri));
	failovers = ts->failovers;
	pthread_mutex_unlock(&ts->mu);
	if ((rc = proto_add(resp, "tokens_store", "ldap")) != 0 ||
	    (rc = proto_add(resp, "tokens_write_target", uri)) != 0)
		return rc;
	return proto_add_u64(resp, "tokens_write_failovers", failovers);
}

void tokstore_free(struct pg_tokstore *ts)
{
	struct tokjob *j, *left;

	if (ts == NULL)
		return;
	if (ts->started) {
		pthread_mutex_lock(&ts->mu);
		ts->stop = 1;
		pthread_cond_signal(&ts->cv);
		pthread_mutex_unlock(&ts->mu);
		pthread_join(ts->worker, NULL);
		/* Done ones first, as they were done; then the queued. */
		finish_all(ts, ts->done);
		for (left = ts->q; left != NULL; left = j) {
			j = left->next;
			left->rc = PG_ERR_UNAVAIL;
			ts->queued--;
			left->finish(left);
		}
		pthread_mutex_destroy(&ts->mu);
		pthread_cond_destroy(&ts->cv);
	}
	/* A save the worker did not get to is made here, then what changed
	 * since. */
	if (ts->saving != NULL)
		tokkeep_image_done(ts->kept, ts->saving,
		                   ts->save_done
		                       ? ts->save_rc
		                       : tokkeep_image_write(ts->saving));
	if (ts->efd >= 0)
		close(ts->efd);
	(void)tokkeep_save(ts->kept);
	tokkeep_free(ts->kept);
	free(ts->new_cfg);
	free(ts);
}
