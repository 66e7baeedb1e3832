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
#include "detect/webhook.h"

struct pg_alert {
	struct pg_detect *detect;
	struct pg_webhook *webhook; /* NULL: no alert_webhook */
	struct pg_audit *audit;     /* NULL: no trail (tests) */
	int hours_dirfd;            /* state_dir, for the learned hours */
	char *state_dir;
	int64_t hours_saved_at;
	/* Alerts raised while a request is answered wait here, so that
	 * their records follow the request's (alert_hold). */
	struct detect_alert held[ALERT_MAX_HELD];
	size_t nheld;
	int holding;
};

static void limits_of(const struct pg_conf *c, struct detect_limits *lim)
{
	lim->spray_users = (unsigned)c->spray_users;
	lim->spray_window = c->spray_window;
	lim->spray_block = c->spray_block;
	lim->hour_min_logins = (unsigned)c->hour_min_logins;
	lim->hour_percent = (unsigned)c->hour_percent;
}

static int start_webhook(struct pg_alert *al, const struct pg_conf *c)
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
	    webhook_new(&wc, &al->webhook, err, sizeof(err)) != 0) {
		log_errx("alert_webhook: cannot start the delivery thread");
		return PG_ERR_IO;
	}
	return 0;
}

static int start(struct pg_alert *al, const struct pg_conf *c)
{
	struct detect_limits lim;
	int rc;

	limits_of(c, &lim);
	if ((rc = detect_new(&lim, &al->detect)) != 0) {
		log_errx("[detect]: %s", pg_strerror(rc));
		return rc;
	}
	if ((al->state_dir = strdup(c->state_dir)) == NULL)
		return PG_ERR_NOMEM;
	al->hours_dirfd =
	    open(c->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (al->hours_dirfd < 0) {
		log_err("state_dir %s", c->state_dir);
		return PG_ERR_IO;
	}
	if ((rc = detect_hours_load(al->detect, al->hours_dirfd,
	                            c->state_dir)) != 0)
		return rc;
	return start_webhook(al, c);
}

int alert_new(const struct pg_conf *c, struct pg_audit *audit,
              struct pg_alert **out)
{
	struct pg_alert *al = calloc(1, sizeof(*al));
	int rc;

	if (al == NULL)
		return PG_ERR_NOMEM;
	al->hours_dirfd = -1;
	al->audit = audit;
	if ((rc = start(al, c)) != 0) {
		alert_free(al);
		return rc;
	}
	*out = al;
	return 0;
}

int alert_reconfigure(struct pg_alert *al, const struct pg_conf *c, char *err,
                      size_t errlen)
{
	struct detect_limits lim;

	if (al == NULL)
		return 0;
	limits_of(c, &lim);
	if (detect_set_limits(al->detect, &lim) != 0) {
		snprintf(err, errlen, "[detect]: limits out of range");
		return PG_ERR_CONFIG;
	}
	return 0;
}

static void save_hours(struct pg_alert *al)
{
	if (al->detect != NULL && al->hours_dirfd >= 0 &&
	    detect_hours_dirty(al->detect))
		detect_hours_save(al->detect, al->hours_dirfd, al->state_dir);
}

void alert_tick(struct pg_alert *al, int64_t now)
{
	if (al == NULL || now - al->hours_saved_at < ALERT_HOURS_SAVE_EVERY)
		return;
	al->hours_saved_at = now;
	save_hours(al);
}

void alert_free(struct pg_alert *al)
{
	if (al == NULL)
		return;
	save_hours(al);
	if (al->webhook != NULL)
		webhook_free(al->webhook, ALERT_WEBHOOK_DRAIN_MS, NULL);
	detect_free(al->detect);
	if (al->hours_dirfd >= 0)
		close(al->hours_dirfd);
	free(al->state_dir);
	free(al);
}

void alert_emit_items(struct pg_alert *al, const struct detect_alert *a,
                      const char *service, const char *tty, const char *rhost)
{
	char json[ALERTFMT_LINE_MAX];
	struct audit_rec r;

	if (al == NULL)
		return;
	alertfmt_log(a);
	if (al->audit != NULL) {
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
		audit_record(al->audit, &r, 0);
	}
	if (al->webhook != NULL && (alertfmt_json(a, json, sizeof(json)) != 0 ||
	                            webhook_send(al->webhook, json) != 0))
		log_warnx("alert %s: not queued for the webhook", a->id);
}

void alert_emit(struct pg_alert *al, const struct detect_alert *a)
{
	if (al == NULL)
		return;
	if (al->holding && al->nheld < ALERT_MAX_HELD) {
		al->held[al->nheld++] = *a;
		return;
	}
	alert_emit_items(al, a, NULL, NULL, NULL);
}

void alert_hold(struct pg_alert *al)
{
	if (al != NULL)
		al->holding = 1;
}

void alert_release(struct pg_alert *al, const char *service, const char *tty,
                   const char *rhost)
{
	size_t i;

	if (al == NULL)
		return;
	al->holding = 0;
	for (i = 0; i < al->nheld; i++)
		alert_emit_items(al, &al->held[i], service, tty, rhost);
	al->nheld = 0;
}

int alert_source_blocked(struct pg_alert *al, const char *rhost,
                         const char *tty, int64_t now, int64_t *until)
{
	return al != NULL &&
	       detect_source_blocked(al->detect, rhost, tty, now, until);
}

void alert_failure(struct pg_alert *al, const char *user, const char *rhost,
                   const char *tty, int64_t now)
{
	struct detect_alert a;
	int fired = 0;

	if (al != NULL &&
	    detect_failure(al->detect, user, rhost, tty, now, &a, &fired) ==
	        0 &&
	    fired)
		alert_emit(al, &a);
}

void alert_success(struct pg_alert *al, const char *user, const char *rhost,
                   const char *tty, int64_t now)
{
	struct detect_alert a;
	int fired = 0;

	if (al != NULL &&
	    detect_success(al->detect, user, rhost, tty, now, &a, &fired) ==
	        0 &&
	    fired)
		alert_emit(al, &a);
}
