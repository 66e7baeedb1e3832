/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Optional delivery of alerts as HTTPS JSON POSTs (libcurl) from a thread
 * of its own, fed through a bounded queue, so that a slow, hanging or
 * failing receiver never delays a decision.
 *
 * - webhook_send() copies the body into the queue and returns at once
 *   (it takes a mutex the thread holds only to move queue entries, never
 *   during a transfer). A full queue drops its OLDEST entry: the drop is
 *   counted and logged (the 1st, 10th, 100th... drop, and the total at
 *   shutdown), since a flood of alerts must not turn into a flood of logs.
 * - HTTPS only (also after a redirect, and redirects are not followed),
 *   certificate and host name always verified against the system store or
 *   ca_file (which then replaces it), TLS 1.2 or later. The proxy is the
 *   configured one or none: http(s)_proxy, ALL_PROXY and NO_PROXY from the
 *   environment are never used; .netrc neither. CURLOPT_NOSIGNAL.
 * - Each attempt is bounded by timeout seconds (connect included). A
 *   transport error, HTTP 429 or 5xx is retried after backoff_ms, then
 *   twice that, ... capped at WEBHOOK_BACKOFF_CAP_MS, at most max_attempts
 *   attempts in all; any other non-2xx status is final. Each failed
 *   delivery is logged. The response body is read and discarded, at most
 *   WEBHOOK_MAX_BODY bytes (more ends the transfer; a 2xx status still
 *   counts as delivered).
 * - libcurl: webhook_global_init() is the program's one call to
 *   curl_global_init (phiguardd calls it in main before any thread starts;
 *   webhook_new() calls it too, once, as a safety net). It is never
 *   undone while the process runs.
 */
#ifndef PHIGUARD_DAEMON_WEBHOOK_H
#define PHIGUARD_DAEMON_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_QUEUE_DEFAULT  256
#define WEBHOOK_QUEUE_MAX      65536
#define WEBHOOK_ATTEMPTS_DEF   5
#define WEBHOOK_BACKOFF_DEF_MS 1000
#define WEBHOOK_BACKOFF_CAP_MS 30000
#define WEBHOOK_MAX_BODY       (64 * 1024) /* response bytes read */
#define WEBHOOK_MAX_REQUEST    (64 * 1024) /* longest body accepted */

struct webhook_cfg {
	const char *url;       /* https://...; borrowed during webhook_new */
	const char *ca_file;   /* "" or NULL = the system CA store */
	const char *proxy;     /* "" or NULL = no proxy at all */
	long timeout;          /* seconds per attempt (1..300) */
	unsigned max_attempts; /* 0 = WEBHOOK_ATTEMPTS_DEF; at most 20 */
	unsigned backoff_ms;   /* first retry delay; 0 = default */
	size_t queue_max;      /* 0 = WEBHOOK_QUEUE_DEFAULT */
};

/* Delivery counters, for STATUS and the tests. */
struct webhook_stats {
	uint64_t queued;    /* accepted by webhook_send */
	uint64_t delivered; /* answered with 2xx */
	uint64_t failed;    /* given up after the last attempt, or final */
	uint64_t retries;   /* attempts after a first one */
	uint64_t dropped;   /* pushed out of a full queue, or at shutdown */
};

struct pg_webhook; /* opaque */

/* curl_global_init once per process (pthread_once). 0 or
 * PG_ERR_INTERNAL (libcurl unusable or built without TLS). */
int webhook_global_init(void);

/*
 * Check cfg as webhook_new() would: https:// URL without blanks or
 * control bytes, timeout and limits in range. 0 or PG_ERR_CONFIG with a
 * reason in err (errlen bytes).
 */
int webhook_check(const struct webhook_cfg *cfg, char *err, size_t errlen);

/*
 * Start the delivery thread. Copies what it needs from cfg. 0 and *out,
 * PG_ERR_CONFIG (reason in err), PG_ERR_NOMEM or PG_ERR_INTERNAL (thread
 * or libcurl). Stop with webhook_free().
 */
int webhook_new(const struct webhook_cfg *cfg, struct pg_webhook **out,
                char *err, size_t errlen);

/*
 * Queue one JSON body (copied; at most WEBHOOK_MAX_REQUEST bytes) for
 * delivery. Never blocks on the network. 0, PG_ERR_TOOLONG,
 * PG_ERR_NOMEM, or PG_ERR_UNAVAIL after webhook_free() began.
 */
int webhook_send(struct pg_webhook *w, const char *json);

/*
 * Stop: deliveries go on for at most drain_ms milliseconds, then the
 * transfer in progress is aborted, the thread joined, and what is still
 * queued is dropped with one log line. The final counters go to *final
 * if it is not NULL. Accepts w == NULL (then *final is zeroed).
 */
void webhook_free(struct pg_webhook *w, unsigned drain_ms,
                  struct webhook_stats *final);

#endif
