/* SPDX-License-Identifier: BSD-3-Clause */
/* The push second factor, independent of the provider: settings, one push
 * from start to outcome within one monotonic deadline, and the helpers the
 * providers share (HTTP with 429 back-off, JSON, bounded sleeps). */
#ifndef PHIGUARD_PAM_PUSH_H
#define PHIGUARD_PAM_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "push_cfg.h"

enum push_outcome {
	PUSH_PENDING = 0, /* not decided yet */
	PUSH_APPROVED,    /* the user approved on the phone */
	PUSH_DENIED,      /* the user denied (reason push-denied) */
	PUSH_FRAUD,       /* the user reported fraud (push-fraud) */
	PUSH_TIMEOUT,     /* no answer before the deadline (push-timeout) */
	PUSH_REFUSED,     /* the provider will not push for this user:
	                     not enrolled, refused, bypass (never a pass) */
	PUSH_REJECTED,    /* approved on the phone, then refused by the
	                     provider's final check (a policy, an expired
	                     grace): its decision, not the user's */
	PUSH_ERROR,       /* the provider could not be used: unreachable,
	                     tls, timeout, bad reply (failmode applies) */
};

#define PUSH_TEXT_MAX 256

struct push_result {
	enum push_outcome outcome;
	const char *reason; /* static token for the log and the REPORT */
	char device[128];   /* sanitized; "" = unknown */
	char message[PUSH_TEXT_MAX]; /* sanitized provider text, or "" */
	char number[8];              /* number to match on the phone, or "" */
	char detail[256];            /* for the log only (no secrets) */
};

/* What one push needs; owned by the caller, set up by push_start. */
struct push {
	const struct push_cfg *cfg; /* borrowed */
	const char *user;           /* borrowed */
	const char *rhost;          /* borrowed; "" if unknown */
	const char *service;        /* borrowed */
	const char *pass; /* borrowed secret (trigger=password), or NULL */
	int64_t deadline; /* time_mono_ms() value */
	int64_t started;  /* time_mono_ms() at push_start */
	struct http_client http;
	struct push_result res;
	void *state; /* the provider's, freed (and wiped) by push_done */
};

/*
 * Start a push for user: read the provider's secret, contact it, send
 * the push (pass: the PAM_AUTHTOK for privacyIDEA with trigger=password,
 * borrowed, else NULL). On return p->res says what happened: outcome
 * PUSH_PENDING (a push is on its way; device/number/message may be set), or a
 * final outcome (REFUSED / ERROR / DENIED...) with reason. Always call
 * push_done afterwards. Returns 0 (pending or decided) or a pg_err for a
 * local failure (outcome PUSH_ERROR, reason set).
 */
int push_start(struct push *p, const struct push_cfg *cfg, const char *user,
               const char *rhost, const char *service, const char *pass);

/*
 * Wait for the answer until the deadline, polling the provider. On return
 * p->res.outcome is final (never PUSH_PENDING).
 */
void push_wait(struct push *p);

/* Stop polling, free the provider's state and the HTTP handle (wiping
 * secrets). Safe on a zeroed or finished *p. */
void push_done(struct push *p);

/* Milliseconds from push_start to now. */
long push_latency_ms(const struct push *p);

/* ---- for the providers (push_duo.c, push_privacyidea.c) ---- */

/* Outcome PUSH_ERROR with reason and a printf detail; returns err. */
int push_fail(struct push *p, int err, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * http_request with HTTP 429 handled: wait Retry-After (or 1, 2, 4 ...
 * s) and retry, as long as the wait ends before the deadline. Returns 0
 * with *resp (any other status), or an error via push_fail (reasons of
 * http.h, or "rate-limited").
 */
int push_http(struct push *p, const struct http_req *req,
              struct http_resp *resp);

/* Sleep ms (bounded by the deadline). Returns 0, or PG_ERR_TIMEOUT if
 * the deadline is reached before ms passed (having slept until it). */
int push_sleep(const struct push *p, int ms);

/* sanitize_text into a fixed buffer from a NUL-terminated string. */
void push_set_text(char *dst, size_t dstsz, const char *src);

/* The number (or letter) the user must pick on the phone, from provider
 * text: a word of 1..4 letters/digits after "Please press: "
 * (privacyIDEA's require_presence; case-insensitive), into out (outsz
 * bytes). No other wording counts. Returns 1 if found, else 0 (out
 * untouched). */
int push_find_number(const char *text, char *out, size_t outsz);

#endif
