/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the authorization policy (daemon/authz/policy.c): groups to
 * scopes, precedence, terminals, break-glass and DN matching. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "daemon/authz/policy.h"
#include "err.h"

#define BASE "ou=groups,dc=mercy,dc=example"

/* The sample directory's roles (contrib/ldap/README.md). */
static const char policy_text[] = "[role supervisor]\n"
                                  "group = cn=Supervisors, " BASE "\n"
                                  "scopes = phi.read phi.write phi.audit\n"
                                  "[role nurse]\n"
                                  "group = nurses\n"
                                  "group = cycle-b\n"
                                  "scopes = phi.read phi.clinical\n"
                                  "[role frontdesk]\n"
                                  "group = frontdesk\n"
                                  "scopes = phi.demographics\n"
                                  "terminals = desk-* FRONT?\n"
                                  "[role breakglass]\n"
                                  "group = breakglass\n"
                                  "scopes = phi.read phi.all\n"
                                  "breakglass = yes\n";

static struct pg_conf conf;

static struct pg_policy *build(const char *host)
{
	struct pg_policy *p = NULL;
	char err[PG_CONF_ERRLEN];

	conf_defaults(&conf);
	assert_int_equal(conf_parse("t.conf", policy_text, strlen(policy_text),
	                            &conf, err, sizeof(err)),
	                 0);
	assert_int_equal(policy_new(&conf, host, &p, err, sizeof(err)), 0);
	return p;
}

static uint64_t bits(const struct pg_policy *p, const char *a, const char *b)
{
	uint64_t m = 0;

	if (a != NULL)
		m |= UINT64_C(1) << policy_scope_id(p, a);
	if (b != NULL)
		m |= UINT64_C(1) << policy_scope_id(p, b);
	return m;
}

static void test_interning(void **state)
{
	struct pg_policy *p = build("ws1");
	char list[64];

	(void)state;
	/* In order of first appearance, each name once. */
	assert_int_equal(policy_nscopes(p), 6);
	assert_string_equal(policy_scope_name(p, 0), "phi.read");
	assert_string_equal(policy_scope_name(p, 5), "phi.all");
	assert_null(policy_scope_name(p, 6));
	assert_int_equal(policy_scope_id(p, "phi.clinical"), 3);
	assert_int_equal(policy_scope_id(p, "phi"), PG_ERR_NOTFOUND);
	assert_int_equal(policy_nroles(p), 4);
	assert_string_equal(policy_role_name(p, 1), "nurse");
	assert_null(policy_role_name(p, 4));
	assert_true(policy_role_breakglass(p, 3));
	assert_false(policy_role_breakglass(p, 0));
	assert_int_equal(policy_scope_list(p, 0x9, list, sizeof(list)), 0);
	assert_string_equal(list, "phi.read phi.clinical");
	assert_int_equal(policy_scope_list(p, 0x9, list, 12), PG_ERR_TOOLONG);
	assert_string_equal(list, "phi.read");
	policy_free(p);
	policy_free(NULL);
}

static void test_eval(void **state)
{
	struct pg_policy *p = build("ws1");
	const struct policy_group nurse[] = {
	    {"cn=nurses," BASE, "nurses"},
	    {"cn=clinical-staff," BASE, "clinical-staff"},
	};
	/* DN matched after normalization: case and blanks differ. */
	const struct policy_group super[] = {
	    {"CN=supervisors , OU=Groups,dc=mercy,dc=example", "supervisors"},
	    {"cn=nurses," BASE, "NURSES"},
	};
	/* Same cn, other DN: the DN rule must not match on the cn. */
	const struct policy_group fake[] = {
	    {"cn=supervisors,ou=people,dc=mercy,dc=example", "supervisors"},
	};
	struct policy_result r;

	(void)state;
	policy_eval(p, nurse, 2, &r);
	assert_int_equal(r.verdict, POLICY_ALLOW);
	assert_int_equal(r.role, 1);
	assert_int_equal(r.scopes, bits(p, "phi.read", "phi.clinical"));
	assert_int_equal(r.breakglass, 0);
	assert_int_equal(r.rule[policy_scope_id(p, "phi.clinical")], 1);

	/* The first role in file order names the role; each scope keeps the
	 * first role granting it. */
	policy_eval(p, super, 2, &r);
	assert_int_equal(r.role, 0);
	assert_int_equal(r.scopes, bits(p, "phi.read", "phi.write") |
	                               bits(p, "phi.audit", "phi.clinical"));
	assert_int_equal(r.rule[policy_scope_id(p, "phi.read")], 0);
	assert_int_equal(r.rule[policy_scope_id(p, "phi.clinical")], 1);

	policy_eval(p, fake, 1, &r);
	assert_int_equal(r.verdict, POLICY_NO_RULE);
	assert_int_equal(r.role, -1);
	assert_int_equal(r.scopes, 0);
	policy_eval(p, NULL, 0, &r);
	assert_int_equal(r.verdict, POLICY_NO_RULE);
	policy_free(p);
}

static void test_breakglass(void **state)
{
	struct pg_policy *p = build("ws1");
	const struct policy_group bg[] = {
	    {"cn=breakglass," BASE, "breakglass"}};
	const struct policy_group both[] = {
	    {"cn=breakglass," BASE, "breakglass"},
	    {"cn=nurses," BASE, "nurses"},
	};
	struct policy_result r;

	(void)state;
	policy_eval(p, bg, 1, &r);
	assert_int_equal(r.verdict, POLICY_ALLOW);
	assert_int_equal(r.role, 3);
	assert_int_equal(r.breakglass, bits(p, "phi.read", "phi.all"));
	/* A scope a regular role also grants is not a break-glass grant,
	 * and its rule is the regular role even though break-glass comes
	 * first in the scan of the user's groups. */
	policy_eval(p, both, 2, &r);
	assert_int_equal(r.role, 1);
	assert_int_equal(r.breakglass, bits(p, "phi.all", NULL));
	assert_int_equal(r.rule[policy_scope_id(p, "phi.read")], 1);
	assert_int_equal(r.rule[policy_scope_id(p, "phi.all")], 3);
	policy_free(p);
}

static void test_terminals(void **state)
{
	const struct policy_group desk[] = {{NULL, "frontdesk"}};
	const struct policy_group both[] = {{NULL, "frontdesk"},
	                                    {NULL, "nurses"}};
	struct pg_policy *p;
	struct policy_result r;

	(void)state;
	p = build("ws1");
	policy_eval(p, desk, 1, &r);
	assert_int_equal(r.verdict, POLICY_TERMINAL);
	assert_int_equal(r.scopes, 0);
	policy_eval(p, both, 2, &r);
	assert_int_equal(r.verdict, POLICY_ALLOW);
	assert_int_equal(r.role, 1);
	assert_int_equal(r.scopes, bits(p, "phi.read", "phi.clinical"));
	policy_free(p);

	/* Globs, case-insensitive host names. */
	p = build("Desk-12");
	policy_eval(p, desk, 1, &r);
	assert_int_equal(r.verdict, POLICY_ALLOW);
	assert_int_equal(r.scopes, bits(p, "phi.demographics", NULL));
	policy_free(p);
	p = build("front7");
	policy_eval(p, desk, 1, &r);
	assert_int_equal(r.verdict, POLICY_ALLOW);
	policy_free(p);
	p = build("front77");
	policy_eval(p, desk, 1, &r);
	assert_int_equal(r.verdict, POLICY_TERMINAL);
	policy_free(p);
}

static void test_too_many_scopes(void **state)
{
	struct pg_policy *p = NULL;
	char err[PG_CONF_ERRLEN], text[2048];
	size_t pos, i;

	(void)state;
	pos = (size_t)snprintf(text, sizeof(text),
	                       "[role a]\ngroup = g\n"
	                       "scopes =");
	for (i = 0; i < 65; i++)
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos, " s%zu",
		                        i);
	snprintf(text + pos, sizeof(text) - pos, "\n");
	conf_defaults(&conf);
	assert_int_equal(
	    conf_parse("t.conf", text, strlen(text), &conf, err, sizeof(err)),
	    0);
	assert_int_equal(policy_new(&conf, "h", &p, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	assert_string_equal(err, "[role a]: scopes: more than 64 distinct "
	                         "scopes in the policy");
	assert_null(p);
}

/* A role's DN and the directory's spelling of it are compared as DNs. */
static void test_dn_groups(void **state)
{
	static const char text[] =
	    "[role billing]\n"
	    "group = cn=Billing\\, Claims & Co, " BASE "\n"
	    "scopes = phi.billing\n"
	    "[role it]\n"
	    "group = CN=Back\\\\slash,OU=Groups,DC=Mercy,DC=Example\n"
	    "scopes = phi.it\n";
	struct policy_group slapd[] = {
	    {"cn=Billing\\2C Claims & Co," BASE, "Billing, Claims & Co"}};
	struct policy_group other[] = {{"cn=Billing," BASE, "Billing"}};
	struct policy_group slash[] = {{"cn=back\\5Cslash," BASE, NULL}};
	struct pg_policy *p = NULL;
	struct policy_result r;
	char err[PG_CONF_ERRLEN];

	(void)state;
	conf_defaults(&conf);
	assert_int_equal(
	    conf_parse("t.conf", text, strlen(text), &conf, err, sizeof(err)),
	    0);
	assert_int_equal(policy_new(&conf, "h", &p, err, sizeof(err)), 0);
	policy_eval(p, slapd, 1, &r);
	assert_int_equal(r.verdict, POLICY_ALLOW);
	assert_int_equal(r.scopes, bits(p, "phi.billing", NULL));
	policy_eval(p, other, 1, &r);
	assert_int_equal(r.verdict, POLICY_NO_RULE);
	policy_eval(p, slash, 1, &r);
	assert_int_equal(r.scopes, bits(p, "phi.it", NULL));
	policy_free(p);
}

/* A group value with '=' that is not a DN is a config error. */
static void test_bad_dn(void **state)
{
	static const char text[] = "[role a]\ngroup = cn=a,,dc=x\n"
	                           "scopes = s\n";
	struct pg_policy *p = NULL;
	char err[PG_CONF_ERRLEN];

	(void)state;
	conf_defaults(&conf);
	assert_int_equal(
	    conf_parse("t.conf", text, strlen(text), &conf, err, sizeof(err)),
	    0);
	assert_int_equal(policy_new(&conf, "h", &p, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	assert_string_equal(err, "[role a]: group: not a valid DN: cn=a,,dc=x");
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interning),
	    cmocka_unit_test(test_eval),
	    cmocka_unit_test(test_breakglass),
	    cmocka_unit_test(test_terminals),
	    cmocka_unit_test(test_too_many_scopes),
	    cmocka_unit_test(test_dn_groups),
	    cmocka_unit_test(test_bad_dn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
