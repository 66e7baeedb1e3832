/* SPDX-License-Identifier: BSD-3-Clause */
/* privacyIDEA push: /validate/check (PIN "" or none) -> push challenge ->
 * /validate/polltransaction -> finalizing /validate/check with the
 * transaction id; optionally as a service account (POST /auth -> JWT in
 * PI-Authorization). The reply decisions are exported for unit tests. */
#ifndef PHIGUARD_PAM_PUSH_PRIVACYIDEA_H
#define PHIGUARD_PAM_PUSH_PRIVACYIDEA_H

#include <stddef.h>

#include "push.h"

#define PI_TXID_MAX 64

/*
 * Parse a privacyIDEA reply (JSON even on a non-200 status). Returns 0
 * with *root (release with push_pi_json_free) when the body is a JSON
 * object with a "result" object whose "status" is true; otherwise
 * PG_ERR_PROTO with p->res set: reasons "bad-reply" (not JSON, wrong
 * types), "http-status" (no JSON on a non-200), "auth-rejected" (HTTP
 * 401/403), "not-enrolled" (error 904, an unknown user: outcome
 * PUSH_REFUSED), "provider-error" (any other status:false).
 */
int push_pi_envelope(struct push *p, long status, const char *body,
                     void **root);
void push_pi_json_free(void *root);

/*
 * The first /validate/check: a push challenge -> PUSH_PENDING with the
 * transaction id copied to txid (PI_TXID_MAX bytes; digits only) and the
 * message (and a number to match, if any); value true -> PUSH_REFUSED
 * "provider-bypass" (never a pass); no push challenge -> PUSH_REFUSED
 * "not-enrolled". Returns 0 or PG_ERR_PROTO ("bad-reply").
 */
int push_pi_on_trigger(struct push *p, void *root, char *txid);

/* polltransaction: value true -> *answered = 1; challenge_status
 * declined/cancelled (or authentication DECLINED) -> PUSH_DENIED;
 * else pending. Returns 0 or PG_ERR_PROTO. */
int push_pi_on_poll(struct push *p, void *root, int *answered);

/*
 * The finalizing check (sent only once the poll said approved): value
 * true (authentication ACCEPT or absent) -> PUSH_APPROVED; DECLINED ->
 * PUSH_DENIED; anything else -> PUSH_REJECTED "provider-rejected" (the
 * server overruled the phone). Unless approved, p->res.message becomes
 * this reply's detail.message (or ""). Returns 0 or PG_ERR_PROTO.
 */
int push_pi_on_finalize(struct push *p, void *root);

/* The JWT of a POST /auth reply into out. Returns 0 or PG_ERR_PROTO. */
int push_pi_on_auth(struct push *p, void *root, char *out, size_t outsz);

/* The provider, called by push.c. */
int push_pi_start(struct push *p);
int push_pi_poll(struct push *p);
void push_pi_done(struct push *p);

#endif
