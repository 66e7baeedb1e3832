/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for pam/push_duo.c: the form encoding, the v2 canonical string
 * and signatures against every worked example of the protocol notes (1.4),
 * the Authorization header, the date, and the decisions on Duo replies
 * (including FAIL envelopes, missing fields and wrong types). */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "pam/push.h"
#include "pam/push_duo.h"

#define IKEY "DIXYZV6YM8IFYVWBINCA"
#define SKEY "yWHSMhWucAcp7qvuH3HWTaSaKABs8Gaddiv1NIRo"
#define HOST "api-abcd1234.duosecurity.com"
#define DATE "Tue, 21 Aug 2012 17:29:18 -0000"

/* Canonical string for params, then both signatures, compared. */
static void check_vector(const char *method, const char *path,
                         const struct duo_param *prm, size_t n,
                         const char *want_params, const char *want_sha1,
                         const char *want_sha512)
{
	char enc[4096], canon[8192], want_canon[8192], sig[DUO_SIG_HEX];

	assert_int_equal(push_duo_params(prm, n, enc, sizeof(enc)), 0);
	assert_string_equal(enc, want_params);
	assert_int_equal(
	    push_duo_canon(DATE, method, HOST, path, enc, canon, sizeof(canon)),
	    0);
	snprintf(want_canon, sizeof(want_canon), "%s\n%s\n%s\n%s\n%s", DATE,
	         method, HOST, path, want_params);
	assert_string_equal(canon, want_canon);
	assert_int_equal(push_duo_sign(SKEY, strlen(SKEY), canon, 1, sig), 0);
	assert_string_equal(sig, want_sha1);
	assert_int_equal(push_duo_sign(SKEY, strlen(SKEY), canon, 0, sig), 0);
	assert_string_equal(sig, want_sha512);
}

static void test_e1_check(void **state)
{
	char canon[512], sig[DUO_SIG_HEX], hdr[512];

	check_vector("GET", "/auth/v2/check", NULL, 0, "",
	             "8e21b08d3d6065a9b1c8d081d811619c705eb0ad",
	             "8ec9ef5a14f275c41cfc0bb734ffc2644336e160d18c177390a1b7a9"
	             "c9857c64d456ba78eea7a3e4d04fe208914b3756d4ca81ae039c7dc3"
	             "6fe920500eecf8d3");
	/* The canonical string ends in "\n" after the path. */
	assert_int_equal(push_duo_canon(DATE, "GET", HOST, "/auth/v2/check", "",
	                                canon, sizeof(canon)),
	                 0);
	assert_int_equal(canon[strlen(canon) - 1], '\n');
	assert_int_equal(push_duo_sign(SKEY, strlen(SKEY), canon, 0, sig), 0);
	assert_int_equal(push_duo_authorization(IKEY, sig, hdr, sizeof(hdr)),
	                 0);
	assert_string_equal(
	    hdr, "Basic "
	         "RElYWVpWNllNOElGWVZXQklOQ0E6OGVjOWVmNWExNGYyNzVjNDFjZmMwYmI3"
	         "MzRmZmMyNjQ0MzM2ZTE2MGQxOGMxNzczOTBhMWI3YTljOTg1N2M2NGQ0NTZi"
	         "YTc4ZWVhN2EzZTRkMDRmZTIwODkxNGIzNzU2ZDRjYTgxYWUwMzljN2RjMzZm"
	         "ZTkyMDUwMGVlY2Y4ZDM=");
}

static void test_e2_preauth(void **state)
{
	const struct duo_param prm[] = {{"username", "alice"},
	                                {"ipaddr", "192.0.2.10"}};

	check_vector("POST", "/auth/v2/preauth", prm, 2,
	             "ipaddr=192.0.2.10&username=alice",
	             "40d2a589038aaf35cf9dfa37af1d8540ea1b7a4c",
	             "44c43da8973c702b78e20787fb68e984547ee8a0a0853e2c38c0046f"
	             "40b595db191b76bb98ec889200111cf3a0576c0ab7583ec0c3e2365d"
	             "7b6d70a6fcceff86");
}

static void test_e3_auth_push(void **state)
{
	const struct duo_param prm[] = {
	    {"username", "alice"},
	    {"factor", "push"},
	    {"device", "auto"},
	    {"async", "1"},
	    {"type", "Login"},
	    {"display_username", "Alice Example"},
	    {"pushinfo", "host=bastion01&service=sshd"},
	    {"ipaddr", "192.0.2.10"},
	};
	char enc[1024], canon[2048], sig[DUO_SIG_HEX], hdr[512];

	check_vector("POST", "/auth/v2/auth", prm, 8,
	             "async=1&device=auto&display_username=Alice%20Example&"
	             "factor=push&ipaddr=192.0.2.10&pushinfo=host%3Dbastion01%"
	             "26service%3Dsshd&type=Login&username=alice",
	             "3a175e217b301f710a09863acf609ef8997694ef",
	             "b466d4b2e3278760c0d1ecc47f7307d7889fa2630213eaa196a6d704"
	             "21f825ab1f7fcb10528c58691ce8b06ff3347af8974fd277c1465d00"
	             "7d05ffbcdd9eb539");
	/* 231 bytes of canonical string in all, as the notes say. */
	assert_int_equal(push_duo_params(prm, 8, enc, sizeof(enc)), 0);
	assert_int_equal(push_duo_canon(DATE, "POST", HOST, "/auth/v2/auth",
	                                enc, canon, sizeof(canon)),
	                 0);
	assert_int_equal(strlen(canon), 231);
	assert_int_equal(push_duo_sign(SKEY, strlen(SKEY), canon, 0, sig), 0);
	assert_int_equal(push_duo_authorization(IKEY, sig, hdr, sizeof(hdr)),
	                 0);
	assert_string_equal(
	    hdr, "Basic "
	         "RElYWVpWNllNOElGWVZXQklOQ0E6YjQ2NmQ0YjJlMzI3ODc2MGMwZDFlY2M0"
	         "N2Y3MzA3ZDc4ODlmYTI2MzAyMTNlYWExOTZhNmQ3MDQyMWY4MjVhYjFmN2Zj"
	         "YjEwNTI4YzU4NjkxY2U4YjA2ZmYzMzQ3YWY4OTc0ZmQyNzdjMTQ2NWQwMDdk"
	         "MDVmZmJjZGQ5ZWI1Mzk=");
}

static void test_e4_passcode(void **state)
{
	const struct duo_param prm[] = {{"username", "alice"},
	                                {"factor", "passcode"},
	                                {"passcode", "123456"}};

	check_vector("POST", "/auth/v2/auth", prm, 3,
	             "factor=passcode&passcode=123456&username=alice",
	             "af25e60cbdf6c634c65b179bac542872d835dfea",
	             "c881ea30c6631a98b5f902c83b37b1af2625296e7b322f361ae28532"
	             "da3d30237234c114cbbf9939601a42c36c8316488e048845e0652717"
	             "9ff10e437e0167a1");
}

static void test_e5_auth_status(void **state)
{
	const struct duo_param prm[] = {
	    {"txid", "45f7c92b-f45f-4862-8545-e0f58e78075a"}};

	check_vector("GET", "/auth/v2/auth_status", prm, 1,
	             "txid=45f7c92b-f45f-4862-8545-e0f58e78075a",
	             "9794428b6103251f09988282f13563d443ce5ee9",
	             "22a40af78256a75f5e905d413a6d0aa6cbd2f1fd7bb92eec10c33585"
	             "46322b5510f5cfb566ba731a1052b5f3edab25d5462a1ec19138ac86"
	             "aa9745f112e8bf68");
}

/* Percent-decode s in place. */
static void pct_decode(char *s)
{
	char *o = s;
	unsigned v;

	for (; *s != '\0'; s++) {
		if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * duo_client_python's unit-test vector: case folding of method and host,
 * multi-byte UTF-8 escaping. The parameters are recovered from the
 * expected line and given in reverse order, so sorting is tested too.
 */
static void test_official_vector(void **state)
{
	static const char line[] =
	    "%E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%"
	    "ED%82%91%C3%88%EC%85%B0=%E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%"
	    "88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90&%E7%91%89%E7%"
	    "B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%"
	    "BF%91%E7%A0%93=%E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%"
	    "9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0&%E7%91%B0%E9%8C%94%E9%"
	    "80%9C%E9%BA%AE%E4%83%98%E4%88%81%E8%8B%98%E8%B1%B0%E1%B4%B1%EA%"
	    "81%82=%E1%9F%99%E0%AE%A8%E9%8D%98%EA%AB%9F%EA%90%AA%E4%A2%BE%EF%"
	    "AE%96%E6%BF%A9%EB%9F%BF%E3%8B%B3&%EC%8B%85%E2%B0%9D%E2%98%A0%E3%"
	    "98%97%E9%9A%B3F%E8%98%85%E2%83%A8%EA%B0%A1%E5%A4%B4=%EF%AE%A9%E4"
	    "%86%AA%EB%B6%83%E8%90%8B%E2%98%95%E3%B9%AE%E6%94%AD%EA%A2%B5%ED%"
	    "95%ABU";
	static const char skey[] = "gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT";
	char copy[sizeof(line)], *tok, *save = NULL, *eq;
	char enc[4096], canon[8192], sig[DUO_SIG_HEX];
	struct duo_param prm[8];
	size_t n = 0, i;

	memcpy(copy, line, sizeof(line));
	for (tok = strtok_r(copy, "&", &save); tok != NULL;
	     tok = strtok_r(NULL, "&", &save)) {
		eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = '\0';
		pct_decode(tok);
		pct_decode(eq + 1);
		prm[n].key = tok;
		prm[n].value = eq + 1;
		n++;
	}
	assert_int_equal(n, 4);
	for (i = 0; i < n / 2; i++) {
		struct duo_param t = prm[i];
		prm[i] = prm[n - 1 - i];
		prm[n - 1 - i] = t;
	}
	assert_int_equal(push_duo_params(prm, n, enc, sizeof(enc)), 0);
	assert_string_equal(enc, line);
	assert_int_equal(push_duo_canon("Fri, 07 Dec 2012 17:18:00 -0000",
	                                "PoSt", "foO.BAr52.cOm",
	                                "/Foo/BaR2/qux", enc, canon,
	                                sizeof(canon)),
	                 0);
	{
		static const char head[] =
		    "Fri, 07 Dec 2012 17:18:00 -0000\n"
		    "POST\nfoo.bar52.com\n/Foo/BaR2/qux\n";
		assert_true(strncmp(canon, head, sizeof(head) - 1) == 0);
		assert_string_equal(canon + sizeof(head) - 1, line);
	}
	assert_int_equal(push_duo_sign(skey, strlen(skey), canon, 1, sig), 0);
	assert_string_equal(sig, "f01811cbbf9561623ab45b893096267fd46a5178");
	assert_int_equal(push_duo_sign(skey, strlen(skey), canon, 0, sig), 0);
	assert_string_equal(
	    sig, "0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4"
	         "321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c44dd3b3985a02c37aca53"
	         "ec3698");
}

static void test_form_encoding(void **state)
{
	const struct duo_param a[] = {{"foo_bar", "1"}, {"foo", "2"}};
	const struct duo_param b[] = {
	    {"k", " ~*/@+=&%\xc3\xa9"}, {"A", ""}, {"a", "x"}};
	struct duo_param many[DUO_MAX_PARAMS + 1];
	char enc[256], small[8];
	size_t i;

	/* "foo" sorts before "foo_bar"; byte order, upper case first. */
	assert_int_equal(push_duo_params(a, 2, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "foo=2&foo_bar=1");
	/* Space is %20, never '+'; '~' stays; everything else %XX upper. */
	assert_int_equal(push_duo_params(b, 3, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "A=&a=x&k=%20~%2A%2F%40%2B%3D%26%25%C3%A9");
	assert_int_equal(push_duo_params(NULL, 0, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "");
	/* Too long for the buffer, too many pairs: errors, not truncation. */
	assert_int_equal(push_duo_params(a, 2, small, sizeof(small)),
	                 PG_ERR_TOOLONG);
	for (i = 0; i < DUO_MAX_PARAMS + 1; i++)
		many[i] = a[0];
	assert_int_equal(
	    push_duo_params(many, DUO_MAX_PARAMS + 1, enc, sizeof(enc)),
	    PG_ERR_INVAL);
}

static void test_host_port_and_date(void **state)
{
	char canon[512], date[DUO_DATE_MAX];

	/* The port is not signed; the host is lower-cased. */
	assert_int_equal(push_duo_canon(DATE, "get", "LocalHost:8443", "/p",
	                                "a=1", canon, sizeof(canon)),
	                 0);
	assert_string_equal(canon, DATE "\nGET\nlocalhost\n/p\na=1");
	push_duo_date(1345570158, date);
	assert_string_equal(date, DATE);
	push_duo_date(0, date);
	assert_string_equal(date, "Thu, 01 Jan 1970 00:00:00 -0000");
}

static void test_pushinfo(void **state)
{
	char out[64], tiny[12];
	size_t pos;

	assert_int_equal(
	    push_duo_pushinfo("sshd", "192.0.2.10", out, sizeof(out), &pos), 0);
	assert_string_equal(out, "service=sshd&from=192.0.2.10");
	assert_int_equal(pos, strlen(out));
	/* A hostile rhost cannot add keys. */
	assert_int_equal(
	    push_duo_pushinfo("", "a&service=x", out, sizeof(out), &pos), 0);
	assert_string_equal(out, "from=a%26service%3Dx");
	assert_int_equal(push_duo_pushinfo("", "", out, sizeof(out), &pos), 0);
	assert_int_equal(pos, 0);
	assert_int_equal(
	    push_duo_pushinfo("sshd", "host.example", tiny, sizeof(tiny), &pos),
	    PG_ERR_TOOLONG);
}

/* Run a body through the envelope and one decision. */
enum step { PREAUTH, AUTH, STATUS };

static int decide(struct push *p, long status, const char *body, enum step step)
{
	void *root = NULL, *resp = NULL;
	char txid[128];
	int r;

	memset(p, 0, sizeof(*p));
	r = push_duo_envelope(p, status, body, &root, &resp);
	if (r != 0) {
		assert_int_equal(p->res.outcome, PUSH_ERROR);
		assert_non_null(p->res.reason);
		return r;
	}
	if (step == PREAUTH)
		r = push_duo_on_preauth(p, resp);
	else if (step == AUTH)
		r = push_duo_on_auth(p, resp, txid, sizeof(txid));
	else
		r = push_duo_on_status(p, resp);
	push_duo_json_free(root);
	return r;
}

static void test_envelopes(void **state)
{
	struct push p;

	/* FAIL envelope: the message is kept, sanitized. */
	assert_int_equal(
	    decide(&p, 401,
	           "{\"stat\":\"FAIL\",\"code\":40103,\"message\":\"Invalid "
	           "signature\\u001b[2J in request credentials\"}",
	           PREAUTH),
	    PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "auth-rejected");
	assert_string_equal(p.res.message,
	                    "Invalid signature in request credentials");
	assert_int_equal(decide(&p, 500,
	                        "{\"stat\":\"FAIL\",\"code\":50000,"
	                        "\"message\":\"x\"}",
	                        PREAUTH),
	                 PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "http-status");
	assert_int_equal(decide(&p, 500, "<html>oops</html>", PREAUTH),
	                 PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "http-status");
	assert_int_equal(decide(&p, 200, "not json", PREAUTH), PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "bad-reply");
	/* Missing or wrongly typed parts. */
	assert_int_equal(decide(&p, 200, "{\"stat\":\"OK\"}", PREAUTH),
	                 PG_ERR_PROTO);
	assert_string_equal(p.res.reason, "bad-reply");
	assert_int_equal(
	    decide(&p, 200, "{\"stat\":\"OK\",\"response\":[]}", PREAUTH),
	    PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, "[1,2]", PREAUTH), PG_ERR_PROTO);
	assert_int_equal(
	    decide(&p, 200, "{\"stat\":1,\"response\":{}}", PREAUTH),
	    PG_ERR_PROTO);
	/* Duplicate keys could hide a second answer: refused. */
	assert_int_equal(decide(&p, 200,
	                        "{\"stat\":\"OK\",\"stat\":\"OK\","
	                        "\"response\":{}}",
	                        PREAUTH),
	                 PG_ERR_PROTO);
	/* OK on a non-200 status is not believed. */
	assert_int_equal(decide(&p, 302,
	                        "{\"stat\":\"OK\",\"response\":"
	                        "{\"result\":\"auth\"}}",
	                        PREAUTH),
	                 PG_ERR_PROTO);
}

#define OK(x) "{\"stat\":\"OK\",\"response\":" x "}"

static void test_preauth(void **state)
{
	struct push p;

	assert_int_equal(
	    decide(&p, 200,
	           OK("{\"result\":\"auth\",\"status_msg\":\"Account is "
	              "active\",\"devices\":[{\"device\":\"D1\",\"type\":"
	              "\"token\"},{\"device\":\"D2\",\"display_name\":\"Marx "
	              "\\u001b]0;pwned\\u0007iPhone\",\"capabilities\":["
	              "\"auto\",\"push\"]}]}"),
	           PREAUTH),
	    0);
	assert_int_equal(p.res.outcome, PUSH_PENDING);
	assert_string_equal(p.res.device, "Marx iPhone");
	/* No device with the push capability. */
	assert_int_equal(decide(&p, 200,
	                        OK("{\"result\":\"auth\",\"devices\":[{"
	                           "\"capabilities\":[\"sms\"]}]}"),
	                        PREAUTH),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_REFUSED);
	assert_string_equal(p.res.reason, "no-push-device");
	/* allow is never a pass. */
	assert_int_equal(decide(&p, 200,
	                        OK("{\"result\":\"allow\",\"status_msg\":"
	                           "\"Bypass\"}"),
	                        PREAUTH),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_REFUSED);
	assert_string_equal(p.res.reason, "provider-bypass");
	assert_int_equal(decide(&p, 200, OK("{\"result\":\"deny\"}"), PREAUTH),
	                 0);
	assert_string_equal(p.res.reason, "provider-deny");
	assert_int_equal(
	    decide(&p, 200, OK("{\"result\":\"enroll\"}"), PREAUTH), 0);
	assert_string_equal(p.res.reason, "not-enrolled");
	assert_int_equal(decide(&p, 200, OK("{\"result\":\"maybe\"}"), PREAUTH),
	                 PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, OK("{\"result\":7}"), PREAUTH),
	                 PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_ERROR);
}

static void test_auth_and_status(void **state)
{
	struct push p;

	assert_int_equal(decide(&p, 200,
	                        OK("{\"txid\":\"f50324f8-42ce-419d-8403-"
	                           "ed6b78e72d44\"}"),
	                        AUTH),
	                 0);
	assert_int_equal(decide(&p, 200, OK("{}"), AUTH), PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, OK("{\"txid\":5}"), AUTH),
	                 PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, OK("{\"txid\":\"a/../b\"}"), AUTH),
	                 PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, OK("{\"txid\":\"\"}"), AUTH),
	                 PG_ERR_PROTO);

	assert_int_equal(decide(&p, 200,
	                        OK("{\"result\":\"waiting\",\"status\":"
	                           "\"pushed\",\"status_msg\":\"Pushed\"}"),
	                        STATUS),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_PENDING);
	assert_int_equal(
	    decide(&p, 200, OK("{\"result\":\"allow\",\"status\":\"allow\"}"),
	           STATUS),
	    0);
	assert_int_equal(p.res.outcome, PUSH_APPROVED);
	assert_int_equal(decide(&p, 200,
	                        OK("{\"result\":\"deny\",\"status\":\"deny\"}"),
	                        STATUS),
	                 0);
	assert_int_equal(p.res.outcome, PUSH_DENIED);
	assert_string_equal(p.res.reason, "push-denied");
	assert_int_equal(
	    decide(&p, 200, OK("{\"result\":\"deny\",\"status\":\"fraud\"}"),
	           STATUS),
	    0);
	assert_int_equal(p.res.outcome, PUSH_FRAUD);
	assert_int_equal(
	    decide(&p, 200, OK("{\"result\":\"deny\",\"status\":\"timeout\"}"),
	           STATUS),
	    0);
	assert_int_equal(p.res.outcome, PUSH_TIMEOUT);
	/* Decided on result, never on status. */
	assert_int_equal(
	    decide(&p, 200, OK("{\"result\":\"deny\",\"status\":\"allow\"}"),
	           STATUS),
	    0);
	assert_int_equal(p.res.outcome, PUSH_DENIED);
	assert_int_equal(decide(&p, 200, OK("{\"status\":\"allow\"}"), STATUS),
	                 PG_ERR_PROTO);
	assert_int_equal(decide(&p, 200, OK("{\"result\":\"ALLOW\"}"), STATUS),
	                 PG_ERR_PROTO);
	assert_int_equal(p.res.outcome, PUSH_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e1_check),
	    cmocka_unit_test(test_e2_preauth),
	    cmocka_unit_test(test_e3_auth_push),
	    cmocka_unit_test(test_e4_passcode),
	    cmocka_unit_test(test_e5_auth_status),
	    cmocka_unit_test(test_official_vector),
	    cmocka_unit_test(test_form_encoding),
	    cmocka_unit_test(test_host_port_and_date),
	    cmocka_unit_test(test_pushinfo),
	    cmocka_unit_test(test_envelopes),
	    cmocka_unit_test(test_preauth),
	    cmocka_unit_test(test_auth_and_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
