/* SPDX-License-Identifier: BSD-3-Clause */
/* Hardened libcurl options shared by every HTTPS client of phiguard. */
#include "config.h"

#include "curlsafe.h"

CURLcode curlsafe_setopts(CURL *h, const char *ca_file, const char *proxy)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (rc == CURLE_OK)                                            \
			rc = curl_easy_setopt(h, opt, val);                    \
	} while (0)
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (ca_file != NULL && ca_file[0] != '\0') {
		SET(CURLOPT_CAINFO, ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	SET(CURLOPT_PROXY, proxy != NULL ? proxy : "");
	SET(CURLOPT_NOPROXY, "");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
#undef SET
	return rc;
}
