/* SPDX-License-Identifier: BSD-3-Clause */
/* privacyIDEA's push flow (see the protocol notes): trigger, poll,
 * finalize; JSON is parsed even on error statuses, as the server sends
 * its error document with them. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http.h"
#include "push_privacyidea.h"
#include "safefile.h"
#include "secret.h"
#include "strbuf.h"
#include "timeutil.h"

#define PI_FORM_MAX 2048
#define PI_JWT_MAX  4096
#define PI_POLL_MS  1000
#define PI_PASS_MAX 512

struct pi_state {
	char txid[PI_TXID_MAX];
	char auth_hdr[PI_JWT_MAX + 32]; /* "PI-Authorization: JWT", wiped */
	int have_auth;
};

void push_pi_json_free(void *root)
{
	if (root != NULL)
		json_decref(root);
}

static const char *jstr(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int push_pi_envelope(struct push *p, long status, const char *body,
                     void **root_out)
{
	json_t *root, *result, *st, *err, *code;
	json_error_t jerr;
	const char *msg;

	root = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		if (status == 401 || status == 403)
			return push_fail(p, PG_ERR_PROTO, "auth-rejected",
			                 "HTTP %ld, no JSON", status);
		return push_fail(p, PG_ERR_PROTO,
		                 status != 200 ? "http-status" : "bad-reply",
		                 "HTTP %ld, not a JSON object", status);
	}
	result = json_object_get(root, "result");
	st = json_object_get(result, "status");
	if (!json_is_object(result) || !json_is_boolean(st)) {
		json_decref(root);
		return push_fail(p, PG_ERR_PROTO,
		                 status != 200 ? "http-status" : "bad-reply",
		                 "HTTP %ld, no result.status", status);
	}
	if (json_is_true(st)) {
		*root_out = root;
		return 0;
	}
	err = json_object_get(result, "error");
	code = json_object_get(err, "code");
	if ((msg = jstr(err, "message")) != NULL)
		push_set_text(p->res.message, sizeof(p->res.message), msg);
	if (json_is_integer(code) && json_integer_value(code) == 904) {
		json_decref(root);
		push_fail(p, PG_ERR_PROTO, "not-enrolled", "error 904");
		p->res.outcome = PUSH_REFUSED;
		return PG_ERR_PROTO;
	}
	json_decref(root);
	if (status == 401 || status == 403)
		return push_fail(p, PG_ERR_PROTO, "auth-rejected",
		                 "HTTP %ld, status false", status);
	return push_fail(p, PG_ERR_PROTO, "provider-error",
	                 "HTTP %ld, status false", status);
}

/* A push entry of multi_challenge that is polled, not typed. */
static int has_push_challenge(json_t *detail)
{
	json_t *mc = json_object_get(detail, "multi_challenge"), *c;
	const char *type, *mode;
	size_t i;

	if (!json_is_array(mc))
		return 0;
	json_array_foreach(mc, i, c)
	{
		type = jstr(c, "type");
		mode = jstr(c, "client_mode");
		if (type != NULL && strcmp(type, "push") == 0 &&
		    (mode == NULL || strcmp(mode, "interactive") != 0))
			return 1;
	}
	return 0;
}

int push_pi_on_trigger(struct push *p, void *rootv, char *txid)
{
	json_t *root = rootv, *result = json_object_get(root, "result");
	json_t *detail = json_object_get(root, "detail");
	json_t *value = json_object_get(result, "value");
	const char *tid, *msg;
	size_t i, len;

	if (!json_is_boolean(value))
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "check: no boolean result.value");
	if ((msg = jstr(detail, "message")) != NULL) {
		push_set_text(p->res.message, sizeof(p->res.message), msg);
		push_find_number(p->res.message, p->res.number,
		                 sizeof(p->res.number));
	}
	p->res.outcome = PUSH_REFUSED;
	/* Accepted with an empty pass (passthru and similar policies):
	 * that is no second factor, so it is never a pass here. */
	if (json_is_true(value)) {
		p->res.reason = "provider-bypass";
		return 0;
	}
	tid = jstr(detail, "transaction_id");
	if (tid == NULL || !has_push_challenge(detail)) {
		p->res.reason = "not-enrolled";
		return 0;
	}
	len = strlen(tid);
	if (len == 0 || len >= PI_TXID_MAX)
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "check: bad transaction_id");
	for (i = 0; i < len; i++)
		if (tid[i] < '0' || tid[i] > '9')
			return push_fail(p, PG_ERR_PROTO, "bad-reply",
			                 "check: transaction_id not digits");
	memcpy(txid, tid, len + 1);
	p->res.outcome = PUSH_PENDING;
	p->res.reason = NULL;
	return 0;
}

int push_pi_on_poll(struct push *p, void *rootv, int *answered)
{
	json_t *root = rootv, *result = json_object_get(root, "result");
	json_t *value = json_object_get(result, "value");
	const char *auth = jstr(result, "authentication");
	const char *cs =
	    jstr(json_object_get(root, "detail"), "challenge_status");

	if (!json_is_boolean(value))
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "polltransaction: no boolean value");
	*answered = json_is_true(value);
	if (!*answered && ((auth != NULL && strcmp(auth, "DECLINED") == 0) ||
	                   (cs != NULL && (strcmp(cs, "declined") == 0 ||
	                                   strcmp(cs, "cancelled") == 0)))) {
		p->res.outcome = PUSH_DENIED;
		p->res.reason = "push-denied";
	}
	return 0;
}

int push_pi_on_finalize(struct push *p, void *rootv)
{
	json_t *root = rootv, *result = json_object_get(root, "result");
	json_t *value = json_object_get(result, "value");
	const char *auth = jstr(result, "authentication");
	const char *msg = jstr(json_object_get(root, "detail"), "message");

	if (!json_is_boolean(value))
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "finalize: no boolean value");
	/* An explicit authentication other than ACCEPT overrides value. */
	if (json_is_true(value) &&
	    (auth == NULL || strcmp(auth, "ACCEPT") == 0)) {
		p->res.outcome = PUSH_APPROVED;
		p->res.reason = "ok";
		return 0;
	}
	/*
	 * We finalize only after the poll said approved, so anything but a
	 * decline is the server overruling the phone. The trigger's text
	 * ("Please confirm ...") would be a stale reason: show this one.
	 */
	push_set_text(p->res.message, sizeof(p->res.message),
	              msg != NULL ? msg : "");
	if (auth != NULL && strcmp(auth, "DECLINED") == 0) {
		p->res.outcome = PUSH_DENIED;
		p->res.reason = "push-denied";
	} else {
		p->res.outcome = PUSH_REJECTED;
		p->res.reason = "provider-rejected";
		snprintf(p->res.detail, sizeof(p->res.detail),
		         "finalizing check not accepted after approval");
	}
	return 0;
}

int push_pi_on_auth(struct push *p, void *rootv, char *out, size_t outsz)
{
	json_t *root = rootv;
	json_t *value =
	    json_object_get(json_object_get(root, "result"), "value");
	const char *tok = jstr(value, "token");
	size_t i, len;

	if (tok == NULL || (len = strlen(tok)) == 0 || len >= outsz)
		return push_fail(p, PG_ERR_PROTO, "bad-reply",
		                 "auth: no usable token");
	/* It goes into a header: no control bytes, blanks or quotes. */
	for (i = 0; i < len; i++)
		if ((unsigned char)tok[i] <= 0x20 || tok[i] == 0x7f)
			return push_fail(p, PG_ERR_PROTO, "bad-reply",
			                 "auth: token has odd bytes");
	memcpy(out, tok, len + 1);
	return 0;
}

/* Append "&key=value" (or "key=value" at the start) percent-encoded. */
static void form_add(struct strbuf *sb, const char *key, const char *value)
{
	if (strbuf_len(sb) > 0)
		strbuf_putc(sb, '&');
	http_urlencode(sb, key, strlen(key));
	strbuf_putc(sb, '=');
	http_urlencode(sb, value, strlen(value));
}

/* One call to base url + path; *root on success. */
static int pi_call(struct push *p, const char *method, const char *path,
                   const char *form, void **root)
{
	struct pi_state *st = p->state;
	char url[PI_FORM_MAX + 700];
	const char *base = p->cfg->url;
	size_t blen = strlen(base);
	struct http_req req;
	struct http_resp resp;
	int get = strcmp(method, "GET") == 0, r;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	r = snprintf(url, sizeof(url), "%.*s%s%s%s", (int)blen, base, path,
	             get ? "?" : "", get ? form : "");
	if (r < 0 || (size_t)r >= sizeof(url))
		return push_fail(p, PG_ERR_TOOLONG, "internal", "URL too long");
	req.method = method;
	req.url = url;
	req.body = get ? NULL : form;
	if (st->have_auth)
		req.headers[0] = st->auth_hdr;
	if ((r = push_http(p, &req, &resp)) == 0)
		r = push_pi_envelope(p, resp.status, resp.body, root);
	http_resp_free(&resp);
	return r;
}

/* POST /auth as the service account: the JWT for PI-Authorization. */
static int service_login(struct push *p, struct pi_state *st)
{
	char err[256], form[PI_FORM_MAX], tok[PI_JWT_MAX];
	char *pw = NULL;
	size_t pwlen = 0;
	struct strbuf sb;
	void *root = NULL;
	int r;

	r = safefile_read(p->cfg->service_password_file,
	                  &safefile_secret_policy, &pw, &pwlen, err,
	                  sizeof(err));
	if (r != 0)
		return push_fail(p, r, "secret-file",
		                 "service_password_file: %s", err);
	while (pwlen > 0 && (pw[pwlen - 1] == '\n' || pw[pwlen - 1] == '\r'))
		pw[--pwlen] = '\0';
	if (pwlen == 0 || pwlen > PI_PASS_MAX || memchr(pw, '\n', pwlen)) {
		r = push_fail(p, PG_ERR_CONFIG, "secret-file",
		              "service_password_file: not one line of "
		              "1..%d bytes",
		              PI_PASS_MAX);
		goto out;
	}
	strbuf_init(&sb, form, sizeof(form));
	form_add(&sb, "username", p->cfg->service_user);
	form_add(&sb, "password", pw);
	if (p->cfg->realm[0] != '\0')
		form_add(&sb, "realm", p->cfg->realm);
	if ((r = strbuf_finish(&sb)) != 0) {
		r = push_fail(p, r, "internal", "form too long");
		goto out;
	}
	if ((r = pi_call(p, "POST", "/auth", form, &root)) != 0 ||
	    (r = push_pi_on_auth(p, root, tok, sizeof(tok))) != 0)
		goto out;
	snprintf(st->auth_hdr, sizeof(st->auth_hdr), "PI-Authorization: %s",
	         tok);
	st->have_auth = 1;
out:
	push_pi_json_free(root);
	secret_free(pw, pwlen + 1);
	secret_wipe(form, sizeof(form));
	secret_wipe(tok, sizeof(tok));
	return r;
}

/* user, realm, pass and (finalize) the transaction id. */
static int check_form(struct push *p, const char *pass, const char *txid,
                      char *form, size_t formsz)
{
	struct strbuf sb;
	int r;

	strbuf_init(&sb, form, formsz);
	form_add(&sb, "user", p->user);
	if (p->cfg->realm[0] != '\0')
		form_add(&sb, "realm", p->cfg->realm);
	form_add(&sb, "pass", pass);
	if (txid != NULL)
		form_add(&sb, "transaction_id", txid);
	if ((r = strbuf_finish(&sb)) != 0)
		return push_fail(p, r, "internal", "form too long");
	return 0;
}

int push_pi_start(struct push *p)
{
	struct pi_state *st;
	char form[PI_FORM_MAX];
	void *root = NULL;
	int r;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return push_fail(p, PG_ERR_NOMEM, "internal", "out of memory");
	p->state = st;
	if (p->cfg->service_user[0] != '\0' && (r = service_login(p, st)) != 0)
		return r;
	/* pass="" triggers the challenge of a push token without a PIN
	 * (privacyIDEA's sendEmptyPass); with trigger=password the user's
	 * password does, for an otppin=userstore policy (sendPassword). */
	if (p->cfg->trigger_password && p->pass == NULL) {
		p->res.outcome = PUSH_REFUSED;
		p->res.reason = "no-authtok";
		r = 0;
		goto out;
	}
	if ((r = check_form(p, p->cfg->trigger_password ? p->pass : "", NULL,
	                    form, sizeof(form))) != 0 ||
	    (r = pi_call(p, "POST", "/validate/check", form, &root)) != 0)
		goto out;
	r = push_pi_on_trigger(p, root, st->txid);
out:
	secret_wipe(form, sizeof(form));
	push_pi_json_free(root);
	return r;
}

static int finalize(struct push *p, struct pi_state *st)
{
	char form[PI_FORM_MAX];
	void *root = NULL;
	int r;

	/* Polling is not the decision: policies are applied only here. */
	if ((r = check_form(p, "", st->txid, form, sizeof(form))) != 0 ||
	    (r = pi_call(p, "POST", "/validate/check", form, &root)) != 0)
		goto out;
	r = push_pi_on_finalize(p, root);
out:
	push_pi_json_free(root);
	return r;
}

int push_pi_poll(struct push *p)
{
	struct pi_state *st = p->state;
	char q[PI_TXID_MAX + 32];
	void *root = NULL;
	int answered = 0, r;

	snprintf(q, sizeof(q), "transaction_id=%s", st->txid);
	if ((r = pi_call(p, "GET", "/validate/polltransaction", q, &root)) !=
	        0 ||
	    (r = push_pi_on_poll(p, root, &answered)) != 0)
		goto out;
	if (p->res.outcome != PUSH_PENDING)
		goto out;
	if (answered) {
		r = finalize(p, st);
		goto out;
	}
	(void)push_sleep(p, PI_POLL_MS);
out:
	push_pi_json_free(root);
	return r;
}

void push_pi_done(struct push *p)
{
	if (p->state != NULL)
		secret_free(p->state, sizeof(struct pi_state));
	p->state = NULL;
}
