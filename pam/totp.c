/* SPDX-License-Identifier: BSD-3-Clause */
/* TOTP verification through liboath's validate4_callback, comparing each
 * candidate code in constant time. */
#include "config.h"

#include <string.h>
#include <liboath/oath.h>

#include "err.h"
#include "proto.h"
#include "secret.h"
#include "totp.h"

/* The answer under test, handed to liboath's compare callback. */
struct totp_cmp {
	const char *code;
};

int totp_init(void)
{
	return oath_init() == OATH_OK ? 0 : PG_ERR_INTERNAL;
}

void totp_done(void)
{
	(void)oath_done();
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

int totp_parse_answer(const char *answer, char *code)
{
	const char *start, *end;
	size_t len, i;
	int rc = PG_ERR_INVAL;

	if (answer == NULL ||
	    strnlen(answer, TOTP_MAX_ANSWER + 1) > TOTP_MAX_ANSWER)
		goto out;
	for (start = answer; is_space(*start); start++)
		;
	for (end = start + strlen(start); end > start && is_space(end[-1]);
	     end--)
		;
	len = (size_t)(end - start);
	if (len < TOTP_MIN_DIGITS || len > TOTP_MAX_DIGITS)
		goto out;
	for (i = 0; i < len; i++) {
		if (start[i] < '0' || start[i] > '9')
			goto out;
	}
	memcpy(code, start, len);
	code[len] = '\0';
	rc = 0;
out:
	if (rc != 0)
		secret_wipe(code, TOTP_MAX_DIGITS + 1);
	return rc;
}

/* liboath's strcmp-like callback: 0 on a match, 1 otherwise. */
static int cmp_otp(void *handle, const char *test_otp)
{
	const struct totp_cmp *c = handle;

	return secret_streq(c->code, test_otp) ? 0 : 1;
}

static int alg_flags(enum pg_token_alg alg)
{
	switch (alg) {
	case PG_ALG_SHA1:
		return 0;
	case PG_ALG_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case PG_ALG_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	default:
		return -1;
	}
}

/*
 * The window in steps for this token: no more steps than fit into
 * PG_PROTO_MAX_SKEW seconds, so that no step ahead starts beyond it (the
 * daemon refuses such claims, and its recovery floor relies on the bound,
 * proto.h). Steps behind can still start up to a period earlier than that:
 * within_skew() has the last word.
 */
static unsigned token_window(const struct pg_token *tok, unsigned window)
{
	unsigned max = PG_PROTO_MAX_SKEW / tok->period;

	return window < max ? window : max;
}

/*
 * The rule pam_phiguard(8) states: no accepted step starts more than
 * PG_PROTO_MAX_SKEW seconds before or after now. Counting steps alone
 * lets the oldest step of a full window start up to a period too early
 * (window=10 of 30 s, 20 s into a step: 320 s).
 */
static int within_skew(uint64_t step_start, time_t now)
{
	int64_t d = (int64_t)step_start - (int64_t)now;

	return d >= -PG_PROTO_MAX_SKEW && d <= PG_PROTO_MAX_SKEW;
}

/* 0 and *step_start on a match, PG_ERR_AUTH on none, PG_ERR_INTERNAL. */
static int check_token(const struct pg_token *tok, const char *code, time_t now,
                       unsigned window, uint64_t *step_start)
{
	struct totp_cmp cmp = {.code = code};
	uint64_t counter = 0;
	int flags, pos = 0, r;

	if ((flags = alg_flags(tok->alg)) < 0 || tok->period == 0)
		return PG_ERR_INTERNAL;
	r = oath_totp_validate4_callback(
	    (const char *)tok->secret, tok->secret_len, now, tok->period,
	    OATH_TOTP_DEFAULT_START_TIME, tok->digits,
	    token_window(tok, window), &pos, &counter, flags, cmp_otp, &cmp);
	if (r == OATH_INVALID_OTP)
		return PG_ERR_AUTH;
	if (r < 0)
		return PG_ERR_INTERNAL;
	/* liboath tries the nearest steps first, so a match out here means
	 * no nearer step matched: the code is simply too old. */
	if (!within_skew(counter * tok->period, now))
		return PG_ERR_AUTH;
	/* The daemon compares start times, so tokens of different periods
	 * can share one replay guard. */
	*step_start = counter * tok->period;
	return 0;
}

int totp_verify(const struct pg_token_list *list, const char *code, time_t now,
                unsigned window, uint64_t *step_start)
{
	struct pg_token dummy;
	uint64_t found = 0, s = 0;
	size_t i, len = strlen(code);
	int tried = 0, matched = 0, failed = 0, r;

	if (list->n == 0) {
		/* Same work as one real token, so timing does not reveal
		 * who is enrolled (OpenSSH's fake_password idea). */
		memset(&dummy, 0, sizeof(dummy));
		dummy.alg = PG_ALG_SHA1;
		dummy.digits = (unsigned)len;
		dummy.period = 30;
		dummy.secret_len = 20;
		(void)check_token(&dummy, code, now, window, &s);
		return PG_ERR_NOTFOUND;
	}
	for (i = 0; i < list->n; i++) {
		if (list->tok[i].digits != len)
			continue;
		tried = 1;
		r = check_token(&list->tok[i], code, now, window, &s);
		if (r == 0 && !matched) {
			matched = 1;
			found = s;
		} else if (r == PG_ERR_INTERNAL) {
			failed = 1;
		}
	}
	/* Fail closed: a liboath error on any token outranks a match. */
	if (failed)
		return PG_ERR_INTERNAL;
	if (matched) {
		*step_start = found;
		return 0;
	}
	return tried ? PG_ERR_AUTH : PG_ERR_INVAL;
}
