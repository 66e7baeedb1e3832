/* SPDX-License-Identifier: BSD-3-Clause */
/* One push from start to a final outcome, whatever the provider, within
 * one monotonic deadline. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "push.h"
#include "push_duo.h"
#include "push_privacyidea.h"
#include "sanitize.h"
#include "timeutil.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS   32000

int push_fail(struct push *p, int err, const char *reason, const char *fmt, ...)
{
	va_list ap;

	p->res.outcome = PUSH_ERROR;
	p->res.reason = reason;
	va_start(ap, fmt);
	vsnprintf(p->res.detail, sizeof(p->res.detail), fmt, ap);
	va_end(ap);
	return err != 0 ? err : PG_ERR_INTERNAL;
}

int push_sleep(const struct push *p, int ms)
{
	int left = time_left_ms(p->deadline), n;
	struct timespec ts;

	n = ms < left ? ms : left;
	if (n > 0) {
		ts.tv_sec = n / 1000;
		ts.tv_nsec = (long)(n % 1000) * 1000000L;
		/* A signal cuts the sleep short: we then poll early, which
		 * is harmless, and the deadline still holds. */
		(void)nanosleep(&ts, NULL);
	}
	return ms <= left ? 0 : PG_ERR_TIMEOUT;
}

int push_http(struct push *p, const struct http_req *req,
              struct http_resp *resp)
{
	const char *reason = NULL;
	int backoff = BACKOFF_FIRST_MS, wait, r;

	for (;;) {
		r = http_request(&p->http, req, p->deadline, resp, &reason);
		if (r != 0)
			return push_fail(p, r, reason, "%s %s",
			                 p->http.detail[0] != '\0'
			                     ? p->http.detail
			                     : pg_strerror(r),
			                 req->method);
		if (resp->status != 429)
			return 0;
		/* Retry-After when given, else 1, 2, 4 ... s; giving up
		 * when the wait would outlast the push. */
		wait = resp->retry_after >= 0 ? (int)resp->retry_after * 1000
		                              : backoff;
		http_resp_free(resp);
		if (wait > BACKOFF_MAX_MS || wait >= time_left_ms(p->deadline))
			return push_fail(p, PG_ERR_BUSY, "rate-limited",
			                 "HTTP 429, retry after %d ms", wait);
		if (push_sleep(p, wait) != 0)
			return push_fail(p, PG_ERR_TIMEOUT, "rate-limited",
			                 "HTTP 429 until the deadline");
		if (backoff < BACKOFF_MAX_MS)
			backoff *= 2;
	}
}

void push_set_text(char *dst, size_t dstsz, const char *src)
{
	sanitize_text(src, strlen(src), dst, dstsz);
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

/*
 * The 1..4 letters or digits after pattern (case-insensitive, not the
 * tail of a longer word) in text, ending the word. Anything else is free
 * text: a loose match once turned "number on file" into "Choose on".
 */
static int find_after(const char *text, const char *pattern, char *out,
                      size_t outsz)
{
	size_t plen = strlen(pattern), n;
	const char *p, *v;

	for (p = text; *p != '\0'; p++) {
		if ((p > text && is_alnum(p[-1])) ||
		    strncasecmp(p, pattern, plen) != 0)
			continue;
		v = p + plen;
		for (n = 0; is_alnum(v[n]); n++)
			;
		if (n >= 1 && n <= 4 && n < outsz) {
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

int push_find_number(const char *text, char *out, size_t outsz)
{
	/* The only documented format: privacyIDEA's require_presence
	 * appends "Please press: X" to the challenge text. */
	return find_after(text, "please press: ", out, outsz);
}

long push_latency_ms(const struct push *p)
{
	return (long)(time_mono_ms() - p->started);
}

int push_start(struct push *p, const struct push_cfg *cfg, const char *user,
               const char *rhost, const char *service, const char *pass)
{
	struct http_cfg hc;
	const char *reason = NULL;
	int r;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->user = user;
	p->rhost = rhost;
	p->service = service;
	p->pass = pass;
	p->started = time_mono_ms();
	p->deadline = p->started + cfg->timeout_ms;
	p->res.outcome = PUSH_ERROR;
	p->res.reason = "internal";
	if (cfg->provider == CONF_PROVIDER_NONE)
		return push_fail(p, PG_ERR_CONFIG, "no-provider",
		                 "no push provider configured");
	if ((r = http_global_init(&reason)) != 0)
		return push_fail(p, r, reason,
		                 r == PG_ERR_CONFIG
		                     ? "SSLKEYLOGFILE is set in the environment"
		                     : "libcurl initialisation failed");
	hc.ca_file = cfg->ca_file;
	hc.proxy = cfg->proxy;
	hc.connect_timeout_ms = cfg->connect_timeout_ms;
	if ((r = http_client_init(&p->http, &hc)) != 0)
		return push_fail(p, r, "internal", "curl_easy_init failed");
	p->res.reason = NULL;
	if (cfg->provider == CONF_PROVIDER_DUO)
		r = push_duo_start(p);
	else
		r = push_pi_start(p);
	return r;
}

void push_wait(struct push *p)
{
	int r;

	while (p->res.outcome == PUSH_PENDING) {
		if (time_left_ms(p->deadline) == 0) {
			p->res.outcome = PUSH_TIMEOUT;
			p->res.reason = "push-timeout";
			break;
		}
		r = p->cfg->provider == CONF_PROVIDER_DUO ? push_duo_poll(p)
		                                          : push_pi_poll(p);
		/* Duo holds auth_status until something changes (long
		 * poll): the deadline passing inside it is the user not
		 * answering. privacyIDEA answers polls at once, so there a
		 * hanging request stays a provider failure. */
		if (r == PG_ERR_TIMEOUT &&
		    p->cfg->provider == CONF_PROVIDER_DUO &&
		    time_left_ms(p->deadline) == 0) {
			p->res.outcome = PUSH_TIMEOUT;
			p->res.reason = "push-timeout";
		}
		if (r != 0)
			break;
	}
}

void push_done(struct push *p)
{
	if (p->cfg != NULL && p->cfg->provider == CONF_PROVIDER_DUO)
		push_duo_done(p);
	else if (p->cfg != NULL &&
	         p->cfg->provider == CONF_PROVIDER_PRIVACYIDEA)
		push_pi_done(p);
	http_client_done(&p->http);
}
