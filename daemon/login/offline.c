/* SPDX-License-Identifier: BSD-3-Clause */
/* Site mode's offline half: kept records served, decisions written back. */
#include "config.h"

#include "login/offline.h"

#include "err.h"
#include "log.h"
#include "login/state.h"

void offline_keep(struct pg_daemon *d, const char *user,
                  const struct tokrec *rec, int64_t now)
{
	struct tokkeep *k = tokstore_kept(d->tokens);

	if (!rec->found)
		tokkeep_forget(k, user);
	else if (tokkeep_put(k, user, rec, now) != 0)
		log_warnx("tokens: user=%s: no room to keep the token record "
		          "for offline logins",
		          user);
}

struct tokkeep_rec *offline_record(struct pg_daemon *d, const struct tokjob *j,
                                   int64_t now)
{
	struct tokkeep_rec *r;

	/* offline_grace = 0: no offline logins. */
	if (!tokstore_unreachable(j->rc) || d->conf->offline_grace == 0)
		return NULL;
	r = tokstore_kept(d->tokens) != NULL
	        ? tokkeep_get(tokstore_kept(d->tokens), j->user, now,
	                      d->conf->offline_grace)
	        : NULL;
	if (r == NULL)
		log_info("tokens: user=%s: no token record read within "
		         "offline_grace (%ld s): no offline login",
		         j->user, d->conf->offline_grace);
	return r;
}

static void writeback_done(struct tokjob *j)
{
	struct pg_daemon *d = j->arg;
	const struct tokdir_wb *w = &j->wb;

	tokkeep_written(tokstore_kept(d->tokens), j->user, j->rc,
	                j->step_start != 0, j->wb_failures);
	if (j->rc != 0) {
		tokstore_defer_probe(d->tokens, j->now);
		log_warnx("tokens: write-back user=%s: %s; kept for later",
		          j->user, pg_err_name(j->rc));
	} else {
		log_info("tokens: write-back user=%s: oathTOTPLastTimeStep "
		         "%llu (directory had %llu, offered %llu%s), "
		         "oathFailureCount +%llu",
		         j->user,
		         (unsigned long long)(w->step ? w->step : w->dir_step),
		         (unsigned long long)w->dir_step,
		         (unsigned long long)w->local_step,
		         w->step ? "" : ": not higher, dropped",
		         (unsigned long long)w->added);
	}
	tokjob_free(j);
}

struct wb_ctx {
	struct pg_daemon *d;
	int64_t now;
};

/* Submit r's write-back: the daemon's floor (the highest step accepted
 * here, offline ones included) and the failures counted offline. */
static int writeback(struct tokkeep_rec *r, void *arg)
{
	struct wb_ctx *x = arg;
	struct pg_user_rec ur;
	struct tokjob *j = tokjob_new(TOKJOB_WRITEBACK, r->user, x->now);

	if (j == NULL)
		return 1;
	if (r->claimed && state_get(x->d->state, r->user, &ur) == 0)
		j->step_start = ur.last_step;
	j->wb_failures = r->failures;
	j->wb_last_failure = r->last_failure;
	j->finish = writeback_done;
	j->arg = x->d;
	if (tokstore_submit(x->d->tokens, j) != 0) {
		tokjob_free(j);
		return 1;
	}
	r->in_flight = 1;
	return 0;
}

void offline_tick(struct pg_daemon *d, int64_t now)
{
	struct wb_ctx x = {d, now};
	struct tokkeep *k;

	if (d->tokens == NULL || (k = tokstore_kept(d->tokens)) == NULL)
		return;
	if (tokstore_probe_due(d->tokens, now))
		tokkeep_foreach_pending(k, writeback, &x);
	tokstore_save_kept(d->tokens);
}

int64_t offline_wake_at(const struct pg_daemon *d, int64_t now)
{
	const struct tokkeep *k;
	int64_t at = 0;

	if (d->tokens == NULL || (k = tokstore_kept(d->tokens)) == NULL)
		return 0;
	if (tokkeep_has_pending(k))
		at = tokstore_next_probe(d->tokens, now);
	if (tokkeep_dirty(k) && (at == 0 || now + 1 < at))
		at = now + 1;
	return at;
}

int offline_unwritten(const struct pg_daemon *d, const char *user)
{
	struct tokkeep_rec *r;

	if (d->tokens == NULL)
		return 0;
	r = tokkeep_get(tokstore_kept(d->tokens), user, 0, INT64_MAX);
	return r != NULL && tokkeep_rec_pending(r);
}
