/* SPDX-License-Identifier: BSD-3-Clause */
/* Duo Auth API v2 push: ping (clock offset), preauth, auth factor=push
 * async=1, auth_status polling; requests signed with HMAC-SHA512 over the
 * v2 canonical string. The pure parts are exported for unit tests. */
#ifndef PHIGUARD_PAM_PUSH_DUO_H
#define PHIGUARD_PAM_PUSH_DUO_H

#include <stddef.h>
#include <time.h>

#include "push.h"

#define DUO_MAX_PARAMS 12
#define DUO_SIG_HEX    129 /* 128 hex digits + NUL */
#define DUO_DATE_MAX   40

struct duo_param {
	const char *key;
	const char *value;
};

/* RFC 2822 date of t in UTC with English names, as Duo signs it:
 * "Tue, 21 Aug 2012 17:29:18 -0000". out must hold DUO_DATE_MAX bytes. */
void push_duo_date(time_t t, char *out);

/*
 * The form encoding of params (n <= DUO_MAX_PARAMS): each key and value
 * percent-encoded (http_urlencode), "k=v" joined with '&', sorted by the
 * encoded key (then value). Used both on the wire and in the signature.
 * Returns 0 or PG_ERR_TOOLONG / PG_ERR_INVAL.
 */
int push_duo_params(const struct duo_param *params, size_t n, char *out,
                    size_t outsz);

/*
 * The v2 canonical string: date, upper-cased method, lower-cased host
 * without any ":port", path, encoded params, joined by LF. Returns 0 or
 * PG_ERR_TOOLONG.
 */
int push_duo_canon(const char *date, const char *method, const char *host,
                   const char *path, const char *params, char *out,
                   size_t outsz);

/* Lower-case hex HMAC-SHA512 (sha1 != 0: HMAC-SHA1) of canon with skey.
 * hex holds DUO_SIG_HEX bytes. Returns 0 or PG_ERR_INTERNAL. */
int push_duo_sign(const char *skey, size_t skeylen, const char *canon, int sha1,
                  char *hex);

/* "Basic " + base64(ikey ":" sighex) into out. Returns 0 or
 * PG_ERR_TOOLONG. */
int push_duo_authorization(const char *ikey, const char *sighex, char *out,
                           size_t outsz);

/*
 * The pushinfo value shown in Duo Mobile: "service=S&from=R" (each part
 * only when known, each value percent-encoded) into out; *pos = its
 * length (0: nothing to send). Returns 0 or PG_ERR_TOOLONG.
 */
int push_duo_pushinfo(const char *service, const char *rhost, char *out,
                      size_t outsz, size_t *pos);

/*
 * Parse a Duo reply (HTTP status, body). On {"stat":"OK","response":{..}}
 * returns 0 and *response (a borrowed json_t *, valid while *root lives)
 * as an object; *root must be released with push_duo_json_free. On a FAIL
 * envelope, or any other shape: PG_ERR_PROTO with p->res set (reason
 * "bad-reply", "http-status" or "auth-rejected" for 401, the sanitized
 * message in res.message).
 */
int push_duo_envelope(struct push *p, long status, const char *body,
                      void **root, void **response);
void push_duo_json_free(void *root);

/*
 * The decisions on parsed responses, exported for tests. Each returns 0
 * or PG_ERR_PROTO (reason "bad-reply") and fills p->res:
 *  preauth: "auth" with a push-capable device -> PUSH_PENDING (device
 *           name set); allow -> PUSH_REFUSED "provider-bypass" (never a
 *           pass); deny -> "provider-deny"; enroll -> "not-enrolled";
 *           auth without a push device -> "no-push-device".
 *  auth:    txid (copied into txid, txidsz bytes).
 *  status:  waiting -> PUSH_PENDING; allow -> PUSH_APPROVED; deny ->
 *           PUSH_DENIED, or PUSH_FRAUD / PUSH_TIMEOUT by status.
 */
int push_duo_on_preauth(struct push *p, void *response);
int push_duo_on_auth(struct push *p, void *response, char *txid, size_t txidsz);
int push_duo_on_status(struct push *p, void *response);

/* The provider, called by push.c. */
int push_duo_start(struct push *p);
int push_duo_poll(struct push *p);
void push_duo_done(struct push *p);

#endif
