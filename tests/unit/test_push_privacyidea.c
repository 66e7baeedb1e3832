/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the decisions of pam/push_privacyidea.c on privacyIDEA
 * replies: the envelope (JSON also on errors, status false, error 904),
 * the push challenge, polling (declined / cancelled), finalizing, the
 * service account's token; missing fields and wrong types. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "pam/push.h"
#include "pam/push_privacyidea.h"

enum step { TRIGGER, POLL, FINALIZE, AUTH };

static int answered;
static char txid[PI_TXID_MAX];
static char token[128];

static int decide(struct push *p, long status, const char *body, enum step step)
{
	void *root = NULL;
	int r;

	memset(p, 0, sizeof(*p));
	answered = -1;
	txid[0] = token[0] = '\0';
	r = push_pi_envelope(p, status, body, &root);
	if (r != 0) {
		assert_non_null(p->res.reason);
		return r;
	}
	if (step == TRIGGER)
		r = push_pi_on_trigger(p, root, txid);
	else if (step == POLL)
		r = push_pi_on_poll(p, root, &answered);
	else if (step == FINALIZE)
		r = push_pi_on_finalize(p, root);
	else
		r = push_pi_on_auth(p, root, token, sizeof(token));
	push_pi_json_free(root);
	return r;
}

#define CHALLENGE(mc)                                                          \
	"{\"jsonrpc\":\"2.0\",\"result\":{\"status\":true,\"value\":false,"    \
	"\"authentication\":\"CHALLENGE\"},\"detail\":{\"transaction_id\":"    \
	"\"02659936574063359702\",\"message\":\"Please confirm the "           \
	"authentication on your mobile device! Please press: 42\","            \
	"\"multi_challenge\":[" mc "]}}"
#define PUSH_MC                                                                \
	"{\"transaction_id\":\"02659936574063359702\",\"type\":\"push\","      \
	"\"client_mode\":\"poll\"}"

static void test_envelope(void **state)
{
	struct push p;

	/* Error document on HTTP 400: unknown user. */
	assert_int_equal(
	    decide(&p, 400,
	           "{\"result\":{\"status\":false,\"error\":{\"code\":904,"
	           "\"message\":\"ERR904: The user can not be found\"}}}",
	           TRIGGER),
	    PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_REFUSED);
	assert_string_equal(p.res.reason, "not-enrolled");
	assert_string_equal(p.res.message, "ERR904: The user can not be found");
	/* Other errors: a provider error (failmode applies). */
	assert_int_equal(
	    decide(&p, 400,
	           "{\"result\":{\"status\":false,\"error\":{\"code\":905,"
	           "\"message\":\"ERR905: Missing parameter\"}}}",
	           TRIGGER),
	    PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_ERROR);
	assert_string_equal(p.res.reason, "provider-error");
	assert_int_equal(
	    decide(&p, 401,
	           "{\"result\":{\"status\":false,\"error\":{\"code\":4033}}}",
	           TRIGGER),
	    PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "auth-rejected");
	assert_int_equal(decide(&p, 500, "Internal Server Error", TRIGGER),
	                 PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "http-status");
	assert_int_equal(decide(&p, 200, "{not json", TRIGGER), PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "bad-reply");
	assert_int_equal(decide(&p, 200, "{\"result\":{}}", TRIGGER),
	                 PG_ERR_PROTO);
	assert_int_equal(
	    decide(&p, 200, "{\"result\":{\"status\":\"true\"}}", TRIGGER),
	    PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, "{\"result\":[true]}", TRIGGER),
	                 PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_ERROR);
}

static void test_trigger(void **state)
{
	struct push p;

	assert_int_equal(decide(&p, 200, CHALLENGE(PUSH_MC), TRIGGER), 0);
	assert_int_equal(p.res.outcome, PUSH_PENDING);
	assert_string_equal(txid, "02659936574063359702");
	assert_string_equal(p.res.number, "42");
	/* Only interactive challenges (an OTP to type): no push. */
	assert_int_equal(decide(&p, 200,
	                        CHALLENGE("{\"type\":\"push\",\"client_mode\":"
	                                  "\"interactive\"},{\"type\":"
	                                  "\"totp\"}"),
	                        TRIGGER),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_REFUSED);
	assert_string_equal(p.res.reason, "not-enrolled");
	/* Accepted on an empty pass: never a pass here. */
	assert_int_equal(decide(&p, 200,
	                        "{\"result\":{\"status\":true,\"value\":true,"
	                        "\"authentication\":\"ACCEPT\"}}",
	                        TRIGGER),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_REFUSED);
	assert_string_equal(p.res.reason, "provider-bypass");
	/* REJECT without a challenge. */
	assert_int_equal(
	    decide(&p, 200,
	           "{\"result\":{\"status\":true,\"value\":false},\"detail\":"
	           "{\"message\":\"wrong otp pin\"}}",
	           TRIGGER),
	    0);
	assert_int_equal(p.res.outcome, PUSH_REFUSED);
	/* Wrong types and odd transaction ids. */
	assert_int_equal(
	    decide(&p, 200, "{\"result\":{\"status\":true,\"value\":\"no\"}}",
	           TRIGGER),
	    PG_ERR_PROTO);
	assert_int_equal(
	    decide(&p, 200,
	           "{\"result\":{\"status\":true,\"value\":false},\"detail\":{"
	           "\"transaction_id\":\"12&x=1\",\"multi_challenge\":[" PUSH_MC
	           "]}}",
	           TRIGGER),
	    PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_ERROR);
}

#define POLLDOC(value, auth, cs)                                               \
	"{\"result\":{\"status\":true,\"value\":" value                        \
	",\"authentication\":\"" auth "\"},\"detail\":{\"challenge_status\":"  \
	"\"" cs "\"}}"

static void test_poll(void **state)
{
	struct push p;

	assert_int_equal(
	    decide(&p, 200, POLLDOC("false", "REJECT", "pending"), POLL), 0);
	assert_int_equal(answered, 0);
	assert_int_equal(p.res.outcome, PUSH_PENDING);
	assert_int_equal(
	    decide(&p, 200, POLLDOC("true", "ACCEPT", "accept"), POLL), 0);
	assert_int_equal(answered, 1);
	assert_int_equal(p.res.outcome, PUSH_PENDING);
	assert_int_equal(
	    decide(&p, 200, POLLDOC("false", "DECLINED", "declined"), POLL), 0);
	assert_int_equal(p.res.outcome, PUSH_DENIED);
	assert_string_equal(p.res.reason, "push-denied");
	assert_int_equal(
	    decide(&p, 200, POLLDOC("false", "REJECT", "cancelled"), POLL), 0);
	assert_int_equal(p.res.outcome, PUSH_DENIED);
	/* Older servers: only the boolean. */
	assert_int_equal(
	    decide(&p, 200, "{\"result\":{\"status\":true,\"value\":false}}",
	           POLL),
	    0);
	assert_int_equal(p.res.outcome, PUSH_PENDING);
	assert_int_equal(
	    decide(&p, 200, "{\"result\":{\"status\":true}}", POLL),
	    PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_ERROR);
}

static void test_finalize(void **state)
{
	struct push p;

	assert_int_equal(
	    decide(&p, 200, POLLDOC("true", "ACCEPT", "accept"), FINALIZE), 0);
	assert_int_equal(p.res.outcome, PUSH_APPROVED);
	assert_int_equal(decide(&p, 200,
	                        "{\"result\":{\"status\":true,\"value\":true}}",
	                        FINALIZE),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_APPROVED);
	/* value true but an explicit non-ACCEPT: not approved, and (the
	 * poll said approved) the server's doing, not the user's. */
	assert_int_equal(
	    decide(&p, 200, POLLDOC("true", "CHALLENGE", "pending"), FINALIZE),
	    0);
	assert_int_equal(p.res.outcome, PUSH_REJECTED);
	assert_int_equal(
	    decide(&p, 200, POLLDOC("false", "REJECT", "pending"), FINALIZE),
	    0);
	assert_int_equal(p.res.outcome, PUSH_REJECTED);
	assert_string_equal(p.res.reason, "provider-rejected");
	assert_int_equal(
	    decide(&p, 200, POLLDOC("false", "DECLINED", "declined"), FINALIZE),
	    0);
	assert_int_equal(p.res.outcome, PUSH_DENIED);
	assert_string_equal(p.res.reason, "push-denied");
}

/* A rejection after approval shows the server's reason, sanitized, in
 * place of the trigger's challenge text (issue 11). */
static void test_finalize_message(void **state)
{
	struct push p;
	void *root = NULL;

	memset(&p, 0, sizeof(p));
	strcpy(p.res.message, "Please confirm the authentication on your "
	                      "mobile device!");
	assert_int_equal(
	    push_pi_envelope(&p, 200,
	                     "{\"result\":{\"status\":true,\"value\":false,"
	                     "\"authentication\":\"REJECT\"},\"detail\":{"
	                     "\"message\":\"Outside\\u001b[2J shift hours\"}}",
	                     &root),
	    0);
	assert_int_equal(push_pi_on_finalize(&p, root), 0);
	push_pi_json_free(root);
	assert_int_equal(p.res.outcome, PUSH_REJECTED);
	assert_null(strstr(p.res.message, "Please confirm"));
	assert_non_null(strstr(p.res.message, "shift hours"));
	assert_null(strchr(p.res.message, 0x1b));

	/* No message in the reply: none shown, rather than the stale one. */
	root = NULL;
	strcpy(p.res.message, "Please confirm");
	assert_int_equal(
	    push_pi_envelope(&p, 200,
	                     "{\"result\":{\"status\":true,\"value\":false}}",
	                     &root),
	    0);
	assert_int_equal(push_pi_on_finalize(&p, root), 0);
	push_pi_json_free(root);
	assert_int_equal(p.res.outcome, PUSH_REJECTED);
	assert_string_equal(p.res.message, "");
}

static void test_auth_token(void **state)
{
	struct push p;

	assert_int_equal(decide(&p, 200,
	                        "{\"result\":{\"status\":true,\"value\":1}}",
	                        FINALIZE),
	                 PG_ERR_PROTO);

	assert_int_equal(
	    decide(&p, 200,
	           "{\"result\":{\"status\":true,\"value\":{"
	           "\"token\":\"eyJ.abc.def\",\"role\":\"admin\"}}}",
	           AUTH),
	    0);
	assert_string_equal(token, "eyJ.abc.def");
	assert_int_equal(decide(&p, 200,
	                        "{\"result\":{\"status\":true,\"value\":{"
	                        "\"token\":\"a\\r\\nX-Evil: 1\"}}}",
	                        AUTH),
	                 PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200,
	                        "{\"result\":{\"status\":true,\"value\":{}}}",
	                        AUTH),
	                 PG_ERR_PROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope),
	    cmocka_unit_test(test_trigger),
	    cmocka_unit_test(test_poll),
	    cmocka_unit_test(test_finalize),
	    cmocka_unit_test(test_finalize_message),
	    cmocka_unit_test(test_auth_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
