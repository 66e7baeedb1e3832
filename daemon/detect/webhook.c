/* SPDX-License-Identifier: BSD-3-Clause */
/* The alert webhook: a bounded queue drained by one thread that POSTs each
 * entry over verified HTTPS, retrying with exponential backoff. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "curlsafe.h"
#include "err.h"
#include "log.h"
#include "core/thread.h"
#include "timeutil.h"
#include "detect/webhook.h"

#define WEBHOOK_MAX_ATTEMPTS 20

struct pg_webhook {
	char *url, *ca_file, *proxy;
	long timeout_ms;
	unsigned max_attempts, backoff_ms;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_t thread;
	int started;
	char **q; /* ring of queue_max entries */
	size_t qmax, qhead, qlen;
	int closing; /* webhook_free began: drain, take no more */
	int stop;    /* the drain time is over: abort now */
	int busy;    /* the thread holds an entry */
	struct webhook_stats st;
	char detail[CURL_ERROR_SIZE];
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = PG_ERR_INTERNAL;

static void do_global_init(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	if (v == NULL || (v->features & CURL_VERSION_SSL) == 0)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		init_result = 0;
}

int webhook_global_init(void)
{
	if (pthread_once(&init_once, do_global_init) != 0)
		return PG_ERR_INTERNAL;
	return init_result;
}

/* No blanks, control bytes or quotes: the value goes into a request
 * line, and a space in a URL is a typo, not an address. */
static int is_token(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '"')
			return 0;
	return 1;
}

int webhook_check(const struct webhook_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->url == NULL || strncmp(cfg->url, "https://", 8) != 0 ||
	    cfg->url[8] == '\0' || !is_token(cfg->url)) {
		pg_err_set(err, errlen, "alert_webhook: not an https:// URL");
		return PG_ERR_CONFIG;
	}
	if (cfg->proxy != NULL && !is_token(cfg->proxy)) {
		pg_err_set(err, errlen,
		           "alert_webhook_proxy: must not contain blanks");
		return PG_ERR_CONFIG;
	}
	if (cfg->timeout < 1 || cfg->timeout > 300 ||
	    cfg->max_attempts > WEBHOOK_MAX_ATTEMPTS ||
	    cfg->backoff_ms > WEBHOOK_BACKOFF_CAP_MS ||
	    cfg->queue_max > WEBHOOK_QUEUE_MAX) {
		pg_err_set(err, errlen, "alert_webhook: limit out of range");
		return PG_ERR_CONFIG;
	}
	return 0;
}

/* Discard the body, but no more than WEBHOOK_MAX_BODY of it. */
static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	size_t *total = arg;

	(void)p;
	*total += size * n;
	return *total > WEBHOOK_MAX_BODY ? 0 : size * n;
}

/* Abort the transfer in progress once webhook_free's drain time is over.
 * Reads w->stop without the lock: a late read only costs one more call. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
	struct pg_webhook *w = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return __atomic_load_n(&w->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* Outcome of one attempt. */
enum attempt { ATT_OK, ATT_RETRY, ATT_FINAL };

static enum attempt post(struct pg_webhook *w, CURL *h, struct curl_slist *hdrs,
                         const char *body, long *status, CURLcode *cc)
{
	size_t total = 0;
	CURLcode rc = CURLE_OK;

	curl_easy_reset(h);
	w->detail[0] = '\0';
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (rc == CURLE_OK)                                            \
			rc = curl_easy_setopt(h, opt, val);                    \
	} while (0)
	rc = curlsafe_setopts(h, w->ca_file, w->proxy);
	SET(CURLOPT_URL, w->url);
	SET(CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, w->timeout_ms);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, &total);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, w);
	SET(CURLOPT_ERRORBUFFER, w->detail);
#undef SET
	*status = 0;
	if ((*cc = rc) != CURLE_OK)
		return ATT_FINAL;
	*cc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status < 300 &&
	    (*cc == CURLE_OK || *cc == CURLE_WRITE_ERROR))
		return ATT_OK;
	if (*cc != CURLE_OK)
		return ATT_RETRY;
	return *status == 429 || *status >= 500 ? ATT_RETRY : ATT_FINAL;
}

/* Wait until deadline (monotonic ms) or stop; w->mu held. */
static void wait_until(struct pg_webhook *w, int64_t deadline)
{
	struct timespec ts = time_mono_timespec(deadline);

	while (!w->stop && time_left_ms(deadline) > 0)
		(void)pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

/* What went wrong, for the log: libcurl's words, or the status. */
static const char *why(const struct pg_webhook *w, CURLcode cc)
{
	if (w->detail[0] != '\0')
		return w->detail;
	return cc == CURLE_OK ? "refused by the receiver"
	                      : curl_easy_strerror(cc);
}

/* Deliver one body with retries. Called without w->mu. */
static void deliver(struct pg_webhook *w, CURL *h, struct curl_slist *hdrs,
                    const char *body)
{
	unsigned attempt, delay = w->backoff_ms;
	enum attempt res = ATT_FINAL;
	long status = 0;
	CURLcode cc = CURLE_OK;

	for (attempt = 1; attempt <= w->max_attempts; attempt++) {
		res = post(w, h, hdrs, body, &status, &cc);
		pthread_mutex_lock(&w->mu);
		if (res == ATT_OK)
			w->st.delivered++;
		if (res != ATT_RETRY || attempt == w->max_attempts || w->stop) {
			if (res != ATT_OK)
				w->st.failed++;
			pthread_mutex_unlock(&w->mu);
			break;
		}
		w->st.retries++;
		log_info("alert webhook: attempt %u failed (%s, HTTP %ld); "
		         "retrying in %u ms",
		         attempt, why(w, cc), status, delay);
		wait_until(w, time_mono_ms() + delay);
		pthread_mutex_unlock(&w->mu);
		delay = delay > WEBHOOK_BACKOFF_CAP_MS / 2
		            ? WEBHOOK_BACKOFF_CAP_MS
		            : delay * 2;
	}
	if (res != ATT_OK)
		log_errx("alert webhook: delivery failed after %u attempt(s): "
		         "%s, HTTP %ld",
		         attempt > w->max_attempts ? w->max_attempts : attempt,
		         why(w, cc), status);
}

static void *worker(void *arg)
{
	struct pg_webhook *w = arg;
	struct curl_slist *hdrs = NULL, *n;
	CURL *h = curl_easy_init();
	char *body;

	if ((n = curl_slist_append(NULL, "Content-Type: application/json")) !=
	    NULL) {
		hdrs = n;
		/* No "Expect: 100-continue" round trip. */
		if ((n = curl_slist_append(hdrs, "Expect:")) != NULL)
			hdrs = n;
	}
	if (h == NULL || hdrs == NULL)
		log_errx("alert webhook: libcurl set-up failed; alerts are "
		         "not delivered");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->qlen == 0 && !w->closing)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop || w->qlen == 0)
			break;
		body = w->q[w->qhead];
		w->q[w->qhead] = NULL;
		w->qhead = (w->qhead + 1) % w->qmax;
		w->qlen--;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		if (h != NULL && hdrs != NULL) {
			deliver(w, h, hdrs, body);
		} else {
			pthread_mutex_lock(&w->mu);
			w->st.failed++;
			pthread_mutex_unlock(&w->mu);
		}
		free(body);
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
	}
	pthread_mutex_unlock(&w->mu);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return NULL;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void release(struct pg_webhook *w)
{
	size_t i;

	for (i = 0; w->q != NULL && i < w->qmax; i++)
		free(w->q[i]);
	free(w->q);
	free(w->url);
	free(w->ca_file);
	free(w->proxy);
	free(w);
}

int webhook_new(const struct webhook_cfg *cfg, struct pg_webhook **out,
                char *err, size_t errlen)
{
	struct pg_webhook *w = NULL;
	pthread_condattr_t ca;
	int rc;

	if ((rc = webhook_check(cfg, err, errlen)) != 0)
		return rc;
	if (webhook_global_init() != 0) {
		pg_err_set(err, errlen, "alert_webhook: libcurl unusable");
		return PG_ERR_INTERNAL;
	}
	rc = PG_ERR_NOMEM;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto out;
	w->qmax = cfg->queue_max != 0 ? cfg->queue_max : WEBHOOK_QUEUE_DEFAULT;
	w->timeout_ms = cfg->timeout * 1000;
	w->max_attempts =
	    cfg->max_attempts != 0 ? cfg->max_attempts : WEBHOOK_ATTEMPTS_DEF;
	w->backoff_ms =
	    cfg->backoff_ms != 0 ? cfg->backoff_ms : WEBHOOK_BACKOFF_DEF_MS;
	if ((w->url = strdup(cfg->url)) == NULL ||
	    (w->ca_file = dup_or_empty(cfg->ca_file)) == NULL ||
	    (w->proxy = dup_or_empty(cfg->proxy)) == NULL ||
	    (w->q = calloc(w->qmax, sizeof(*w->q))) == NULL)
		goto out;
	rc = PG_ERR_INTERNAL;
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		goto out;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w->cv, &ca) != 0) {
		pthread_mutex_destroy(&w->mu);
		goto out;
	}
	pthread_condattr_destroy(&ca);
	if (thread_start(&w->thread, worker, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		pg_err_set(err, errlen, "alert_webhook: cannot start thread");
		goto out;
	}
	w->started = 1;
	*out = w;
	w = NULL;
	rc = 0;
out:
	if (rc == PG_ERR_NOMEM)
		pg_err_set(err, errlen, "out of memory");
	if (w != NULL)
		release(w);
	return rc;
}

/* The 1st, 10th, 100th... drop is worth a line. */
static int log_this_drop(uint64_t n)
{
	while (n >= 10 && n % 10 == 0)
		n /= 10;
	return n == 1;
}

int webhook_send(struct pg_webhook *w, const char *json)
{
	size_t len = strnlen(json, WEBHOOK_MAX_REQUEST + 1), tail;
	uint64_t dropped = 0;
	char *copy;

	if (len > WEBHOOK_MAX_REQUEST)
		return PG_ERR_TOOLONG;
	if ((copy = strdup(json)) == NULL)
		return PG_ERR_NOMEM;
	pthread_mutex_lock(&w->mu);
	if (w->closing) {
		pthread_mutex_unlock(&w->mu);
		free(copy);
		return PG_ERR_UNAVAIL;
	}
	if (w->qlen == w->qmax) {
		/* The newest alerts matter most during a flood. */
		free(w->q[w->qhead]);
		w->q[w->qhead] = NULL;
		w->qhead = (w->qhead + 1) % w->qmax;
		w->qlen--;
		dropped = ++w->st.dropped;
	}
	tail = (w->qhead + w->qlen) % w->qmax;
	w->q[tail] = copy;
	w->qlen++;
	w->st.queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (dropped != 0 && log_this_drop(dropped))
		log_warnx("alert webhook: queue full, oldest alert dropped "
		          "(%" PRIu64 " dropped so far)",
		          dropped);
	return 0;
}

void webhook_free(struct pg_webhook *w, unsigned drain_ms,
                  struct webhook_stats *final)
{
	int64_t deadline = time_mono_ms() + drain_ms;
	size_t left;

	if (final != NULL)
		memset(final, 0, sizeof(*final));
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	pthread_cond_broadcast(&w->cv);
	/* Let the thread drain for a bounded time; the worker signals
	 * nothing, so poll the queue every 50 ms. */
	while ((w->qlen > 0 || w->busy) && time_mono_ms() < deadline) {
		pthread_mutex_unlock(&w->mu);
		nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
		pthread_mutex_lock(&w->mu);
	}
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	left = w->qlen;
	w->st.dropped += left;
	if (left > 0 || w->st.dropped > 0)
		log_warnx("alert webhook: stopped; %zu queued alert(s) not "
		          "delivered, %" PRIu64 " dropped in all",
		          left, w->st.dropped);
	if (final != NULL)
		*final = w->st;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	release(w);
}
