/* SPDX-License-Identifier: BSD-3-Clause */
/* libcurl behind a small, hardened interface: one easy handle per push,
 * every option that matters set explicitly on every request. */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curlsafe.h"
#include "err.h"
#include "http.h"
#include "secret.h"
#include "timeutil.h"

/* What the callbacks collect for one request. */
struct collect {
	char *buf;
	size_t len, cap;
	int too_large;
	long retry_after;
	time_t date;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = PG_ERR_INTERNAL;

static void do_global_init(void)
{
	/* CURL_GLOBAL_DEFAULT also initialises OpenSSL, which OpenSSL 3
	 * does idempotently and thread-safely by itself. */
	init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
	                  ? 0
	                  : PG_ERR_INTERNAL;
}

int http_global_init(const char **reason)
{
	const curl_version_info_data *v;

	/*
	 * libcurl opens the file named by SSLKEYLOGFILE at initialisation
	 * and appends every TLS secret to it. In su or sudo that is the
	 * caller's choice of file, written as root: refuse.
	 */
	if (getenv("SSLKEYLOGFILE") != NULL) {
		*reason = HTTP_R_UNSAFE_ENV;
		return PG_ERR_CONFIG;
	}
	/*
	 * curl_global_init is thread-safe only when libcurl was built
	 * with CURL_VERSION_THREADSAFE (Debian 12's is); without it, a
	 * host program calling it from another thread at the same moment
	 * could race with us, which is the host's business as libcurl
	 * documents, and pthread_once still keeps our own calls (several
	 * PAM handles in threads) to exactly one. It runs once per
	 * process and is never undone: see http.h. curl_version_info is
	 * safe before curl_global_init.
	 */
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || (v->features & CURL_VERSION_SSL) == 0) {
		*reason = HTTP_R_INTERNAL;
		return PG_ERR_INTERNAL;
	}
	if (pthread_once(&init_once, do_global_init) != 0 || init_result != 0) {
		*reason = HTTP_R_INTERNAL;
		return PG_ERR_INTERNAL;
	}
	return 0;
}

int http_client_init(struct http_client *c, const struct http_cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->curl = curl_easy_init();
	return c->curl != NULL ? 0 : PG_ERR_NOMEM;
}

void http_client_done(struct http_client *c)
{
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

void http_resp_free(struct http_resp *resp)
{
	secret_free(resp->body, resp->len);
	memset(resp, 0, sizeof(*resp));
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct collect *col = user;
	size_t n = size * nmemb, cap;
	char *nb;

	if (n > HTTP_MAX_BODY - col->len) {
		col->too_large = 1;
		return 0; /* libcurl aborts the transfer */
	}
	if (col->len + n + 1 > col->cap) {
		cap = col->cap == 0 ? 4096 : col->cap;
		while (cap < col->len + n + 1)
			cap *= 2;
		if ((nb = malloc(cap)) == NULL)
			return 0;
		if (col->len > 0)
			memcpy(nb, col->buf, col->len);
		secret_free(col->buf, col->cap);
		col->buf = nb;
		col->cap = cap;
	}
	memcpy(col->buf + col->len, data, n);
	col->len += n;
	col->buf[col->len] = '\0';
	return n;
}

long http_parse_retry_after(const char *value, time_t now)
{
	const char *p = value;
	time_t t;
	long v = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		for (; *p >= '0' && *p <= '9'; p++) {
			if (v > 86400)
				return -1;
			v = v * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		return *p == '\0' && v <= 86400 ? v : -1;
	}
	t = curl_getdate(p, NULL);
	if (t == (time_t)-1)
		return -1;
	return t <= now ? 0 : (t - now > 86400 ? -1 : (long)(t - now));
}

/* Header "Name: value\r\n" (not NUL-terminated): the ones we use. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	struct collect *col = user;
	size_t n = size * nmemb, nlen;
	char val[128];
	const char *colon = memchr(data, ':', n);
	long ra;

	if (colon == NULL)
		return n;
	nlen = (size_t)(colon - data);
	if (n - nlen - 1 >= sizeof(val))
		return n;
	memcpy(val, colon + 1, n - nlen - 1);
	val[n - nlen - 1] = '\0';
	if ((nlen == 11 && strncasecmp(data, "Retry-After", 11) == 0) ||
	    (nlen == 13 && strncasecmp(data, "X-Retry-After", 13) == 0)) {
		if ((ra = http_parse_retry_after(val, time(NULL))) >= 0)
			col->retry_after = ra;
	} else if (nlen == 4 && strncasecmp(data, "Date", 4) == 0) {
		col->date = curl_getdate(val, NULL);
		if (col->date == (time_t)-1)
			col->date = 0;
	}
	return n;
}

static int is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

/* Every option, every time: nothing a previous request set survives. */
static int setup(struct http_client *c, const struct http_req *req,
                 struct curl_slist *hdrs, struct collect *col, int left)
{
	CURL *h = c->curl;
	int conn = c->cfg.connect_timeout_ms;
	CURLcode rc = CURLE_OK;

	if (conn <= 0 || conn > left)
		conn = left;
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (rc == CURLE_OK)                                            \
			rc = curl_easy_setopt(h, opt, val);                    \
	} while (0)
	/* The environment's proxies, which the user controls, never apply. */
	rc = curlsafe_setopts(h, c->cfg.ca_file, c->cfg.proxy);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)conn);
	SET(CURLOPT_TIMEOUT_MS, (long)left);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_MAX_BODY);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, col);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, col);
	SET(CURLOPT_ERRORBUFFER, c->detail);
	if (strcmp(req->method, "POST") == 0) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		SET(CURLOPT_POSTFIELDSIZE,
		    (long)(req->body != NULL ? strlen(req->body) : 0));
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
#undef SET
	return rc == CURLE_OK ? 0 : PG_ERR_INTERNAL;
}

static void free_headers(struct curl_slist *l)
{
	struct curl_slist *p;

	/* Authorization headers are secrets: wipe libcurl's copies. */
	for (p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			secret_wipe(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

int http_request(struct http_client *c, const struct http_req *req,
                 int64_t deadline, struct http_resp *resp, const char **reason)
{
	struct collect col;
	struct curl_slist *hdrs = NULL, *n;
	int left = time_left_ms(deadline), r;
	CURLcode rc;
	long status = 0;
	size_t i;

	memset(&col, 0, sizeof(col));
	col.retry_after = -1;
	c->detail[0] = '\0';
	*reason = HTTP_R_INTERNAL;
	if (left <= 0) {
		*reason = HTTP_R_TIMEOUT;
		return PG_ERR_TIMEOUT;
	}
	/* No "Expect: 100-continue" round trip. */
	if ((hdrs = curl_slist_append(NULL, "Expect:")) == NULL) {
		r = PG_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < HTTP_MAX_HEADERS && req->headers[i] != NULL; i++) {
		if ((n = curl_slist_append(hdrs, req->headers[i])) == NULL) {
			r = PG_ERR_NOMEM;
			goto out;
		}
		hdrs = n;
	}
	if ((r = setup(c, req, hdrs, &col, left)) != 0)
		goto out;
	rc = curl_easy_perform(c->curl);
	if (rc == CURLE_OK) {
		(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
		                        &status);
		resp->status = status;
		resp->body = col.buf;
		resp->len = col.len;
		resp->retry_after = col.retry_after;
		resp->date = col.date;
		if (resp->body == NULL && (resp->body = calloc(1, 1)) == NULL) {
			r = PG_ERR_NOMEM;
			goto out;
		}
		col.buf = NULL;
		r = 0;
	} else if (col.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		*reason = HTTP_R_TOO_LARGE;
		r = PG_ERR_TOOLONG;
	} else if (rc == CURLE_OPERATION_TIMEDOUT &&
	           time_left_ms(deadline) == 0) {
		*reason = HTTP_R_TIMEOUT;
		r = PG_ERR_TIMEOUT;
	} else if (is_tls_error(rc)) {
		*reason = HTTP_R_TLS;
		r = PG_ERR_UNAVAIL;
	} else if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR) {
		r = PG_ERR_NOMEM;
	} else {
		/* Refused, unresolvable, reset, closed without an answer,
		 * or the connect phase ran out of its own bound. */
		*reason = HTTP_R_UNREACHABLE;
		r = PG_ERR_UNAVAIL;
	}
	if (r != 0 && c->detail[0] == '\0')
		snprintf(c->detail, sizeof(c->detail), "%s",
		         curl_easy_strerror(rc));
out:
	/* The handle must not keep pointers into this call's data. */
	(void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	(void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	(void)curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, NULL);
	(void)curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, NULL);
	free_headers(hdrs);
	secret_free(col.buf, col.cap);
	return r;
}

void http_urlencode(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char b;
	char esc[3];
	size_t i;

	for (i = 0; i < len; i++) {
		b = (unsigned char)s[i];
		if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
		    (b >= '0' && b <= '9') || b == '_' || b == '.' ||
		    b == '-' || b == '~') {
			strbuf_putc(sb, (char)b);
		} else {
			esc[0] = '%';
			esc[1] = hex[b >> 4];
			esc[2] = hex[b & 0xf];
			strbuf_put(sb, esc, 3);
		}
	}
}
