/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pamloop: TOTP logins in one process, through libpam and the module as a
 * PAM application loads them (under pam_wrapper for the service files).
 *
 *   pamloop SERVICE USER_FMT FIRST LAST SECRET_BASE32
 *     For each i in FIRST..LAST: pam_start(SERVICE, USER_FMT % i), then
 *     pam_authenticate answering the current TOTP code of SECRET (SHA1,
 *     6 digits, 30 s), then pam_acct_mgmt; pam_end. Each user logs in
 *     once, so no code is a replay. Prints one line per login:
 *     "auth_us= acct_us= total_us= rc_auth= rc_acct=".
 */
#include <liboath/oath.h>
#include <security/pam_appl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char code[16];

static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)arg;
	if (r == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(code);
	*resp = r;
	return PAM_SUCCESS;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct pam_conv pc = {conv, NULL};
	char *secret = NULL, user[64];
	size_t secretlen = 0;
	long i, first, last;
	pam_handle_t *h;
	int64_t t0, t1, t2;
	int ra, rc;

	if (argc != 6) {
		fprintf(stderr, "usage: pamloop SERVICE USER_FMT FIRST LAST "
		                "SECRET_BASE32\n");
		return 2;
	}
	first = atol(argv[3]);
	last = atol(argv[4]);
	if (oath_init() != OATH_OK ||
	    oath_base32_decode(argv[5], strlen(argv[5]), &secret, &secretlen) !=
	        OATH_OK)
		return 2;
	for (i = first; i <= last; i++) {
		snprintf(user, sizeof(user), argv[2], i);
		if (oath_totp_generate(secret, secretlen, time(NULL), 30, 0, 6,
		                       code) != OATH_OK)
			return 2;
		if (pam_start(argv[1], user, &pc, &h) != PAM_SUCCESS)
			return 2;
		t0 = now_us();
		ra = pam_authenticate(h, 0);
		t1 = now_us();
		rc = pam_acct_mgmt(h, 0);
		t2 = now_us();
		pam_end(h, rc);
		printf("auth_us=%lld acct_us=%lld total_us=%lld rc_auth=%d "
		       "rc_acct=%d\n",
		       (long long)(t1 - t0), (long long)(t2 - t1),
		       (long long)(t2 - t0), ra, rc);
	}
	free(secret);
	oath_done();
	return 0;
}
