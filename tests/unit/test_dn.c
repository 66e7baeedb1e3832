/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for DN comparison keys (daemon/authz/dn.c): every spelling of one
 * DN gives one key, different DNs never do. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/authz/dn.h"
#include "err.h"

static char *key(const char *dn)
{
	char *k = NULL;

	assert_int_equal(dn_key(dn, &k), 0);
	assert_non_null(k);
	return k;
}

static void assert_same(const char *a, const char *b)
{
	char *ka = key(a), *kb = key(b);

	if (strcmp(ka, kb) != 0)
		fail_msg("\"%s\" -> \"%s\" but \"%s\" -> \"%s\"", a, ka, b, kb);
	free(ka);
	free(kb);
}

static void assert_differ(const char *a, const char *b)
{
	char *ka = key(a), *kb = key(b);

	if (strcmp(ka, kb) == 0)
		fail_msg("\"%s\" and \"%s\" share the key \"%s\"", a, b, ka);
	free(ka);
	free(kb);
}

/* RFC 4514 escapes: the policy's spelling and slapd's meet. */
static void test_escapes(void **state)
{
	(void)state;
	assert_same("cn=Billing\\, Claims & Co,ou=groups,dc=example",
	            "cn=Billing\\2C Claims & Co,ou=groups,dc=example");
	assert_same("cn=back\\\\slash,dc=example",
	            "cn=back\\5Cslash,dc=example");
	assert_same("cn=a\\+b,dc=x", "cn=a\\2Bb,dc=x");
	assert_same("cn=\\23hash,dc=x", "cn=\\#hash,dc=x");
	/* UTF-8 raw or hex-escaped is one value. */
	assert_same("cn=Zo\xc3\xab,dc=x", "cn=Zo\\C3\\AB,dc=x");
}

static void test_case_and_space(void **state)
{
	(void)state;
	assert_same("CN=Nurses,OU=Groups,DC=Example",
	            "cn=nurses,ou=groups,dc=example");
	assert_same("cn=Nurses , ou=groups", "cn=Nurses,ou=groups");
	assert_same("cn=Night  Shift,dc=x", "cn=night shift,dc=x");
	/* Multi-valued RDNs in any order. */
	assert_same("cn=a+uid=b,dc=x", "UID=b+CN=a,dc=x");
}

/* What must stay apart: an escaped separator is data, not structure. */
static void test_distinct(void **state)
{
	(void)state;
	assert_differ("cn=a\\,b,dc=x", "cn=a,cn=b,dc=x");
	assert_differ("cn=a\\+uid=b,dc=x", "cn=a+uid=b,dc=x");
	assert_differ("cn=a\\=b,dc=x", "cn=a,dc=b");
	assert_differ("cn=nurses,dc=x", "cn=nurses,dc=y");
	assert_differ("cn=ab,dc=x", "cn=a b,dc=x");
	/* No Unicode case folding: documented, not guessed. */
	assert_differ("cn=Zo\xc3\xab,dc=x", "cn=ZO\xc3\x8b,dc=x");
}

static void test_invalid(void **state)
{
	char *k = NULL;

	(void)state;
	assert_int_equal(dn_key("not a dn", &k), PG_ERR_INVAL);
	assert_int_equal(dn_key("", &k), PG_ERR_INVAL);
	assert_int_equal(dn_key("cn=a,,dc=x", &k), PG_ERR_INVAL);
	assert_int_equal(dn_key("cn=a\\", &k), PG_ERR_INVAL);
	assert_int_equal(dn_key(NULL, &k), PG_ERR_INVAL);
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_case_and_space),
	    cmocka_unit_test(test_distinct),
	    cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
