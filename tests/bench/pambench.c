/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pambench: PAM stages in-process, in a loop, timed (tests/bench/run.sh).
 * One harness for every module compared (pam_phiguard, pam_sss, pam_oath):
 * run under pam_wrapper, it reads SERVICE from PAM_WRAPPER_SERVICE_DIR.
 *
 *   pambench [-n COUNT] [-w WARMUP] [-s FIRST] [-o OPS] [-k BASE32]
 *            [-a ANSWER] [-r SRC:DST] SERVICE USER
 *     Each cycle is pam_start, the OPS in order (a comma list of auth and
 *     acct; default acct), pam_end, and is timed as a whole. "%d" in USER
 *     becomes the cycle's number (FIRST, FIRST+1, ...; warm-up cycles
 *     included), so every cycle may be another user. Prompts are answered
 *     with ANSWER, or with the current TOTP code (SHA1, 6 digits, 30 s) of
 *     the secret BASE32 (-k). -r copies SRC over DST before every cycle,
 *     untimed (pam_oath's usersfile back to its first state, so its one
 *     user's code is new to it every time). WARMUP cycles (default 1) run
 *     first and are not recorded.
 *     Prints: cycles= errors= p50_us= p99_us= mean_us=
 *     (the first failure's PAM message on stderr). Exit 0 unless pambench
 *     itself failed; failed cycles are counted, not fatal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <liboath/oath.h>
#include <security/pam_appl.h>

struct answers {
	const char *fixed;
	char *secret; /* raw bytes of -k */
	size_t secret_len;
};

static void die(const char *what)
{
	fprintf(stderr, "pambench: %s\n", what);
	exit(2);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int current_code(const struct answers *a, char code[7])
{
	return oath_totp_generate(a->secret, a->secret_len, time(NULL), 30, 0,
	                          6, code) == OATH_OK
	           ? 0
	           : -1;
}

/* Every prompt gets the answer; messages are ignored. */
static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *data)
{
	const struct answers *a = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	char code[7];
	int i;

	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (a->secret) {
			if (current_code(a, code) != 0)
				goto fail;
			r[i].resp = strdup(code);
		} else {
			r[i].resp = strdup(a->fixed ? a->fixed : "");
		}
		if (!r[i].resp)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

static void copy_file(const char *src, const char *dst)
{
	char buf[8192];
	ssize_t n;
	int in = open(src, O_RDONLY);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (in < 0 || out < 0)
		die("cannot open the -r files");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("cannot write the -r copy");
	close(in);
	close(out);
}

/* One cycle; PAM_SUCCESS or the first failing op's code (named in *op). */
static int cycle(const char *service, const char *user, const char *ops,
                 struct pam_conv *pc, const char **op)
{
	pam_handle_t *pamh = NULL;
	char list[64], *save = NULL, *tok;
	int rc = pam_start(service, user, pc, &pamh);

	*op = "start";
	if (rc != PAM_SUCCESS)
		return rc;
	snprintf(list, sizeof(list), "%s", ops);
	for (tok = strtok_r(list, ",", &save); tok && rc == PAM_SUCCESS;
	     tok = strtok_r(NULL, ",", &save)) {
		*op = strcmp(tok, "auth") == 0 ? "auth" : "acct";
		rc = strcmp(tok, "auth") == 0 ? pam_authenticate(pamh, 0)
		                              : pam_acct_mgmt(pamh, 0);
	}
	pam_end(pamh, rc);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct answers ans = {0};
	struct pam_conv pc = {conv, &ans};
	long count = 100, warmup = 1, first = 0, i, errors = 0;
	const char *ops = "acct", *copy = NULL;
	char src[1024] = "", *dst = NULL, user[256];
	double *lat, sum = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:w:s:o:k:a:r:")) != -1) {
		switch (opt) {
		case 'n':
			count = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		case 's':
			first = atol(optarg);
			break;
		case 'o':
			ops = optarg;
			break;
		case 'a':
			ans.fixed = optarg;
			break;
		case 'k':
			if (oath_init() != OATH_OK ||
			    oath_base32_decode(optarg, strlen(optarg),
			                       &ans.secret,
			                       &ans.secret_len) != OATH_OK)
				die("bad -k secret");
			break;
		case 'r':
			copy = optarg;
			break;
		default:
			die("bad option (see the comment at the top)");
		}
	}
	if (argc - optind != 2 || count < 1 || warmup < 0)
		die("usage: pambench [options] SERVICE USER");
	if (copy) {
		snprintf(src, sizeof(src), "%s", copy);
		dst = strchr(src, ':');
		if (!dst)
			die("-r wants SRC:DST");
		*dst++ = '\0';
	}
	lat = calloc((size_t)count, sizeof(*lat));
	if (!lat)
		die("out of memory");
	for (i = 0; i < warmup + count; i++) {
		const char *op;
		double t0;
		int rc;

		if (dst)
			copy_file(src, dst);
		snprintf(user, sizeof(user), argv[optind + 1],
		         (int)(first + i));
		t0 = now_us();
		rc = cycle(argv[optind], user, ops, &pc, &op);
		if (i >= warmup) {
			lat[i - warmup] = now_us() - t0;
			sum += lat[i - warmup];
		}
		if (rc != PAM_SUCCESS && errors++ == 0)
			fprintf(stderr, "pambench: %s %s: %s\n", user, op,
			        pam_strerror(NULL, rc));
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
	printf("cycles=%ld errors=%ld p50_us=%.0f p99_us=%.0f mean_us=%.0f\n",
	       count, errors, lat[count / 2], lat[(count * 99) / 100],
	       sum / (double)count);
	free(lat);
	free(ans.secret);
	return 0;
}
