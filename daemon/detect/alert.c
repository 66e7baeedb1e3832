/* SPDX-License-Identifier: BSD-3-Clause */
/* Detection in the daemon: start, reload, persistence of the learned
 * hours, and the three roads of an alert. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/alert.h"
#include "detect/alertfmt.h"
#include "audit/audit.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "core/verbs.h"
#include "detect/webhook.h"

static void limits_of(const struct pg_conf *c, struct detect_limits *lim)
{
	lim->spray_users = (unsigned)c->spray_users;
	lim->spray_window = c->spray_window;
	lim->spray_block = c->spray_block;
	lim->hour_min_logins = (unsigned)c->hour_min_logins;
	lim->hour_percent = (unsigned)c->hour_percent;
}

static int start_webhook(struct pg_daemon *d, const struct pg_conf *c)
{
	struct webhook_cfg wc;
	char err[PG_CONF_ERRLEN];

	if (c->alert_webhook[0] == '\0')
		return 0;
	memset(&wc, 0, sizeof(wc));
	wc.url = c->alert_webhook;
	wc.ca_file = c->alert_webhook_ca;
	wc.proxy = c->alert_webhook_proxy;
	wc.timeout = c->alert_webhook_timeout;
	if (webhook_global_init() != 0 ||
	    webhook_new(&wc, &d->webhook, err, sizeof(err)) != 0) {
		log_errx("alert_webhook: cannot start the delivery thread");
		return PG_ERR_IO;
	}
	return 0;
}

int alert_start(struct pg_daemon *d, const struct pg_conf *c)
{
	struct detect_limits lim;
	int rc;

	d->hours_dirfd = -1;
	if ((d->held = calloc(ALERT_MAX_HELD, sizeof(*d->held))) == NULL)
		return PG_ERR_NOMEM;
	limits_of(c, &lim);
	if ((rc = detect_new(&lim, &d->detect)) != 0) {
		log_errx("[detect]: %s", pg_strerror(rc));
		return rc;
	}
	d->hours_dirfd =
	    open(c->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->hours_dirfd < 0) {
		log_err("state_dir %s", c->state_dir);
		return PG_ERR_IO;
	}
	if ((rc = detect_hours_load(d->detect, d->hours_dirfd, c->state_dir)) !=
	    0)
		return rc;
	return start_webhook(d, c);
}

int alert_reconfigure(struct pg_daemon *d, const struct pg_conf *c, char *err,
                      size_t errlen)
{
	struct detect_limits lim;

	if (d->detect == NULL)
		return 0;
	limits_of(c, &lim);
	if (detect_set_limits(d->detect, &lim) != 0) {
		snprintf(err, errlen, "[detect]: limits out of range");
		return PG_ERR_CONFIG;
	}
	return 0;
}

static void save_hours(struct pg_daemon *d)
{
	if (d->detect != NULL && d->hours_dirfd >= 0 &&
	    detect_hours_dirty(d->detect))
		detect_hours_save(d->detect, d->hours_dirfd,
		                  d->conf->state_dir);
}

void alert_tick(struct pg_daemon *d, int64_t now)
{
	if (now - d->hours_saved_at < ALERT_HOURS_SAVE_EVERY)
		return;
	d->hours_saved_at = now;
	save_hours(d);
}

void alert_stop(struct pg_daemon *d)
{
	save_hours(d);
	if (d->webhook != NULL)
		webhook_free(d->webhook, ALERT_WEBHOOK_DRAIN_MS, NULL);
	d->webhook = NULL;
	detect_free(d->detect);
	d->detect = NULL;
	if (d->hours_dirfd >= 0)
		close(d->hours_dirfd);
	d->hours_dirfd = -1;
	free(d->held);
	d->held = NULL;
	d->nheld = 0;
}

void alert_emit_items(struct pg_daemon *d, const struct detect_alert *a,
                      const char *service, const char *tty,
                      const char *rhost)
{
	char json[ALERTFMT_LINE_MAX];
	struct audit_rec r;

	alertfmt_log(a);
	if (d->audit != NULL) {
		memset(&r, 0, sizeof(r));
		r.event = "alert";
		r.user = a->user[0] != '\0' ? a->user : NULL;
		r.service = service;
		r.tty = tty;
		r.rhost = rhost;
		if (tty == NULL && rhost == NULL &&
		    strcmp(a->source_type, "rhost") == 0)
			r.rhost = a->source;
		else if (tty == NULL && rhost == NULL &&
		         strcmp(a->source_type, "tty") == 0)
			r.tty = a->source;
		r.reason = a->id;
		r.uid = -1;
		/* Already logged at its own level: no second alert line. */
		audit_record(d->audit, &r, 0);
	}
	if (d->webhook != NULL &&
	    (alertfmt_json(a, json, sizeof(json)) != 0 ||
	     webhook_send(d->webhook, json) != 0))
		log_warnx("alert %s: not queued for the webhook", a->id);
}

void alert_emit(struct pg_daemon *d, const struct detect_alert *a)
{
	if (d->holding && d->held != NULL && d->nheld < ALERT_MAX_HELD) {
		d->held[d->nheld++] = *a;
		return;
	}
	alert_emit_items(d, a, NULL, NULL, NULL);
}

void alert_hold(struct pg_daemon *d)
{
	d->holding = 1;
}

void alert_release(struct pg_daemon *d, const char *service, const char *tty,
                   const char *rhost)
{
	size_t i;

	d->holding = 0;
	for (i = 0; i < d->nheld; i++)
		alert_emit_items(d, &d->held[i], service, tty, rhost);
	d->nheld = 0;
}

int alert_source_blocked(struct pg_daemon *d, const char *rhost,
                         const char *tty, int64_t now, int64_t *until)
{
	return d->detect != NULL &&
	       detect_source_blocked(d->detect, rhost, tty, now, until);
}

void alert_failure(struct pg_daemon *d, const char *user, const char *rhost,
                   const char *tty, int64_t now)
{
	struct detect_alert a;
	int fired = 0;

	if (d->detect != NULL &&
	    detect_failure(d->detect, user, rhost, tty, now, &a, &fired) == 0 &&
	    fired)
		alert_emit(d, &a);
}

void alert_success(struct pg_daemon *d, const char *user, const char *rhost,
                   const char *tty, int64_t now)
{
	struct detect_alert a;
	int fired = 0;

	if (d->detect != NULL &&
	    detect_success(d->detect, user, rhost, tty, now, &a, &fired) == 0 &&
	    fired)
		alert_emit(d, &a);
}
