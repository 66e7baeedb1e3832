/* SPDX-License-Identifier: BSD-3-Clause */
/* The libcurl options every phiguard HTTPS request carries, in one place:
 * the module's push client (pam/http.c) and the daemon's alert webhook
 * (daemon/detect/webhook.c) must never differ on these. */
#ifndef PHIGUARD_COMMON_CURLSAFE_H
#define PHIGUARD_COMMON_CURLSAFE_H

#include <curl/curl.h>

/*
 * On h: HTTPS only, also after a redirect, and no redirects followed;
 * peer certificate and host name always verified (no way to turn that
 * off), TLS 1.2 or later; ca_file ("" = the system store) REPLACES the
 * system store; proxy ("" = none) set explicitly so that http(s)_proxy,
 * ALL_PROXY and NO_PROXY from the environment never apply; no .netrc; no
 * signals (threads, and a PAM host's handlers); our user agent. Returns
 * CURLE_OK or the first failing option's code.
 */
CURLcode curlsafe_setopts(CURL *h, const char *ca_file, const char *proxy);

#endif
