/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the directory client's settings (daemon/authz/dir_config.c):
 * building them from the parsed [ldap] section, checking whole
 * configurations, the password file. */
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

static struct pg_conf conf;

/* A string field of the client's settings, set directly. */
#define SET_STR(c, field, value)                                               \
	snprintf((c)->field, sizeof((c)->field), "%s", value)

/* "[ldap]\nTEXT" parsed as phiguardd parses it, into *c. */
static int from_ldap_text(struct dir_config *c, const char *text)
{
	static const char *const ldap_only[] = {"ldap", NULL};
	const struct conf_select sel = {ldap_only, NULL, NULL};
	char buf[4096];
	int rc;

	snprintf(buf, sizeof buf, "[ldap]\n%s", text);
	err[0] = '\0';
	conf_defaults(&conf);
	if ((rc = conf_parse_select("t.conf", buf, strlen(buf), &sel, &conf,
	                            err, sizeof err)) != 0)
		return rc;
	return dir_config_from_conf(c, &conf, err, sizeof err);
}

/* Replace c's URI list with the one [ldap] uri = uris gives. */
static int set_uri(struct dir_config *c, const char *uris)
{
	struct dir_config tmp;
	int rc;

	conf_defaults(&conf);
	snprintf(conf.uri, sizeof conf.uri, "%s", uris);
	err[0] = '\0';
	if ((rc = dir_config_from_conf(&tmp, &conf, err, sizeof err)) != 0)
		return rc;
	memcpy(c->uris, tmp.uris, sizeof c->uris);
	c->nuris = tmp.nuris;
	return 0;
}

/* A configuration that passes dir_config_check(). */
static void valid(struct dir_config *c)
{
	dir_config_defaults(c);
	assert_int_equal(set_uri(c, "ldap://127.0.0.1:389/"), 0);
	SET_STR(c, base_dn, "dc=mercy,dc=example");
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
	assert_int_equal(c.tls_reqcert, CONF_REQCERT_DEMAND);
	assert_int_equal(c.network_timeout_ms, 2000);
	assert_int_equal(c.search_timeout_ms, 2000);
	assert_int_equal(c.nesting_depth, 3);
	assert_int_equal(c.membership, CONF_MEMBERSHIP_AUTO);
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
	c.search_timeout_ms = 3000;
	assert_int_equal(dir_config_fits(&c, 5000, msg, sizeof msg), 1);
	assert_non_null(strstr(msg, "network_timeout (2 s) + "
	                            "search_timeout (3 s)"));
	assert_non_null(strstr(msg, "daemon_timeout (5 s)"));
	assert_non_null(strstr(msg, "lower them, or raise daemon_timeout="));
	/* Just below the limit fits; fractions are shown as such. */
	c.network_timeout_ms = 1500;
	c.search_timeout_ms = 3499;
	assert_int_equal(dir_config_fits(&c, 5000, msg, sizeof msg), 0);
	c.search_timeout_ms = 3500;
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
	assert_int_equal(set_uri(&c, "  ldap://a/\tldaps://b:636/  ldapi:///"),
	                 0);
	assert_int_equal(c.nuris, 3);
	assert_string_equal(c.uris[0], "ldap://a/");
	assert_string_equal(c.uris[1], "ldaps://b:636/");
	assert_string_equal(c.uris[2], "ldapi:///");
	/* A second "uri" replaces the list. */
	assert_int_equal(set_uri(&c, "ldap://c/"), 0);
	assert_int_equal(c.nuris, 1);
	assert_string_equal(c.uris[0], "ldap://c/");

	before = c;
	for (i = 0; i <= DIR_MAX_URIS; i++)
		strcat(many, "ldap://host/ ");
	assert_int_equal(set_uri(&c, many), PG_ERR_CONFIG);
	assert_non_null(strstr(err, "too many"));
	memset(longuri, 'x', sizeof longuri - 1);
	longuri[sizeof longuri - 1] = '\0';
	memcpy(longuri, "ldap://", 7);
	assert_int_equal(set_uri(&c, longuri), PG_ERR_CONFIG);
	assert_int_equal(set_uri(&c, " \t "), PG_ERR_CONFIG);
	/* Errors leave the configuration as it was. */
	assert_memory_equal(&c, &before, sizeof c);
}

/* The parsed [ldap] keys, each in its field; seconds become ms. */
static void test_from_conf(void **state)
{
	struct dir_config c, before;
	char toolong[DIR_DN_MAX + 64];

	(void)state;
	assert_int_equal(from_ldap_text(&c, "uri = ldap://a/ ldapi:///\n"
	                                    "base = dc=x\n"
	                                    "user_base = ou=people,dc=x\n"
	                                    "group_base = ou=groups,dc=x\n"
	                                    "user_attr = cn\n"
	                                    "bind_dn = cn=svc,dc=x\n"
	                                    "bind_password_file = /pw\n"
	                                    "starttls = yes\n"
	                                    "sasl_external = 1\n"
	                                    "tls_cacert = /ca.pem\n"
	                                    "tls_reqcert = hard\n"
	                                    "network_timeout = 3\n"
	                                    "search_timeout = 60\n"
	                                    "nesting_depth = 0\n"
	                                    "membership = memberuid\n"),
	                 0);
	assert_int_equal(c.nuris, 2);
	assert_string_equal(c.uris[1], "ldapi:///");
	assert_string_equal(c.base_dn, "dc=x");
	assert_string_equal(c.user_base, "ou=people,dc=x");
	assert_string_equal(c.group_base, "ou=groups,dc=x");
	assert_string_equal(c.user_attr, "cn");
	assert_string_equal(c.bind_dn, "cn=svc,dc=x");
	assert_string_equal(c.bind_password_file, "/pw");
	assert_int_equal(c.starttls, 1);
	assert_int_equal(c.sasl_external, 1);
	assert_string_equal(c.tls_cacert, "/ca.pem");
	assert_int_equal(c.tls_reqcert, CONF_REQCERT_HARD);
	assert_int_equal(c.network_timeout_ms, 3000);
	assert_int_equal(c.search_timeout_ms, 60000);
	assert_int_equal(c.nesting_depth, 0);
	assert_int_equal(c.membership, CONF_MEMBERSHIP_MEMBERUID);
	/* What the file does not have keeps its default. */
	assert_int_equal(c.retry_min_ms, 1000);
	assert_int_equal(c.retry_max_ms, 60000);
	assert_int_equal(c.password_owner, -1);

	assert_int_equal(from_ldap_text(&c, "uri = ldap://a/\nbase = dc=x\n"
	                                    "starttls = false\n"
	                                    "nesting_depth = 10\n"
	                                    "membership = memberof\n"
	                                    "tls_reqcert = never\n"),
	                 0);
	assert_int_equal(c.starttls, 0);
	assert_int_equal(c.nesting_depth, 10);
	assert_int_equal(c.membership, CONF_MEMBERSHIP_MEMBEROF);
	assert_int_equal(c.tls_reqcert, CONF_REQCERT_NEVER);
	assert_string_equal(c.bind_dn, "");

	/* Bad values never reach the client: the parser refuses them. */
	before = c;
	assert_int_equal(from_ldap_text(&c, "starttls = maybe\n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "starttls = \n"), PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "nesting_depth = 11\n"),
	                 PG_ERR_CONFIG);
	assert_non_null(strstr(err, "0..10"));
	assert_int_equal(from_ldap_text(&c, "nesting_depth = -1\n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "nesting_depth = +1\n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "nesting_depth = 2x\n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "nesting_depth = \n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "network_timeout = 0\n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(
	    from_ldap_text(&c, "network_timeout = 99999999999999999999\n"),
	    PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "membership = groups\n"),
	                 PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "tls_reqcert = DEMAND\n"),
	                 PG_ERR_CONFIG);
	memset(toolong, 'a', sizeof toolong - 1);
	toolong[sizeof toolong - 1] = '\0';
	memcpy(toolong, "base = ", 7);
	assert_int_equal(from_ldap_text(&c, toolong), PG_ERR_CONFIG);
	assert_int_equal(from_ldap_text(&c, "no_such_key = 1\n"),
	                 PG_ERR_CONFIG);
	assert_string_equal(err,
	                    "t.conf:2: no_such_key: unknown key in [ldap]");
	assert_memory_equal(&c, &before, sizeof c);
}

static void test_check_rules(void **state)
{
	struct dir_config c;

	(void)state;
	valid(&c);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);

	valid(&c);
	assert_int_equal(set_uri(&c, "ldap://a/ http://b/"), 0);
	expect_check_fails(&c, "uri");
	valid(&c);
	assert_int_equal(set_uri(&c, "not a url"), 0);
	expect_check_fails(&c, "uri");

	valid(&c);
	SET_STR(&c, base_dn, "");
	expect_check_fails(&c, "base_dn");
	valid(&c);
	SET_STR(&c, base_dn, "no equals sign");
	expect_check_fails(&c, "base_dn");
	valid(&c);
	SET_STR(&c, group_base, "ou=groups,,dc=x");
	expect_check_fails(&c, "group_base");

	/* The attribute goes into the user filter: only real names. */
	valid(&c);
	SET_STR(&c, user_attr, "uid)(cn");
	expect_check_fails(&c, "user_attr");
	valid(&c);
	SET_STR(&c, user_attr, "");
	expect_check_fails(&c, "user_attr");
	valid(&c);
	SET_STR(&c, user_attr, "1..2");
	expect_check_fails(&c, "user_attr");
	valid(&c);
	SET_STR(&c, user_attr, "sAMAccountName");
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);
	SET_STR(&c, user_attr, "0.9.2342.19200300.100.1.1");
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);

	valid(&c);
	SET_STR(&c, bind_dn, "cn=svc,dc=x");
	expect_check_fails(&c, "bind_dn");
	valid(&c);
	SET_STR(&c, bind_password_file, "/nonexistent");
	expect_check_fails(&c, "bind_dn");

	/* EXTERNAL takes its identity from ldapi:// peer credentials. */
	valid(&c);
	c.sasl_external = 1;
	expect_check_fails(&c, "sasl_external");
	assert_int_equal(set_uri(&c, "ldapi:///"), 0);
	assert_int_equal(dir_config_check(&c, err, sizeof err), 0);

	valid(&c);
	c.retry_min_ms = 5000;
	c.retry_max_ms = 1000;
	expect_check_fails(&c, "retry_max_ms");

	/* Numbers set directly in the struct are checked too. */
	valid(&c);
	c.search_timeout_ms = 0;
	expect_check_fails(&c, "search_timeout_ms");
	valid(&c);
	c.membership = (enum conf_membership)9;
	expect_check_fails(&c, "membership");

	valid(&c);
	SET_STR(&c, tls_cacert, "/nonexistent/ca.pem");
	expect_check_fails(&c, "tls_cacert");
}

static void test_password_file(void **state)
{
	struct dir_config c;
	char *pw = NULL;
	const char *path = tu_path("bindpw");

	(void)state;
	valid(&c);
	SET_STR(&c, bind_dn, "cn=svc,dc=x");
	SET_STR(&c, bind_password_file, path);

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
	SET_STR(&c, bind_dn, "cn=svc,dc=x");
	SET_STR(&c, bind_password_file, path);
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
	SET_STR(&c, bind_dn, "cn=svc,dc=x");
	SET_STR(&c, bind_password_file, path);
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
	assert_string_equal(conf_reqcert_name(CONF_REQCERT_DEMAND), "demand");
	assert_string_equal(conf_reqcert_name(CONF_REQCERT_ALLOW), "allow");
	assert_string_equal(conf_reqcert_name((enum conf_reqcert)42),
	                    "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_fits),
	    cmocka_unit_test(test_uri_list),
	    cmocka_unit_test(test_from_conf),
	    cmocka_unit_test(test_check_rules),
	    cmocka_unit_test(test_password_file),
	    cmocka_unit_test(test_password_owner),
	    cmocka_unit_test(test_password_nul),
	    cmocka_unit_test(test_scheme_and_names),
	};

	return cmocka_run_group_tests(tests, tu_setup_tmpdir,
	                              tu_teardown_tmpdir);
}
