/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the directory client's settings (daemon/authz/dir_config.c):
 * parsing each key, checking whole configurations, the password file. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#include "conf.h"
#include "daemon/authz/dir_config.h"
#include "err.h"
#include "secret.h"

static char err[512];

static int set(struct dir_config *c, const char *key, const char *value)
{
	err[0] = '\0';
	return dir_config_set(c, key, value, err, sizeof err);
}

/* A configuration that passes dir_config_check(). */
static void valid(struct dir_config *c)
{
	dir_config_defaults(c);
	assert_int_equal(set(c, "uri", "ldap://127.0.0.1:389/"), 0);
	assert_int_equal(set(c, "base_dn", "dc=mercy,dc=example"), 0);
}

static void expect_check_fails(const struct dir_config *c, const char *key)
{
	char prefix[64];

	err[0] = '\0';
	assert_int_equal(dir_config_check(c, err, sizeof err), PG_ERR_CONFIG);
	snprintf(prefix, sizeof prefix, "%s: ", key);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error '%s' does not name %s", err, key);
}

static void test_defaults(void **state)
{
	struct dir_config c;

	(void)state;
	dir_config_defaults(&c);
	assert_int_equal(c.nuris, 0);
	assert_string_equal(c.user_attr, "uid");
	assert_int_equal(c.tls_reqcert, DIR_REQCERT_DEMAND);
	assert_int_equal(c.network_timeout_ms, 2000);
	assert_int_equal(c.search_timeout_ms, 2000);
	assert_int_equal(c.nesting_depth, 3);
	assert_int_equal(c.membership, DIR_MEMBERSHIP_AUTO);
	assert_int_equal(c.starttls, 0);
	assert_int_equal(c.sasl_external, 0);
	/* No server and no base: defaults alone are not a configuration. */
	expect_check_fails(&c, "uri");
}

/* The timeouts against the PAM module's wait (conf.h's default). */
static void test_fits(void **state)
{
	struct dir_config c;
	char msg[512];

	(void)state;
	dir_config_defaults(&c);
	/* The defaults fit, with room for the next server's answer. */
	assert_int_equal(
	    dir_config_fits(&c, PG_CONF_DAEMON_TIMEOUT_MS, msg, sizeof msg), 0);
	assert_true(c.network_timeout_ms + c.search_timeout_ms <
	            PG_CONF_DAEMON_TIMEOUT_MS);
	/* The old defaults (2 s + 3 s) reach the new limit exactly. */
	assert_int_equal(set(&c, "search_timeout_ms", "3000"), 0);
	assert_int_equal(dir_config_fits(&c, 5000, msg, sizeof msg), 1);
	assert_non_null(strstr(msg, "network_timeout (2 s) + "
	                            "search_timeout (3 s)"));
	assert_non_null(strstr(msg, "daemon_timeout (5 s)"));
	assert_non_null(strstr(msg, "lower them, or raise daemon_timeout="));
	/* Just below the limit fits; fractions are shown as such. */
	assert_int_equal(set(&c, "network_timeout_ms", "1500"), 0);
	assert_int_equal(set(&c, "search_timeout_ms", "3499"), 0);
	assert_int_equal(dir_config_fits(&c, 5000, msg, sizeof msg), 0);
	assert_int_equal(set(&c, "search_timeout_ms", "3500"), 0);
	assert_int_equal(dir_config_fits(&c, 5000, msg, sizeof msg), 1);
	assert_non_null(strstr(msg, "network_timeout (1.5 s) + "
	                            "search_timeout (3.5 s)"));
	assert_int_equal(dir_config_fits(&c, 2250, msg, sizeof msg), 1);
	assert_non_null(strstr(msg, "daemon_timeout (2.25 s)"));
	/* A short buffer is cut, not overrun. */
	assert_int_equal(dir_config_fits(&c, 5000, msg, 8), 1);
	assert_int_equal(strlen(msg), 7);
}

static void test_uri_list(void **state)
{
	struct dir_config c, before;
	char many[DIR_MAX_URIS * 24 + 32] = "", longuri[DIR_URI_MAX + 16];
	int i;

	(void)state;
	dir_config_defaults(&c);
	assert_int_equal(
	    set(&c, "uri", "  ldap://a/\tldaps://b:636/  ldapi:///"), 0);
	assert_int_equal(c.nuris, 3);
	assert_string_equal(c.uris[0], "ldap://a/");
	assert_string_equal(c.uris[1], "ldaps://b:636/");
	assert_string_equal(c.uris[2], "ldapi:///");
	/* A second "uri" replaces the list. */
	assert_int_equal(set(&c, "uri", "ldap://c/"), 0);
	assert_int_equal(c.nuris, 1);
	assert_string_equal(c.uris[0], "ldap://c/");

	before = c;
	for (i = 0; i <= DIR_MAX_URIS; i++)
		strcat(many, "ldap://host/ ");
	assert_int_equal(set(&c, "uri", many), PG_ERR_CONFIG);
	assert_non_null(strstr(err, "too many"));
	memset(longuri, 'x', sizeof longuri - 1);
	longuri[sizeof longuri - 1] = '\0';
	memcpy(longuri, "ldap://", 7);
	assert_int_equal(set(&c, "uri", longuri), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "uri", " \t "), PG_ERR_CONFIG);
	/* Errors leave the configuration as it was. */
	assert_memory_equal(&c, &before, sizeof c);
}

static void test_set_kinds(void **state)
{
	struct dir_config c, before;
	char toolong[DIR_DN_MAX + 8];

	(void)state;
	dir_config_defaults(&c);
	assert_int_equal(set(&c, "starttls", "yes"), 0);
	assert_int_equal(c.starttls, 1);
	assert_int_equal(set(&c, "starttls", "false"), 0);
	assert_int_equal(c.starttls, 0);
	assert_int_equal(set(&c, "sasl_external", "1"), 0);
	assert_int_equal(c.sasl_external, 1);
	assert_int_equal(set(&c, "nesting_depth", "0"), 0);
	assert_int_equal(c.nesting_depth, 0);
	assert_int_equal(set(&c, "nesting_depth", "10"), 0);
	assert_int_equal(set(&c, "search_timeout_ms", "60000"), 0);
	assert_int_equal(c.search_timeout_ms, 60000);
	assert_int_equal(set(&c, "membership", "memberuid"), 0);
	assert_int_equal(c.membership, DIR_MEMBERSHIP_MEMBERUID);
	assert_int_equal(set(&c, "membership", "memberof"), 0);
	assert_int_equal(c.membership, DIR_MEMBERSHIP_MEMBEROF);
	assert_int_equal(set(&c, "tls_reqcert", "hard"), 0);
	assert_int_equal(c.tls_reqcert, DIR_REQCERT_HARD);
	assert_int_equal(set(&c, "tls_reqcert", "never"), 0);
	assert_int_equal(c.tls_reqcert, DIR_REQCERT_NEVER);
	assert_int_equal(set(&c, "bind_dn", "cn=svc,dc=x"), 0);
	assert_string_equal(c.bind_dn, "cn=svc,dc=x");
	assert_int_equal(set(&c, "bind_dn", ""), 0);
	assert_string_equal(c.bind_dn, "");

	before = c;
	assert_int_equal(set(&c, "starttls", "maybe"), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "starttls", ""), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "nesting_depth", "11"), PG_ERR_CONFIG);
	assert_non_null(strstr(err, "0 to 10"));
	assert_int_equal(set(&c, "nesting_depth", "-1"), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "nesting_depth", "+1"), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "nesting_depth", "2x"), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "nesting_depth", ""), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "network_timeout_ms", "99"), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "network_timeout_ms", "99999999999999999999"),
	                 PG_ERR_CONFIG);
	assert_int_equal(set(&c, "membership", "groups"), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "tls_reqcert", "DEMAND"), PG_ERR_CONFIG);
	memset(toolong, 'a', sizeof toolong - 1);
	toolong[sizeof toolong - 1] = '\0';
	assert_int_equal(set(&c, "base_dn", toolong), PG_ERR_CONFIG);
	assert_int_equal(set(&c, "no_such_key", "1"), PG_ERR_CONFIG);
	assert_string_equal(err, "no_such_key: unknown key");
	assert_memory_equal(&c, &before, sizeof c);
}

static void test_check_rules(void **state)
{
	struct dir_config c;

	(void)state;
	valid(&c);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);

	valid(&c);
	assert_int_equal(set(&c, "uri", "ldap://a/ http://b/"), 0);
	expect_check_fails(&c, "uri");
	valid(&c);
	assert_int_equal(set(&c, "uri", "not a url"), 0);
	expect_check_fails(&c, "uri");

	valid(&c);
	assert_int_equal(set(&c, "base_dn", ""), 0);
	expect_check_fails(&c, "base_dn");
	valid(&c);
	assert_int_equal(set(&c, "base_dn", "no equals sign"), 0);
	expect_check_fails(&c, "base_dn");
	valid(&c);
	assert_int_equal(set(&c, "group_base", "ou=groups,,dc=x"), 0);
	expect_check_fails(&c, "group_base");

	/* The attribute goes into the user filter: only real names. */
	valid(&c);
	assert_int_equal(set(&c, "user_attr", "uid)(cn"), 0);
	expect_check_fails(&c, "user_attr");
	valid(&c);
	assert_int_equal(set(&c, "user_attr", ""), 0);
	expect_check_fails(&c, "user_attr");
	valid(&c);
	assert_int_equal(set(&c, "user_attr", "1..2"), 0);
	expect_check_fails(&c, "user_attr");
	valid(&c);
	assert_int_equal(set(&c, "user_attr", "sAMAccountName"), 0);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);
	assert_int_equal(set(&c, "user_attr", "0.9.2342.19200300.100.1.1"), 0);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);

	valid(&c);
	assert_int_equal(set(&c, "bind_dn", "cn=svc,dc=x"), 0);
	expect_check_fails(&c, "bind_dn");
	valid(&c);
	assert_int_equal(set(&c, "bind_password_file", "/nonexistent"), 0);
	expect_check_fails(&c, "bind_dn");

	/* EXTERNAL takes its identity from ldapi:// peer credentials. */
	valid(&c);
	assert_int_equal(set(&c, "sasl_external", "yes"), 0);
	expect_check_fails(&c, "sasl_external");
	assert_int_equal(set(&c, "uri", "ldapi:///"), 0);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);

	valid(&c);
	assert_int_equal(set(&c, "retry_min_ms", "5000"), 0);
	assert_int_equal(set(&c, "retry_max_ms", "1000"), 0);
	expect_check_fails(&c, "retry_max_ms");

	/* Numbers set directly in the struct are checked too. */
	valid(&c);
	c.search_timeout_ms = 0;
	expect_check_fails(&c, "search_timeout_ms");
	valid(&c);
	c.membership = (enum dir_membership)9;
	expect_check_fails(&c, "membership");

	valid(&c);
	assert_int_equal(set(&c, "tls_cacert", "/nonexistent/ca.pem"), 0);
	expect_check_fails(&c, "tls_cacert");
}

static void test_password_file(void **state)
{
	struct dir_config c;
	char *pw = NULL;
	const char *path = tu_path("bindpw");

	(void)state;
	valid(&c);
	assert_int_equal(set(&c, "bind_dn", "cn=svc,dc=x"), 0);
	assert_int_equal(set(&c, "bind_password_file", path), 0);

	tu_write_file(path, "s3cret pass\r\n\n", 0600);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);
	assert_int_equal(dir_config_read_password(&c, &pw, err, sizeof err), 0);
	assert_string_equal(pw, "s3cret pass");
	secret_strfree(pw);

	/* Readable by others: refused, at check time and at bind time. */
	tu_write_file(path, "s3cret\n", 0644);
	expect_check_fails(&c, "bind_password_file");
	pw = NULL;
	assert_int_equal(dir_config_read_password(&c, &pw, err, sizeof err),
	                 PG_ERR_CONFIG);
	assert_null(pw);
	tu_write_file(path, "s3cret\n", 0640);
	expect_check_fails(&c, "bind_password_file");

	/* Empty would be an unauthenticated (anonymous) simple bind. */
	tu_write_file(path, "\n", 0600);
	expect_check_fails(&c, "bind_password_file");
	assert_non_null(strstr(err, "empty"));

	/* A symlink to a good file is refused. */
	tu_write_file(tu_path("real"), "s3cret\n", 0600);
	unlink(path);
	assert_int_equal(symlink(tu_path("real"), path), 0);
	expect_check_fails(&c, "bind_password_file");
	unlink(path);
	expect_check_fails(&c, "bind_password_file");
}

/* password_owner names the daemon's user for a check made before the
 * switch to it (runas.h); password_root_too lets root own it as well. */
static void test_password_owner(void **state)
{
	struct dir_config c;
	const char *path = tu_path("ownedpw");

	(void)state;
	if (geteuid() != 0)
		skip();
	valid(&c);
	assert_int_equal(c.password_owner, -1); /* the effective uid */
	assert_int_equal(set(&c, "bind_dn", "cn=svc,dc=x"), 0);
	assert_int_equal(set(&c, "bind_password_file", path), 0);
	tu_write_file(path, "s3cret\n", 0600);
	assert_int_equal(chown(path, 65534, 65534), 0);
	expect_check_fails(&c, "bind_password_file");
	assert_non_null(strstr(err, "must be owned by uid 0 (is 65534)"));
	c.password_owner = 65534;
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);
	/* The daemon's user only: a root-owned file is refused... */
	assert_int_equal(chown(path, 0, 0), 0);
	expect_check_fails(&c, "bind_password_file");
	assert_non_null(strstr(err, "must be owned by uid 65534 (is 0)"));
	/* ... unless root may own it too. */
	c.password_root_too = 1;
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);
}

static void test_password_nul(void **state)
{
	struct dir_config c;
	char *pw = NULL;
	const char *path = tu_path("nulpw");
	FILE *f;

	(void)state;
	valid(&c);
	assert_int_equal(set(&c, "bind_dn", "cn=svc,dc=x"), 0);
	assert_int_equal(set(&c, "bind_password_file", path), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("ab\0cd", 1, 5, f), 5);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(dir_config_read_password(&c, &pw, err, sizeof err),
	                 PG_ERR_CONFIG);
	assert_null(pw);
	assert_non_null(strstr(err, "NUL"));
}

static void test_scheme_and_names(void **state)
{
	enum dir_scheme s;

	(void)state;
	assert_int_equal(dir_config_scheme("ldap://h/", &s), 0);
	assert_int_equal(s, DIR_SCHEME_LDAP);
	assert_int_equal(dir_config_scheme("LDAPS://h:636", &s), 0);
	assert_int_equal(s, DIR_SCHEME_LDAPS);
	assert_int_equal(
	    dir_config_scheme("ldapi://%2Frun%2Fslapd%2Fldapi", &s), 0);
	assert_int_equal(s, DIR_SCHEME_LDAPI);
	assert_int_equal(dir_config_scheme("cldap://h/", &s), -1);
	assert_int_equal(dir_config_scheme("https://h/", &s), -1);
	assert_int_equal(dir_config_scheme("", &s), -1);
	assert_string_equal(dir_config_reqcert_name(DIR_REQCERT_DEMAND),
	                    "demand");
	assert_string_equal(dir_config_reqcert_name(DIR_REQCERT_ALLOW),
	                    "allow");
	assert_string_equal(dir_config_reqcert_name((enum dir_reqcert)42),
	                    "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_fits),
	    cmocka_unit_test(test_uri_list),
	    cmocka_unit_test(test_set_kinds),
	    cmocka_unit_test(test_check_rules),
	    cmocka_unit_test(test_password_file),
	    cmocka_unit_test(test_password_owner),
	    cmocka_unit_test(test_password_nul),
	    cmocka_unit_test(test_scheme_and_names),
	};

	return cmocka_run_group_tests(tests, tu_setup_tmpdir,
	                              tu_teardown_tmpdir);
}
