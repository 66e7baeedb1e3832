/* SPDX-License-Identifier: BSD-3-Clause */
/* The module's only HTTP client (libcurl), hardened for a library that runs
 * inside su, sshd and login: HTTPS only, no redirects, certificate and host
 * name always verified, the proxy from the configuration only (never from
 * the environment), replies capped, every request bounded by a deadline. */
#ifndef PHIGUARD_PAM_HTTP_H
#define PHIGUARD_PAM_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "strbuf.h"

#define HTTP_MAX_BODY    (64 * 1024) /* larger replies are an error */
#define HTTP_MAX_HEADERS 8           /* extra request headers */

/* Why a request failed: a short token for the log and the REPORT. */
#define HTTP_R_UNREACHABLE "provider-unreachable" /* DNS, refused, reset */
#define HTTP_R_TLS         "tls"         /* handshake, certificate, name */
#define HTTP_R_TIMEOUT     "timeout"     /* the deadline passed */
#define HTTP_R_TOO_LARGE   "too-large"   /* reply over HTTP_MAX_BODY */
#define HTTP_R_STATUS      "http-status" /* set by callers for a bad status */
#define HTTP_R_INTERNAL    "internal"    /* libcurl setup, memory */
#define HTTP_R_UNSAFE_ENV  "unsafe-env"  /* SSLKEYLOGFILE is set */

struct http_cfg {
	const char *ca_file;    /* "" = the system CA store; borrowed */
	const char *proxy;      /* "" = no proxy at all; borrowed */
	int connect_timeout_ms; /* per request, further bounded by the deadline
	                         */
};

/* One connection cache (a libcurl easy handle) for one push. */
struct http_client {
	void *curl; /* CURL *, kept out of this header */
	struct http_cfg cfg;
	char detail[256]; /* libcurl's text for the last failure, or "" */
};

struct http_req {
	const char *method; /* "GET" or "POST" */
	const char *url;    /* https://... with the query for a GET */
	const char *body;   /* POST: application/x-www-form-urlencoded */
	const char *headers[HTTP_MAX_HEADERS]; /* "Name: value", NULL-ended;
	                                          may hold secrets (wiped) */
};

struct http_resp {
	long status; /* HTTP status */
	char *body;  /* malloc'ed, NUL-terminated, len bytes */
	size_t len;
	long retry_after; /* seconds from Retry-After/X-Retry-After, or -1 */
	time_t date;      /* the Date header, or 0 */
};

/*
 * Initialise libcurl for this process once (thread-safe when libcurl says
 * it is, CURL_VERSION_THREADSAFE; otherwise under a mutex). libcurl is
 * never cleaned up: the module cannot know whether the host program (or
 * another library in it) still uses libcurl or OpenSSL, and a second
 * curl_global_init after a cleanup is not safe in a running program.
 * Refuses (PG_ERR_CONFIG, reason HTTP_R_UNSAFE_ENV) when SSLKEYLOGFILE is
 * set: libcurl would write the TLS secrets of this (possibly setuid)
 * process to a file of the caller's choosing. Returns 0 or a pg_err with
 * *reason set.
 */
int http_global_init(const char **reason);

/* Set up *c (no network yet). Returns 0 or PG_ERR_NOMEM. */
int http_client_init(struct http_client *c, const struct http_cfg *cfg);

/* Close connections and free the handle. Accepts a zeroed *c. */
void http_client_done(struct http_client *c);

/*
 * Perform req. The connect phase is bounded by min(connect_timeout,
 * time left) and the whole request by deadline (a time_mono_ms() value).
 * Returns 0 with *resp filled for ANY HTTP status (the caller judges it;
 * free with http_resp_free), or a pg_err with *reason set:
 * PG_ERR_UNAVAIL (HTTP_R_UNREACHABLE or HTTP_R_TLS), PG_ERR_TIMEOUT,
 * PG_ERR_TOOLONG (HTTP_R_TOO_LARGE), PG_ERR_NOMEM / PG_ERR_INTERNAL.
 */
int http_request(struct http_client *c, const struct http_req *req,
                 int64_t deadline, struct http_resp *resp, const char **reason);

/* Free (and wipe) a response; accepts a zeroed one. */
void http_resp_free(struct http_resp *resp);

/*
 * A Retry-After value: delta seconds ("120") or an HTTP date, relative to
 * now. Returns seconds >= 0, or -1 if the value is unusable.
 */
long http_parse_retry_after(const char *value, time_t now);

/*
 * Append len bytes of s percent-encoded to sb: letters, digits and "_.-~"
 * stay, every other byte becomes %XX (upper-case hex). An overflow is
 * remembered by sb (strbuf_finish).
 */
void http_urlencode(struct strbuf *sb, const char *s, size_t len);

#endif
