/* SPDX-License-Identifier: BSD-3-Clause */
/* Threat detection wired into phiguardd: the detector (detect.h) and the
 * webhook (webhook.h) it owns, and where an alert goes: syslog (LOG_ALERT
 * or LOG_WARNING, with its stable message id), the audit trail (event
 * "alert", reason = the id) and, when configured, the HTTPS webhook. One
 * emit function, so every alert takes the same roads whoever raised it. */
#ifndef PHIGUARD_DAEMON_ALERT_H
#define PHIGUARD_DAEMON_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"

struct pg_alert; /* opaque: detector, webhook, learned hours, held alerts */
struct pg_audit;
struct pg_conf;

/* The learned login hours are written at most this often (and at stop). */
#define ALERT_HOURS_SAVE_EVERY 60 /* seconds */
/* At stop, alerts still queued for the webhook get this long. */
#define ALERT_WEBHOOK_DRAIN_MS 2000

/*
 * Start detection from conf: the detector with [detect]'s limits, the
 * learned hours from state_dir (never fatal), the webhook if
 * alert_webhook is set; alerts are recorded in audit (may be NULL: none).
 * Call as the daemon's final user (the hours file is rewritten later). 0
 * and *out, or PG_ERR_CONFIG / PG_ERR_NOMEM / PG_ERR_IO (logged): the
 * daemon must not serve without its detector.
 */
int alert_new(const struct pg_conf *conf, struct pg_audit *audit,
              struct pg_alert **out);

/* New [detect] limits on reload (the webhook keeps its start-up settings
 * until a restart). 0 or PG_ERR_CONFIG with the reason in err. */
int alert_reconfigure(struct pg_alert *al, const struct pg_conf *conf,
                      char *err, size_t errlen);

/* Periodic work (from the daemon's tick): save the learned hours. */
void alert_tick(struct pg_alert *al, int64_t now);

/* Save the hours, drain the webhook briefly, free. */
void alert_free(struct pg_alert *al);

/* Every function below accepts al NULL (no detection: a no-op, 0). */

/* Alerts one request may raise, at most, held until its records are. */
#define ALERT_MAX_HELD 4

/*
 * Emit *a. Never blocks on the disk or the network; never fails (a trail
 * or webhook that cannot take it counts and logs that itself). Between
 * alert_hold and alert_release it is held (beyond ALERT_MAX_HELD,
 * emitted at once). Its audit record carries its
 * source as rhost or tty.
 */
void alert_emit(struct pg_alert *al, const struct detect_alert *a);

/* Emit *a now with the items of the request that raised it (NULL when
 * absent; its source decides what both are NULL). */
void alert_emit_items(struct pg_alert *al, const struct detect_alert *a,
                      const char *service, const char *tty, const char *rhost);

/* While a request is answered: hold its alerts, then emit them (in the
 * order raised) with its items, after its own audit records. */
void alert_hold(struct pg_alert *al);
void alert_release(struct pg_alert *al, const char *service, const char *tty,
                   const char *rhost);

/* PREAUTH / CLAIM: 1 (with *until) if the request's source is refused
 * after a spraying alert (spray_block > 0), else 0. */
int alert_source_blocked(struct pg_alert *al, const char *rhost,
                         const char *tty, int64_t now, int64_t *until);

/* A second-factor failure / whole-login success from REPORT: feeds the
 * detector and emits what it raises. */
void alert_failure(struct pg_alert *al, const char *user, const char *rhost,
                   const char *tty, int64_t now);
void alert_success(struct pg_alert *al, const char *user, const char *rhost,
                   const char *tty, int64_t now);

#endif
