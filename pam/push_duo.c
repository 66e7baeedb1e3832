/* SPDX-License-Identifier: BSD-3-Clause */
/* Duo Auth API v2 (see the protocol notes): signing, the three calls of a
 * push, and the decisions on their replies. */
#include "config.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http.h"
#include "push_duo.h"
#include "safefile.h"
#include "secret.h"
#include "strbuf.h"
#include "timeutil.h"

#define DUO_PARAMS_MAX 4096 /* encoded parameter string */
#define DUO_CANON_MAX  (DUO_PARAMS_MAX + 1024)
#define DUO_TXID_MAX   128
#define DUO_SKEY_MAX   256
/* Between auth_status calls that return at once. */
#define DUO_POLL_MIN_MS 1000

struct duo_state {
	char skey[DUO_SKEY_MAX]; /* wiped */
	size_t skeylen;
	long offset; /* Duo's clock minus ours, from ping */
	char txid[DUO_TXID_MAX];
};

void push_duo_date(time_t t, char *out)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
	                                   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	                                     "May", "Jun", "Jul", "Aug",
	                                     "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	/* Not strftime: %a and %b follow the host program's locale. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		snprintf(out, DUO_DATE_MAX, "Thu, 01 Jan 1970 00:00:00 -0000");
		return;
	}
	snprintf(out, DUO_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d -0000",
	         days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* One encoded "k=v" pair, for sorting. */
struct enc_pair {
	char *kv;
	size_t klen; /* bytes of the encoded key */
};

static int cmp_pair(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->kv, y->kv, n);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return strcmp(x->kv + x->klen, y->kv + y->klen);
}

int push_duo_params(const struct duo_param *params, size_t n, char *out,
                    size_t outsz)
{
	struct enc_pair pairs[DUO_MAX_PARAMS];
	char buf[DUO_PARAMS_MAX + DUO_MAX_PARAMS];
	size_t start, i;
	struct strbuf enc, sb;
	int r = 0;

	if (n > DUO_MAX_PARAMS || outsz == 0)
		return PG_ERR_INVAL;
	/* Encode every pair into buf, NUL-separated, then sort. */
	strbuf_init(&enc, buf, sizeof(buf));
	for (i = 0; i < n; i++) {
		start = strbuf_len(&enc);
		http_urlencode(&enc, params[i].key, strlen(params[i].key));
		pairs[i].klen = strbuf_len(&enc) - start;
		strbuf_putc(&enc, '=');
		http_urlencode(&enc, params[i].value, strlen(params[i].value));
		strbuf_put(&enc, "", 1);
		pairs[i].kv = buf + start;
	}
	if ((r = strbuf_finish(&enc)) != 0)
		goto out;
	qsort(pairs, n, sizeof(pairs[0]), cmp_pair);
	strbuf_init(&sb, out, outsz);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strbuf_putc(&sb, '&');
		strbuf_puts(&sb, pairs[i].kv);
	}
	r = strbuf_finish(&sb);
out:
	secret_wipe(buf, sizeof(buf));
	return r;
}

int push_duo_canon(const char *date, const char *method, const char *host,
                   const char *path, const char *params, char *out,
                   size_t outsz)
{
	size_t hlen = strcspn(host, ":"), i;
	struct strbuf sb;

	strbuf_init(&sb, out, outsz);
	strbuf_puts(&sb, date);
	strbuf_putc(&sb, '\n');
	for (i = 0; method[i] != '\0'; i++)
		strbuf_putc(&sb, (method[i] >= 'a' && method[i] <= 'z')
		                     ? (char)(method[i] - 'a' + 'A')
		                     : method[i]);
	strbuf_putc(&sb, '\n');
	for (i = 0; i < hlen; i++)
		strbuf_putc(&sb, (host[i] >= 'A' && host[i] <= 'Z')
		                     ? (char)(host[i] - 'A' + 'a')
		                     : host[i]);
	strbuf_putc(&sb, '\n');
	strbuf_puts(&sb, path);
	strbuf_putc(&sb, '\n');
	strbuf_puts(&sb, params);
	return strbuf_finish(&sb);
}

int push_duo_sign(const char *skey, size_t skeylen, const char *canon, int sha1,
                  char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int r = 0;

	if (HMAC(sha1 ? EVP_sha1() : EVP_sha512(), skey, (int)skeylen,
	         (const unsigned char *)canon, strlen(canon), md,
	         &mdlen) == NULL ||
	    mdlen * 2 + 1 > DUO_SIG_HEX) {
		r = PG_ERR_INTERNAL;
		goto out;
	}
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
out:
	secret_wipe(md, sizeof(md));
	return r;
}

int push_duo_authorization(const char *ikey, const char *sighex, char *out,
                           size_t outsz)
{
	char plain[64 + DUO_SIG_HEX + 2];
	int n, len, r = 0;

	n = snprintf(plain, sizeof(plain), "%s:%s", ikey, sighex);
	if (n < 0 || (size_t)n >= sizeof(plain) ||
	    outsz < 6 + 4 * (((size_t)n + 2) / 3) + 1) {
		r = PG_ERR_TOOLONG;
		goto out;
	}
	memcpy(out, "Basic ", 6);
	len = EVP_EncodeBlock((unsigned char *)out + 6,
	                      (const unsigned char *)plain, n);
	out[6 + len] = '\0';
out:
	secret_wipe(plain, sizeof(plain));
	return r;
}

void push_duo_json_free(void *root)
{
	if (root != NULL)
		json_decref(root);
}

static const char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int push_duo_envelope(struct push *p, long status, const char *body,
                      void **root_out, void **response_out)
{
	json_t *root, *resp;
	json_error_t jerr;
	const char *stat, *msg;

	root = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		if (status == 401)
			return push_fail(p, PG_ERR_PROTO, "auth-rejected",
			                 "HTTP 401, no JSON");
		if (status != 200)
			return push_fail(p, PG_ERR_PROTO, "http-status",
			                 "HTTP %ld", status);
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "not a JSON object");
	}
	stat = jstr(root, "stat");
	if (stat != NULL && strcmp(stat, "FAIL") == 0) {
		if ((msg = jstr(root, "message")) != NULL)
			push_set_text(p->res.message, sizeof(p->res.message),
			              msg);
		json_decref(root);
		/* 401: a wrong ikey, skey or clock. */
		return push_fail(p, PG_ERR_PROTO,
		                 status == 401   ? "auth-rejected"
		                 : status != 200 ? "http-status"
		                                 : "bad-reply",
		                 "HTTP %ld FAIL", status);
	}
	resp = json_object_get(root, "response");
	if (status != 200 || stat == NULL || strcmp(stat, "OK") != 0 ||
	    !json_is_object(resp)) {
		json_decref(root);
		return push_fail(p, PG_ERR_PROTO,
		                 status != 200 ? "http-status" : "bad-reply",
		                 "HTTP %ld, no OK response object", status);
	}
	*root_out = root;
	*response_out = resp;
	return 0;
}

/* A device that can take a push: its display name (or name). */
static int find_push_device(json_t *devices, const char **name)
{
	json_t *d, *caps, *c;
	size_t i, j;

	if (!json_is_array(devices))
		return 0;
	json_array_foreach(devices, i, d)
	{
		caps = json_object_get(d, "capabilities");
		if (!json_is_array(caps))
			continue;
		json_array_foreach(caps, j, c)
		{
			if (json_is_string(c) &&
			    strcmp(json_string_value(c), "push") == 0) {
				*name = jstr(d, "display_name");
				if (*name == NULL)
					*name = jstr(d, "name");
				return 1;
			}
		}
	}
	return 0;
}

static void take_status_msg(struct push *p, json_t *response)
{
	const char *m = jstr(response, "status_msg");

	if (m != NULL)
		push_set_text(p->res.message, sizeof(p->res.message), m);
}

int push_duo_on_preauth(struct push *p, void *response)
{
	const char *result = jstr(response, "result"), *dev = NULL;

	take_status_msg(p, response);
	if (result == NULL)
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "preauth: no result");
	p->res.reason = NULL;
	if (strcmp(result, "auth") == 0) {
		if (!find_push_device(json_object_get(response, "devices"),
		                      &dev)) {
			p->res.outcome = PUSH_REFUSED;
			p->res.reason = "no-push-device";
			return 0;
		}
		if (dev != NULL)
			push_set_text(p->res.device, sizeof(p->res.device),
			              dev);
		p->res.outcome = PUSH_PENDING;
		return 0;
	}
	p->res.outcome = PUSH_REFUSED;
	/* "allow" would let the user in with no second factor at all:
	 * phiguard never does that. */
	if (strcmp(result, "allow") == 0)
		p->res.reason = "provider-bypass";
	else if (strcmp(result, "deny") == 0)
		p->res.reason = "provider-deny";
	else if (strcmp(result, "enroll") == 0)
		p->res.reason = "not-enrolled";
	else
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "preauth: unknown result");
	return 0;
}

int push_duo_on_auth(struct push *p, void *response, char *txid, size_t txidsz)
{
	const char *t = jstr(response, "txid");
	size_t i, len;

	if (t == NULL || (len = strlen(t)) == 0 || len >= txidsz)
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "auth: no usable txid");
	/* It goes back into a URL: only what a UUID is made of. */
	for (i = 0; i < len; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      (t[i] >= 'a' && t[i] <= 'z') ||
		      (t[i] >= 'A' && t[i] <= 'Z') || t[i] == '-'))
			return push_fail(p, PG_ERR_PROTO, "bad-reply",
			                 "auth: txid has odd bytes");
	memcpy(txid, t, len + 1);
	return 0;
}

int push_duo_on_status(struct push *p, void *response)
{
	const char *result = jstr(response, "result");
	const char *status = jstr(response, "status");

	if (result == NULL)
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "auth_status: no result");
	take_status_msg(p, response);
	/* Decided on result; status only refines a deny. */
	if (strcmp(result, "waiting") == 0) {
		p->res.outcome = PUSH_PENDING;
	} else if (strcmp(result, "allow") == 0) {
		p->res.outcome = PUSH_APPROVED;
		p->res.reason = "ok";
	} else if (strcmp(result, "deny") == 0) {
		if (status != NULL && strcmp(status, "fraud") == 0) {
			p->res.outcome = PUSH_FRAUD;
			p->res.reason = "push-fraud";
		} else if (status != NULL && strcmp(status, "timeout") == 0) {
			p->res.outcome = PUSH_TIMEOUT;
			p->res.reason = "push-timeout";
		} else {
			p->res.outcome = PUSH_DENIED;
			p->res.reason = "push-denied";
		}
	} else {
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "auth_status: unknown result");
	}
	return 0;
}

int push_duo_pushinfo(const char *service, const char *rhost, char *out,
                      size_t outsz, size_t *pos)
{
	struct strbuf sb;

	strbuf_init(&sb, out, outsz);
	if (service != NULL && service[0] != '\0') {
		strbuf_puts(&sb, "service=");
		http_urlencode(&sb, service, strlen(service));
	}
	if (rhost != NULL && rhost[0] != '\0') {
		if (strbuf_len(&sb) > 0)
			strbuf_putc(&sb, '&');
		strbuf_puts(&sb, "from=");
		http_urlencode(&sb, rhost, strlen(rhost));
	}
	*pos = strbuf_len(&sb);
	return strbuf_finish(&sb);
}

/* One signed (or, for ping, unsigned) call; the root and response
 * objects on success. */
static int duo_call(struct push *p, const char *method, const char *path,
                    const struct duo_param *params, size_t n, int sign,
                    void **root, void **response)
{
	struct duo_state *st = p->state;
	char enc[DUO_PARAMS_MAX], canon[DUO_CANON_MAX], sig[DUO_SIG_HEX];
	char date[DUO_DATE_MAX], url[DUO_PARAMS_MAX + 600];
	char auth_hdr[300], date_hdr[DUO_DATE_MAX + 16];
	struct http_req req;
	struct http_resp resp;
	int r, get = strcmp(method, "GET") == 0;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	if ((r = push_duo_params(params, n, enc, sizeof(enc))) != 0) {
		r = push_fail(p, r, "internal", "parameters too long");
		goto out;
	}
	r = snprintf(url, sizeof(url), "https://%s%s%s%s", p->cfg->host, path,
	             get && enc[0] != '\0' ? "?" : "", get ? enc : "");
	if (r < 0 || (size_t)r >= sizeof(url)) {
		r = push_fail(p, PG_ERR_TOOLONG, "internal", "URL too long");
		goto out;
	}
	req.method = method;
	req.url = url;
	req.body = get ? NULL : enc;
	if (sign) {
		/* Our clock corrected by Duo's, as learned from ping. */
		push_duo_date(time(NULL) + st->offset, date);
		if ((r = push_duo_canon(date, method, p->cfg->host, path, enc,
		                        canon, sizeof(canon))) != 0 ||
		    (r = push_duo_sign(st->skey, st->skeylen, canon, 0, sig)) !=
		        0 ||
		    (r = push_duo_authorization(p->cfg->ikey, sig,
		                                auth_hdr + 15,
		                                sizeof(auth_hdr) - 15)) != 0) {
			r = push_fail(p, r, "internal", "cannot sign");
			goto out;
		}
		memcpy(auth_hdr, "Authorization: ", 15);
		snprintf(date_hdr, sizeof(date_hdr), "X-Duo-Date: %s", date);
		req.headers[0] = auth_hdr;
		req.headers[1] = date_hdr;
	}
	if ((r = push_http(p, &req, &resp)) != 0)
		goto out;
	r = push_duo_envelope(p, resp.status, resp.body, root, response);
out:
	http_resp_free(&resp);
	secret_wipe(sig, sizeof(sig));
	secret_wipe(auth_hdr, sizeof(auth_hdr));
	secret_wipe(canon, sizeof(canon));
	return r;
}

static int read_skey(struct push *p, struct duo_state *st)
{
	char err[256];
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = safefile_read(p->cfg->skey_file, &safefile_secret_policy, &buf,
	                  &len, err, sizeof(err));
	if (r != 0)
		return push_fail(p, r, "secret-file", "skey_file: %s", err);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	                   buf[len - 1] == ' '))
		len--;
	if (len == 0 || len >= sizeof(st->skey) || memchr(buf, '\n', len)) {
		r = push_fail(p, PG_ERR_CONFIG, "secret-file",
		              "skey_file: not one line of 1..%zu bytes",
		              sizeof(st->skey) - 1);
		goto out;
	}
	memcpy(st->skey, buf, len);
	st->skeylen = len;
out:
	secret_free(buf, len + 1);
	return r;
}

int push_duo_start(struct push *p)
{
	struct duo_state *st;
	struct duo_param prm[6];
	void *root = NULL, *resp = NULL;
	char info[600];
	json_t *t;
	size_t n = 0, pos = 0;
	int r;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return push_fail(p, PG_ERR_NOMEM, "internal", "out of memory");
	p->state = st;
	if ((r = read_skey(p, st)) != 0)
		return r;
	/* Unsigned; only for the clock offset. A ping that fails is a
	 * provider that fails. */
	if ((r = duo_call(p, "GET", "/auth/v2/ping", NULL, 0, 0, &root,
	                  &resp)) != 0)
		return r;
	t = json_object_get(resp, "time");
	if (json_is_integer(t))
		st->offset =
		    (long)(json_integer_value(t) - (json_int_t)time(NULL));
	push_duo_json_free(root);
	root = NULL;

	prm[n++] = (struct duo_param){"username", p->user};
	if ((r = duo_call(p, "POST", "/auth/v2/preauth", prm, n, 1, &root,
	                  &resp)) != 0 ||
	    (r = push_duo_on_preauth(p, resp)) != 0 ||
	    p->res.outcome != PUSH_PENDING)
		goto out;
	push_duo_json_free(root);
	root = NULL;

	n = 0;
	prm[n++] = (struct duo_param){"username", p->user};
	prm[n++] = (struct duo_param){"factor", "push"};
	prm[n++] = (struct duo_param){"device", "auto"};
	prm[n++] = (struct duo_param){"async", "1"};
	prm[n++] = (struct duo_param){"type", "Login"};
	/* Context shown in Duo Mobile: which service, from where. */
	if (push_duo_pushinfo(p->service, p->rhost, info, sizeof(info), &pos) ==
	        0 &&
	    pos > 0)
		prm[n++] = (struct duo_param){"pushinfo", info};
	if ((r = duo_call(p, "POST", "/auth/v2/auth", prm, n, 1, &root,
	                  &resp)) != 0 ||
	    (r = push_duo_on_auth(p, resp, st->txid, sizeof(st->txid))) != 0)
		goto out;
	p->res.outcome = PUSH_PENDING;
out:
	push_duo_json_free(root);
	return r;
}

int push_duo_poll(struct push *p)
{
	struct duo_state *st = p->state;
	struct duo_param prm[1] = {{"txid", st->txid}};
	void *root = NULL, *resp = NULL;
	int64_t t0 = time_mono_ms();
	int r, took;

	r = duo_call(p, "GET", "/auth/v2/auth_status", prm, 1, 1, &root, &resp);
	if (r == 0)
		r = push_duo_on_status(p, resp);
	push_duo_json_free(root);
	if (r != 0 || p->res.outcome != PUSH_PENDING)
		return r;
	/* auth_status long-polls at Duo; an answer that came back at once
	 * must not turn into a busy loop. */
	took = (int)(time_mono_ms() - t0);
	if (took < DUO_POLL_MIN_MS)
		(void)push_sleep(p, DUO_POLL_MIN_MS - took);
	return 0;
}

void push_duo_done(struct push *p)
{
	if (p->state != NULL)
		secret_free(p->state, sizeof(struct duo_state));
	p->state = NULL;
}
