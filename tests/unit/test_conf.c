/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the phiguard.conf parser (common/conf.c): every key, its
 * default and range, and every syntax error with its exact message. */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "client.h"
#include "conf.h"
#include "err.h"

static struct pg_conf conf;
static char err[PG_CONF_ERRLEN];

static int parse(const char *text)
{
	conf_defaults(&conf);
	err[0] = '\0';
	return conf_parse("t.conf", text, strlen(text), &conf, err,
	                  sizeof(err));
}

/* Parse and expect PG_ERR_CONFIG with exactly this message. */
static void expect_error(const char *text, const char *msg)
{
	assert_int_equal(parse(text), PG_ERR_CONFIG);
	assert_string_equal(err, msg);
}

static void test_defaults(void **state)
{
	conf_defaults(&conf);
	assert_string_equal(conf.socket, PG_DEFAULT_SOCKET);
	assert_string_equal(conf.state_dir, LOCALSTATEDIR "/lib/phiguard");
	assert_string_equal(conf.pidfile, "");
	assert_string_equal(conf.user, "");
	assert_int_equal(conf.max_clients, 64);
	assert_int_equal(conf.client_timeout, 5);
	assert_int_equal(conf.log_level, 1);
	assert_string_equal(conf.tokens, SYSCONFDIR "/phiguard/tokens");
	assert_int_equal(conf.window, 1);
	assert_int_equal(conf.max_failures, 5);
	assert_int_equal(conf.failure_window, 300);
	assert_int_equal(conf.lockout, 900);
	assert_string_equal(conf.issuer, "phiguard");
	/* An empty file changes nothing. */
	assert_int_equal(parse(""), 0);
	assert_int_equal(conf.window, 1);
	assert_int_equal(conf_parse("t.conf", NULL, 0, &conf, err, sizeof(err)),
	                 0);
}

static void test_every_key(void **state)
{
	assert_int_equal(parse("[daemon]\n"
	                       "socket = /tmp/pg.sock\n"
	                       "state_dir = /var/tmp/pg\n"
	                       "pidfile = /run/pg.pid\n"
	                       "user = phiguard\n"
	                       "max_clients = 10\n"
	                       "client_timeout = 30\n"
	                       "log_level = 2\n"
	                       "[totp]\n"
	                       "tokens = /etc/pg/tokens\n"
	                       "window = 3\n"
	                       "max_failures = 7\n"
	                       "failure_window = 60\n"
	                       "lockout = 120\n"
	                       "issuer = Example Health\n"),
	                 0);
	assert_string_equal(conf.socket, "/tmp/pg.sock");
	assert_string_equal(conf.state_dir, "/var/tmp/pg");
	assert_string_equal(conf.pidfile, "/run/pg.pid");
	assert_string_equal(conf.user, "phiguard");
	assert_int_equal(conf.max_clients, 10);
	assert_int_equal(conf.client_timeout, 30);
	assert_int_equal(conf.log_level, 2);
	assert_string_equal(conf.tokens, "/etc/pg/tokens");
	assert_int_equal(conf.window, 3);
	assert_int_equal(conf.max_failures, 7);
	assert_int_equal(conf.failure_window, 60);
	assert_int_equal(conf.lockout, 120);
	assert_string_equal(conf.issuer, "Example Health");
}

struct range_case {
	const char *section, *key;
	long min, max;
	size_t offset;
};

#define RC(s, k, lo, hi)                                                       \
	{                                                                      \
		s, #k, lo, hi, offsetof(struct pg_conf, k)                     \
	}

static const struct range_case ranges[] = {
    RC("daemon", max_clients, 1, 4096), RC("daemon", client_timeout, 1, 300),
    RC("daemon", log_level, 0, 2),      RC("totp", window, 0, 10),
    RC("totp", max_failures, 1, 1000),  RC("totp", failure_window, 1, 86400),
    RC("totp", lockout, 1, 604800),
};

static void test_ranges(void **state)
{
	char text[256], want[256];
	const struct range_case *r;
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		r = &ranges[i];
		/* Both bounds are inclusive. */
		snprintf(text, sizeof(text), "[%s]\n%s = %ld\n", r->section,
		         r->key, r->min);
		assert_int_equal(parse(text), 0);
		assert_int_equal(*(long *)((char *)&conf + r->offset), r->min);
		snprintf(text, sizeof(text), "[%s]\n%s = %ld\n", r->section,
		         r->key, r->max);
		assert_int_equal(parse(text), 0);
		assert_int_equal(*(long *)((char *)&conf + r->offset), r->max);

		snprintf(want, sizeof(want),
		         "t.conf:2: %s: out of range (%ld..%ld)", r->key,
		         r->min, r->max);
		snprintf(text, sizeof(text), "[%s]\n%s = %ld\n", r->section,
		         r->key, r->min - 1);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s = %ld\n", r->section,
		         r->key, r->max + 1);
		expect_error(text, want);
		snprintf(text, sizeof(text),
		         "[%s]\n%s = 99999999999999999999\n", r->section,
		         r->key);
		expect_error(text, want);

		snprintf(want, sizeof(want),
		         "t.conf:2: %s: not a number in %ld..%ld", r->key,
		         r->min, r->max);
		snprintf(text, sizeof(text), "[%s]\n%s = 5x\n", r->section,
		         r->key);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s =\n", r->section,
		         r->key);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s = 0x1\n", r->section,
		         r->key);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s = \"1 \"\n", r->section,
		         r->key);
		expect_error(text, want);
		snprintf(text, sizeof(text),
		         "[%s]\n%s = 000000000000000000000000000000001\n",
		         r->section, r->key);
		expect_error(text, want);
		/* phiguard.conf(5) says decimal integers: strtol's sign and
		 * leading blanks are not part of that (issue 11). */
		snprintf(text, sizeof(text), "[%s]\n%s = +%ld\n", r->section,
		         r->key, r->max);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s = \" %ld\"\n",
		         r->section, r->key, r->max);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s = \"\t%ld\"\n",
		         r->section, r->key, r->max);
		expect_error(text, want);
		snprintf(text, sizeof(text), "[%s]\n%s = -+1\n", r->section,
		         r->key);
		expect_error(text, want);
	}
}

static void test_strings(void **state)
{
	char text[2 * PG_CONF_MAX_PATH];
	int n;

	/* The longest value that fits, and one byte more. */
	n = snprintf(text, sizeof(text), "[daemon]\nsocket = /");
	memset(text + n, 'a', PG_CONF_MAX_PATH - 2);
	text[n + PG_CONF_MAX_PATH - 2] = '\0';
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(conf.socket), PG_CONF_MAX_PATH - 1);
	strcat(text, "a");
	expect_error(text, "t.conf:2: socket: value too long (max 1023 bytes)");

	expect_error("[daemon]\nuser = abcdefghijklmnopqrstuvwxyzabcdefghijkl"
	             "mnopqrstuvwxyzabcdefghijkl\n",
	             "t.conf:2: user: value too long (max 63 bytes)");
	expect_error("[daemon]\nstate_dir = var/lib\n",
	             "t.conf:2: state_dir: must be an absolute path");
	expect_error("[totp]\ntokens = tokens\n",
	             "t.conf:2: tokens: must be an absolute path");
	expect_error("[daemon]\nsocket =\n",
	             "t.conf:2: socket: must not be empty");
	expect_error("[totp]\nissuer = \"\"\n",
	             "t.conf:2: issuer: must not be empty");
	/* Optional ones may be emptied. */
	assert_int_equal(parse("[daemon]\npidfile = \"\"\nuser =\n"), 0);
	assert_string_equal(conf.pidfile, "");
	assert_string_equal(conf.user, "");
	expect_error("[daemon]\npidfile = run/x.pid\n",
	             "t.conf:2: pidfile: must be an absolute path");
}

static void test_quotes_and_comments(void **state)
{
	assert_int_equal(parse("# leading comment\n"
	                       "; another\n"
	                       "\n"
	                       "   \t\n"
	                       "  # indented comment\n"
	                       "  [totp]\n"
	                       "\t; indented too\n"
	                       "\tissuer=\"My Org # 1\"  \n"
	                       "  window\t=\t2\n"),
	                 0);
	assert_string_equal(conf.issuer, "My Org # 1");
	assert_int_equal(conf.window, 2);

	assert_int_equal(parse("[totp]\nissuer = \"  padded  \"\n"), 0);
	assert_string_equal(conf.issuer, "  padded  ");
	/* Comment characters not after whitespace are part of the value. */
	assert_int_equal(parse("[totp]\nissuer = a#b;c\n"), 0);
	assert_string_equal(conf.issuer, "a#b;c");
	/* A quote inside an unquoted value is literal. */
	assert_int_equal(parse("[totp]\nissuer = say \"hi\"\n"), 0);
	assert_string_equal(conf.issuer, "say \"hi\"");
	assert_int_equal(parse("[ totp ]\nissuer = x\n"), 0);
	assert_string_equal(conf.issuer, "x");
	/* Quoted, a '#' belongs to the value. */
	assert_int_equal(parse("[role a]\ngroup = \"Team #5\"\nscopes = s\n"),
	                 0);
	assert_string_equal(conf_role_group(&conf, &conf.roles[0], 0),
	                    "Team #5");

	expect_error("[totp]\nissuer = \"open\n",
	             "t.conf:2: issuer: missing closing quote");
	expect_error("[totp]\nissuer = \"a\" b\n",
	             "t.conf:2: issuer: junk after closing quote");
}

/*
 * There are no inline comments. These used to be cut at the comment
 * ("Team #5" became "Team", which could name another group); now each is
 * an error, so nothing is silently cut or silently kept.
 */
static void test_no_inline_comments(void **state)
{
	expect_error("[role a]\ngroup = Team #5\nscopes = s\n",
	             "t.conf:2: group: inline comments are not allowed: put "
	             "the comment on its own line, or quote the value if '#' "
	             "belongs to it");
	expect_error("[totp]\nwindow = 2 # two steps\n",
	             "t.conf:2: window: inline comments are not allowed: put "
	             "the comment on its own line, or quote the value if '#' "
	             "belongs to it");
	expect_error("[totp]\nissuer = a\t;b\n",
	             "t.conf:2: issuer: inline comments are not allowed: put "
	             "the comment on its own line, or quote the value if ';' "
	             "belongs to it");
	/* A value cannot start with one either, blank or not before it. */
	expect_error("[totp]\nissuer = #1\n",
	             "t.conf:2: issuer: inline comments are not allowed: put "
	             "the comment on its own line, or quote the value if '#' "
	             "belongs to it");
	expect_error("[totp]\nissuer=;1\n",
	             "t.conf:2: issuer: inline comments are not allowed: put "
	             "the comment on its own line, or quote the value if ';' "
	             "belongs to it");
	/* Nor after a closing quote or a header. */
	expect_error("[totp]\nissuer = \"My Org\"  ; trailing\n",
	             "t.conf:2: issuer: inline comments are not allowed: put "
	             "the comment on its own line");
	expect_error("[totp]   # section comment\n",
	             "t.conf:1: [totp]   # section comment: inline comments "
	             "are not allowed: put the comment on its own line");
}

#define LDAP_OK "[ldap]\nuri = ldap://a ldap://b\nbase = dc=x\n"
#define ROLE_OK "[role nurse]\ngroup = nurses\nscopes = phi.read\n"

static void test_ldap_and_cache(void **state)
{
	(void)state;
	conf_defaults(&conf);
	assert_int_equal(conf.ldap, 0);
	assert_int_equal(conf.tls_reqcert, CONF_REQCERT_DEMAND);
	assert_int_equal(conf.membership, CONF_MEMBERSHIP_AUTO);
	assert_int_equal(conf.network_timeout_ms, 2000);
	assert_int_equal(conf.search_timeout_ms, 2000);
	assert_int_equal(conf.nesting_depth, 3);
	assert_int_equal(conf.ttl, 300);
	assert_int_equal(conf.negative_ttl, 15);
	assert_int_equal(conf.login_refresh, 60);
	assert_int_equal(conf.offline_grace, 28800);
	/* [cache] alone does not switch the directory on. */
	assert_int_equal(parse("[cache]\nttl = 10\noffline_grace = 2\n"), 0);
	assert_int_equal(conf.ldap, 0);
	assert_int_equal(conf.ttl, 10);
	assert_int_equal(conf.offline_grace, 2);
	assert_int_equal(parse(LDAP_OK
	                       "starttls = yes\nmembership = memberuid\n"
	                       "tls_reqcert = never\n" ROLE_OK),
	                 0);
	assert_int_equal(conf.ldap, 1);
	assert_string_equal(conf.uri, "ldap://a ldap://b");
	assert_int_equal(conf.starttls, 1);
	assert_int_equal(conf.sasl_external, 0);
	assert_int_equal(conf.membership, CONF_MEMBERSHIP_MEMBERUID);
	expect_error("[ldap]\nstarttls = maybe\n",
	             "t.conf:2: starttls: expected yes or no");
	expect_error("[ldap]\nmembership = all\n",
	             "t.conf:2: membership: not one of the allowed words");
	expect_error("[ldap]\nnetwork_timeout = 0\n",
	             "t.conf:2: network_timeout: out of range (1..60)");
	expect_error("[ldap]\ntls_cacert = ca.pem\n",
	             "t.conf:2: tls_cacert: must be an absolute path");
	expect_error("\n[ldap]\nbase = dc=x\n" ROLE_OK,
	             "t.conf:2: uri: required in [ldap]");
	expect_error("[ldap]\nuri = ldap://a\n" ROLE_OK,
	             "t.conf:1: base: required in [ldap]");
	expect_error(LDAP_OK,
	             "t.conf:1: [ldap]: no [role] section maps a group to "
	             "scopes");
	expect_error("[cache]\nnegative_ttl = -1\n",
	             "t.conf:2: negative_ttl: out of range (0..3600)");
}

/* Each word of each WORD key parses to its enum and dumps back. */
static void test_words(void **state)
{
	static const struct {
		const char *section, *key, *word;
		size_t offset;
		int value;
	} words[] = {
#define W(sec, k, w, v) {sec, #k, w, offsetof(struct pg_conf, k), v}
	    W("ldap", tls_reqcert, "demand", CONF_REQCERT_DEMAND),
	    W("ldap", tls_reqcert, "hard", CONF_REQCERT_HARD),
	    W("ldap", tls_reqcert, "try", CONF_REQCERT_TRY),
	    W("ldap", tls_reqcert, "allow", CONF_REQCERT_ALLOW),
	    W("ldap", tls_reqcert, "never", CONF_REQCERT_NEVER),
	    W("ldap", membership, "auto", CONF_MEMBERSHIP_AUTO),
	    W("ldap", membership, "memberof", CONF_MEMBERSHIP_MEMBEROF),
	    W("ldap", membership, "member", CONF_MEMBERSHIP_MEMBER),
	    W("ldap", membership, "memberuid", CONF_MEMBERSHIP_MEMBERUID),
	    W("audit", audit_sync, "batch", CONF_AUDIT_SYNC_BATCH),
	    W("audit", audit_sync, "always", CONF_AUDIT_SYNC_ALWAYS),
	    W("audit", audit_failure, "deny", CONF_AUDIT_FAILURE_DENY),
	    W("audit", audit_failure, "syslog", CONF_AUDIT_FAILURE_SYSLOG),
	    W("audit", audit_checks, "denied", CONF_AUDIT_CHECKS_DENIED),
	    W("audit", audit_checks, "all", CONF_AUDIT_CHECKS_ALL),
	    W("audit", audit_checks, "none", CONF_AUDIT_CHECKS_NONE),
	    W("push", provider, "none", CONF_PROVIDER_NONE),
	    W("push", factors, "totp,push", CONF_FACTORS_TOTP_PUSH),
	    W("push", factors, "totp", CONF_FACTORS_TOTP),
	    W("push", factors, "push", CONF_FACTORS_PUSH),
	    W("push", failmode, "secure", CONF_FAILMODE_SECURE),
	    W("push", failmode, "safe", CONF_FAILMODE_SAFE),
	    W("push", trigger, "empty", CONF_TRIGGER_EMPTY),
	    W("push", trigger, "password", CONF_TRIGGER_PASSWORD),
#undef W
	};
	char text[256], want[128], *dump = NULL;
	size_t i, len = 0;
	FILE *f;
	int v;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n%s",
		         words[i].section, words[i].key, words[i].word,
		         strcmp(words[i].section, "ldap") == 0
		             ? "uri = ldap://a\nbase = dc=x\n" ROLE_OK
		             : "");
		if (parse(text) != 0)
			fail_msg("%s = %s: %s", words[i].key, words[i].word,
			         err);
		memcpy(&v, (const char *)&conf + words[i].offset, sizeof(v));
		assert_int_equal(v, words[i].value);
		f = open_memstream(&dump, &len);
		assert_non_null(f);
		conf_dump(&conf, f);
		assert_int_equal(fclose(f), 0);
		snprintf(want, sizeof(want), "\n%s = %s\n", words[i].key,
		         words[i].word);
		assert_non_null(strstr(dump, want));
		free(dump);
		dump = NULL;
		/* Words are exact: no case folding, no prefixes. */
		snprintf(text, sizeof(text), "[%s]\n%s = %c%s\n",
		         words[i].section, words[i].key,
		         words[i].word[0] - 'a' + 'A', words[i].word + 1);
		assert_int_equal(parse(text), PG_ERR_CONFIG);
		snprintf(want, sizeof(want),
		         "t.conf:2: %s: not one of the allowed words",
		         words[i].key);
		assert_string_equal(err, want);
	}
	expect_error("[audit]\naudit_checks = \n",
	             "t.conf:2: audit_checks: not one of the allowed words");
	expect_error("[push]\nfactors = push,totp\n",
	             "t.conf:2: factors: not one of the allowed words");
	expect_error("[audit]\naudit_sync = \"batch \"\n",
	             "t.conf:2: audit_sync: not one of the allowed words");
}

/* [ldap] timeouts: seconds in the file and its dump, ms in the struct. */
static void test_durations(void **state)
{
	char *dump = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(parse(LDAP_OK "network_timeout = 1\n"
	                               "search_timeout = 60\n" ROLE_OK),
	                 0);
	assert_int_equal(conf.network_timeout_ms, 1000);
	assert_int_equal(conf.search_timeout_ms, 60000);
	f = open_memstream(&dump, &len);
	assert_non_null(f);
	conf_dump(&conf, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(dump, "\nnetwork_timeout = 1\n"));
	assert_non_null(strstr(dump, "\nsearch_timeout = 60\n"));
	free(dump);
	expect_error("[ldap]\nsearch_timeout = 61\n",
	             "t.conf:2: search_timeout: out of range (1..60)");
	expect_error("[ldap]\nsearch_timeout = 1.5\n",
	             "t.conf:2: search_timeout: not a number in 1..60");
	expect_error("[ldap]\nnetwork_timeout = 2000\n",
	             "t.conf:2: network_timeout: out of range (1..60)");
	/* Other durations stay in the file's seconds. */
	assert_int_equal(parse("[totp]\nlockout = 60\n"), 0);
	assert_int_equal(conf.lockout, 60);
}

static void test_roles(void **state)
{
	const struct pg_conf_role *r;

	(void)state;
	assert_int_equal(parse(LDAP_OK "[role nurse]\ngroup = nurses\n"
	                               "group = cn=clinical-staff,dc=x\n"
	                               "scopes = phi.read  phi.clinical\n"
	                               "terminals = ws-* nurse?\n"
	                               "[ role  breakglass ]\n"
	                               "group = breakglass\n"
	                               "scopes = phi.all\nbreakglass = yes\n"),
	                 0);
	assert_int_equal(conf.nroles, 2);
	r = &conf.roles[0];
	assert_string_equal(r->name, "nurse");
	assert_int_equal(r->ngroups, 2);
	assert_string_equal(conf_role_group(&conf, r, 0), "nurses");
	assert_string_equal(conf_role_group(&conf, r, 1),
	                    "cn=clinical-staff,dc=x");
	assert_string_equal(r->scopes, "phi.read  phi.clinical");
	assert_string_equal(r->terminals, "ws-* nurse?");
	assert_int_equal(r->breakglass, 0);
	r = &conf.roles[1];
	assert_string_equal(r->name, "breakglass");
	assert_string_equal(conf_role_group(&conf, r, 0), "breakglass");
	assert_string_equal(r->terminals, "");
	assert_int_equal(r->breakglass, 1);
	/* Roles need no [ldap]: the file is shared with the PAM module. */
	assert_int_equal(parse(ROLE_OK), 0);

	expect_error("[role]\n", "t.conf:1: [role]: missing name: [role NAME]");
	expect_error("[cache x]\n",
	             "t.conf:1: [cache x]: [cache] takes no name");
	expect_error("[role Nurse]\n",
	             "t.conf:1: role: name must be 1..31 of [a-z0-9._-]");
	expect_error(ROLE_OK "[role nurse]\n",
	             "t.conf:4: nurse: duplicate role");
	expect_error("[role a]\ngroup = g\nscopes = phi.read PHI\n",
	             "t.conf:3: scopes: scope \"PHI\" is not 1..31 of "
	             "[a-z0-9._-]");
	expect_error("[role a]\ngroup = g\nscopes = a\nscopes = b\n",
	             "t.conf:4: scopes: duplicate key (first set on line 3)");
	expect_error("[role a]\ngroup = g\nscope = a\n",
	             "t.conf:3: scope: unknown key in [role a]");
	expect_error("[role a]\ngroup = g\nbreakglass = sometimes\n",
	             "t.conf:3: breakglass: expected yes or no");
	expect_error("[role a]\ngroup = \"\"\n",
	             "t.conf:2: group: must not be empty");
	/* Checked when the section ends, reported on its header line. */
	expect_error("[role a]\nscopes = x\n[daemon]\n",
	             "t.conf:1: group: required in [role a]");
	expect_error("[daemon]\n[role a]\ngroup = g\n",
	             "t.conf:2: scopes: required in [role a]");
}

static void test_syntax_errors(void **state)
{
	expect_error("[scopes]\nnurses = phi.read\n",
	             "t.conf:1: [scopes]: unknown section");
	expect_error("[daemon]\n[Daemon]\n",
	             "t.conf:2: [Daemon]: unknown section");
	expect_error("[daemon\n", "t.conf:1: [daemon: missing ']'");
	expect_error("[daemon] x\n", "t.conf:1: [daemon] x: junk after ']'");
	expect_error("socket = /x\n",
	             "t.conf:1: socket: key before any [section]");
	expect_error("[daemon]\nfrob = 1\n",
	             "t.conf:2: frob: unknown key in [daemon]");
	/* A key of another section is unknown here. */
	expect_error("[daemon]\nwindow = 1\n",
	             "t.conf:2: window: unknown key in [daemon]");
	expect_error("[daemon]\nSocket = /x\n",
	             "t.conf:2: Socket: unknown key in [daemon]");
	expect_error("[totp]\nwindow = 1\nlockout = 5\nwindow = 2\n",
	             "t.conf:4: window: duplicate key (first set on line 2)");
	/* Also across a repeated section. */
	expect_error("[totp]\nwindow = 1\n[daemon]\n[totp]\nwindow = 1\n",
	             "t.conf:5: window: duplicate key (first set on line 2)");
	expect_error("[totp]\nwindow 2\n",
	             "t.conf:2: window: expected \"key = value\"");
	expect_error("[totp]\nwindow\n",
	             "t.conf:2: window: expected \"key = value\"");
	expect_error("[totp]\n= 2\n", "t.conf:2: =: missing key");
	expect_error("[totp]\nissuer = a\x01z\n",
	             "t.conf:2: (line): control character at column 11");
}

static void test_line_handling(void **state)
{
	const char text[] = "[totp]\r\nwindow = 4\r\nlockout = 60";

	/* CRLF line ends and no final newline. */
	assert_int_equal(parse(text), 0);
	assert_int_equal(conf.window, 4);
	assert_int_equal(conf.lockout, 60);
	/* len, not NUL, ends the text: "lockout = 6". */
	conf_defaults(&conf);
	assert_int_equal(conf_parse("t.conf", text, sizeof(text) - 2, &conf,
	                            err, sizeof(err)),
	                 0);
	assert_int_equal(conf.lockout, 6);
	/* An embedded NUL is an error, not the end of the text. */
	conf_defaults(&conf);
	assert_int_equal(conf_parse("t.conf", "[totp]\n\0window = 1\n", 19,
	                            &conf, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	assert_string_equal(err,
	                    "t.conf:2: (line): control character at column 1");
}

static void test_error_buffer(void **state)
{
	char small[12];

	conf_defaults(&conf);
	memset(small, 'X', sizeof(small));
	assert_int_equal(
	    conf_parse("t.conf", "[x]\n", 4, &conf, small, sizeof(small)),
	    PG_ERR_CONFIG);
	assert_string_equal(small, "t.conf:1: [");
	/* No buffer at all is fine too. */
	assert_int_equal(conf_parse("t.conf", "[x]\n", 4, &conf, NULL, 0),
	                 PG_ERR_CONFIG);
	/* A long unknown key is quoted back shortened. */
	expect_error(
	    "[totp]\nkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkkkkkk = 1\n",
	    "t.conf:2: kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkk: unknown key in [totp]");
}

static char *dump(const struct pg_conf *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	conf_dump(c, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_dump_round_trip(void **state)
{
	static struct pg_conf orig, back;
	static const char full[] =
	    LDAP_OK "sasl_external = yes\n[role b]\ngroup = cn=b,dc=x\n"
	            "group = g2\nscopes = s1 s2\nbreakglass = yes\n" ROLE_OK;
	static const char *const keys[] = {
	    "socket",         "state_dir", "pidfile", "user",   "max_clients",
	    "client_timeout", "log_level", "tokens",  "window", "max_failures",
	    "failure_window", "lockout",   "issuer",
	};
	char *text, needle[64];
	size_t len, i;

	conf_defaults(&orig);
	text = dump(&orig, &len);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(needle, sizeof(needle), "\n%s = ", keys[i]);
		assert_non_null(strstr(text, needle));
	}
	assert_non_null(strstr(text, "\n[daemon]\n"));
	assert_non_null(strstr(text, "\n[totp]\n"));
	conf_defaults(&back);
	assert_int_equal(conf_parse("dump", text, len, &back, err, sizeof(err)),
	                 0);
	assert_memory_equal(&orig, &back, sizeof(orig));
	free(text);

	/* Values that need quoting survive too. */
	snprintf(orig.issuer, sizeof(orig.issuer), " Org #1 ; x ");
	snprintf(orig.user, sizeof(orig.user), "a\"b#c");
	snprintf(orig.hostname, sizeof(orig.hostname), "#h");
	orig.window = 0;
	text = dump(&orig, &len);
	assert_non_null(strstr(text, "issuer = \" Org #1 ; x \"\n"));
	assert_non_null(strstr(text, "hostname = \"#h\"\n"));
	assert_non_null(strstr(text, "pidfile = \"\"\n"));
	assert_non_null(strstr(text, "user = a\"b#c\n"));
	/* No [ldap] in, none out: a dump must not switch the directory on. */
	assert_null(strstr(text, "[ldap]"));
	conf_defaults(&back);
	assert_int_equal(conf_parse("dump", text, len, &back, err, sizeof(err)),
	                 0);
	assert_memory_equal(&orig, &back, sizeof(orig));
	free(text);

	/* The directory and the roles, in file order. */
	conf_defaults(&orig);
	assert_int_equal(
	    conf_parse("t.conf", full, strlen(full), &orig, err, sizeof(err)),
	    0);
	text = dump(&orig, &len);
	assert_non_null(strstr(text, "\n[ldap]\n"));
	assert_non_null(strstr(text, "\nsasl_external = yes\n"));
	assert_non_null(strstr(text, "\n[role b]\ngroup = cn=b,dc=x\n"
	                             "group = g2\nscopes = s1 s2\n"
	                             "terminals = \"\"\nbreakglass = yes\n"
	                             "\n[role nurse]\n"));
	conf_defaults(&back);
	assert_int_equal(conf_parse("dump", text, len, &back, err, sizeof(err)),
	                 0);
	assert_memory_equal(&orig, &back, sizeof(orig));
	free(text);
}

static void test_load(void **state)
{
	char path[128], want[256];

	snprintf(path, sizeof(path), "%s/phiguard.conf", tu_tmpdir);
	tu_write_file(path, "[totp]\nwindow = 2\n", 0644);
	conf_defaults(&conf);
	assert_int_equal(conf_load(path, 0, &conf, err, sizeof(err)), 0);
	assert_int_equal(conf.window, 2);

	/* A config file is public, but nobody else may write it. */
	tu_write_file(path, "[totp]\nwindow = 2\n", 0664);
	conf_defaults(&conf);
	assert_int_equal(conf_load(path, 0, &conf, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want),
	         "%s: mode 0664 allows group/other write access (want 0644)",
	         path);
	assert_string_equal(err, want);

	tu_write_file(path, "[totp]\nwindow = 99\n", 0600);
	assert_int_equal(conf_load(path, 0, &conf, err, sizeof(err)),
	                 PG_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:2: window: out of range (0..10)",
	         path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/missing.conf", tu_tmpdir);
	assert_int_equal(conf_load(path, 0, &conf, err, sizeof(err)),
	                 PG_ERR_NOTFOUND);
}

static void test_load_owner(void **state)
{
	char path[128], want[256];

	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/owned.conf", tu_tmpdir);
	tu_write_file(path, "[totp]\nwindow = 3\n", 0644);
	conf_defaults(&conf);
	assert_int_equal(conf_load(path, 1, &conf, err, sizeof(err)), 0);
	assert_int_equal(conf.window, 3);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(conf_load(path, 1, &conf, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	snprintf(want, sizeof(want), "%s: must be owned by uid 0 (is 65534)",
	         path);
	assert_string_equal(err, want);
	/* check_owner == 0 is for tests run by someone else. */
	assert_int_equal(conf_load(path, 0, &conf, err, sizeof(err)), 0);
}

#define DUO_OK                                                                 \
	"[push]\nprovider = duo\nhost = api-abcd1234.duosecurity.com\n"        \
	"ikey = DIXYZV6YM8IFYVWBINCA\nskey_file = /etc/phiguard/duo.skey\n"

static void test_push(void **state)
{
	(void)state;
	conf_defaults(&conf);
	assert_int_equal(conf.provider, CONF_PROVIDER_NONE);
	assert_int_equal(conf.factors, CONF_FACTORS_TOTP_PUSH);
	assert_int_equal(conf.failmode, CONF_FAILMODE_SECURE);
	assert_int_equal(conf.push_timeout, 60);
	assert_int_equal(conf.connect_timeout, 5);
	assert_int_equal(conf.push_max_unanswered, 3);
	assert_string_equal(conf.ca_file, "");
	assert_string_equal(conf.proxy, "");
	/* Without a provider the rest need not be set. */
	assert_int_equal(parse("[push]\nfactors = totp\nfailmode = safe\n"
	                       "push_timeout = 5\nconnect_timeout = 1\n"
	                       "push_max_unanswered = 1\n"),
	                 0);
	assert_int_equal(conf.factors, CONF_FACTORS_TOTP);
	assert_int_equal(conf.failmode, CONF_FAILMODE_SAFE);
	assert_int_equal(conf.push_timeout, 5);
	assert_int_equal(parse(DUO_OK "ca_file = /etc/ca.pem\n"
	                              "proxy = http://proxy:3128\n"),
	                 0);
	assert_int_equal(conf.provider, CONF_PROVIDER_DUO);
	assert_string_equal(conf.host, "api-abcd1234.duosecurity.com");
	assert_string_equal(conf.proxy, "http://proxy:3128");
	assert_int_equal(parse("[push]\nprovider = duo\nhost = localhost:8443\n"
	                       "ikey = X\nskey_file = /k\n"),
	                 0);
	assert_int_equal(
	    parse("[push]\nprovider = privacyidea\nurl = https://pi.example/\n"
	          "realm = staff\nservice_user = svc\n"
	          "service_password_file = /etc/phiguard/pi.pw\n"),
	    0);
	assert_string_equal(conf.url, "https://pi.example/");
	assert_int_equal(conf.trigger, CONF_TRIGGER_EMPTY);
	assert_int_equal(parse("[push]\ntrigger = password\n"), 0);
	assert_int_equal(conf.trigger, CONF_TRIGGER_PASSWORD);
	expect_error("[push]\ntrigger = pin\n",
	             "t.conf:2: trigger: not one of the allowed words");
	/* Words, ranges, paths. */
	expect_error("[push]\nprovider = okta\n",
	             "t.conf:2: provider: not one of the allowed words");
	expect_error("[push]\nfactors = sms\n",
	             "t.conf:2: factors: not one of the allowed words");
	expect_error("[push]\nfailmode = open\n",
	             "t.conf:2: failmode: not one of the allowed words");
	expect_error("[push]\npush_timeout = 1\n",
	             "t.conf:2: push_timeout: out of range (2..600)");
	expect_error("[push]\nconnect_timeout = 61\n",
	             "t.conf:2: connect_timeout: out of range (1..60)");
	expect_error("[push]\nskey_file = duo.skey\n",
	             "t.conf:2: skey_file: must be an absolute path");
	expect_error("[push]\nca_file = ca.pem\n",
	             "t.conf:2: ca_file: must be an absolute path");
	/* Cross-key rules, on the [push] header line. */
	expect_error("\n[push]\nprovider = duo\nhost = h\nikey = i\n",
	             "t.conf:2: provider: duo needs host, ikey and skey_file");
	expect_error("[push]\nprovider = duo\nhost = https://h/\nikey = i\n"
	             "skey_file = /k\n",
	             "t.conf:1: host: must be a host name[:port]");
	expect_error("[push]\nprovider = duo\nhost = h:99999999\nikey = i\n"
	             "skey_file = /k\n",
	             "t.conf:1: host: must be a host name[:port]");
	expect_error("[push]\nprovider = privacyidea\nurl = http://pi/\n",
	             "t.conf:1: url: privacyidea needs an https:// url");
	expect_error("[push]\nprovider = privacyidea\n",
	             "t.conf:1: url: privacyidea needs an https:// url");
	expect_error("[push]\nprovider = privacyidea\nurl = https://pi/\n"
	             "service_user = svc\n",
	             "t.conf:1: service_user: service_user and "
	             "service_password_file go together");
	expect_error("[push]\nproxy = \"http://a b\"\n",
	             "t.conf:1: proxy: must not contain blanks");
}

static void test_detect(void **state)
{
	FILE *f;
	char *dump = NULL;
	size_t len = 0;

	(void)state;
	conf_defaults(&conf);
	assert_int_equal(conf.spray_users, 5);
	assert_int_equal(conf.spray_window, 600);
	assert_int_equal(conf.spray_block, 0);
	assert_int_equal(conf.hour_min_logins, 20);
	assert_int_equal(conf.hour_percent, 2);
	assert_string_equal(conf.alert_webhook, "");
	assert_string_equal(conf.alert_webhook_ca, "");
	assert_string_equal(conf.alert_webhook_proxy, "");
	assert_int_equal(conf.alert_webhook_timeout, 5);
	assert_int_equal(parse("[detect]\nspray_users = 2\nspray_window = 60\n"
	                       "spray_block = 3600\nhour_min_logins = 500\n"
	                       "hour_percent = 0\n"
	                       "alert_webhook = https://siem.example/hook?k=1\n"
	                       "alert_webhook_ca = /etc/phiguard/siem-ca.pem\n"
	                       "alert_webhook_proxy = http://proxy:3128\n"
	                       "alert_webhook_timeout = 60\n"),
	                 0);
	assert_int_equal(conf.spray_users, 2);
	assert_int_equal(conf.spray_window, 60);
	assert_int_equal(conf.spray_block, 3600);
	assert_int_equal(conf.hour_min_logins, 500);
	assert_int_equal(conf.hour_percent, 0);
	assert_string_equal(conf.alert_webhook,
	                    "https://siem.example/hook?k=1");
	assert_string_equal(conf.alert_webhook_ca, "/etc/phiguard/siem-ca.pem");
	assert_string_equal(conf.alert_webhook_proxy, "http://proxy:3128");
	assert_int_equal(conf.alert_webhook_timeout, 60);
	/* The dump carries every [detect] key and parses back the same. */
	assert_non_null(f = open_memstream(&dump, &len));
	conf_dump(&conf, f);
	fclose(f);
	assert_non_null(strstr(dump, "[detect]"));
	assert_non_null(strstr(dump, "spray_block = 3600"));
	assert_int_equal(parse(dump), 0);
	assert_string_equal(conf.alert_webhook,
	                    "https://siem.example/hook?k=1");
	assert_int_equal(conf.spray_block, 3600);
	free(dump);
	/* Ranges. */
	expect_error("[detect]\nspray_users = 1\n",
	             "t.conf:2: spray_users: out of range (2..100)");
	expect_error("[detect]\nspray_users = 101\n",
	             "t.conf:2: spray_users: out of range (2..100)");
	expect_error("[detect]\nspray_window = 0\n",
	             "t.conf:2: spray_window: out of range (1..604800)");
	expect_error("[detect]\nspray_block = -1\n",
	             "t.conf:2: spray_block: out of range (0..604800)");
	expect_error("[detect]\nhour_min_logins = 501\n",
	             "t.conf:2: hour_min_logins: out of range (1..500)");
	expect_error("[detect]\nhour_percent = 101\n",
	             "t.conf:2: hour_percent: out of range (0..100)");
	expect_error("[detect]\nalert_webhook_timeout = 0\n",
	             "t.conf:2: alert_webhook_timeout: out of range (1..60)");
	expect_error("[detect]\nalert_webhook_ca = ca.pem\n",
	             "t.conf:2: alert_webhook_ca: must be an absolute path");
	expect_error("[detect]\nspray = 5\n",
	             "t.conf:2: spray: unknown key in [detect]");
	/* HTTPS only, reported on the [detect] header line. */
	expect_error("\n[detect]\nalert_webhook = http://siem.example/\n",
	             "t.conf:2: alert_webhook: must be an https:// URL");
	expect_error("[detect]\nalert_webhook = https://\n",
	             "t.conf:1: alert_webhook: must be an https:// URL");
	expect_error("[detect]\nalert_webhook = \"https://a b/\"\n",
	             "t.conf:1: alert_webhook: must be an https:// URL");
	expect_error("[detect]\nalert_webhook_proxy = \"http://a b\"\n",
	             "t.conf:1: alert_webhook_proxy: must not contain blanks");
}

/* ---- conf_parse_select: what one program reads */

/* What phiguardctl's daemon commands and the PAM module read. */
static const char *const ctl_keys[] = {"daemon.socket", "daemon.user", NULL};
static const char *const module_keys[] = {"daemon.socket", "totp.tokens",
                                          "totp.window", "push", NULL};

/* The warnings a reader that goes on was given. */
static struct {
	unsigned n;
	char msg[8][PG_CONF_ERRLEN];
} warns;

static void collect(void *arg, const char *msg)
{
	(void)arg;
	if (warns.n < 8)
		snprintf(warns.msg[warns.n], sizeof(warns.msg[0]), "%s", msg);
	warns.n++;
}

static int parse_sel(const char *text, const char *const *keys, int go_on)
{
	struct conf_select sel = {keys, go_on ? collect : NULL, NULL};

	conf_defaults(&conf);
	memset(&warns, 0, sizeof(warns));
	err[0] = '\0';
	return conf_parse_select("t.conf", text, strlen(text), &sel, &conf, err,
	                         sizeof(err));
}

/* Everything phiguardd would refuse, outside the keys a reader reads. */
#define BROKEN_ELSEWHERE                                                       \
	"max_clients = 0\n"                                                    \
	"frob = 1\n"                                                           \
	"state_dir = relative\n"                                               \
	"hostname = a # b\n"                                                   \
	"socket_path /x\n"                                                     \
	"[ldap]\nuri = ldap://a\nbse = dc=x\nbase = dc=x # c\n"                \
	"[cache]\nttl = forever\n"                                             \
	"[scopes]\nnurses = phi.read\n"                                        \
	"[role Nurse]\ngroup = Team #5\n"                                      \
	"[role a\nfoo\n"                                                       \
	"[role b]\nscope = x\ngroup = \"open\n"                                \
	"[detect] # alerts\n\x01\n"                                            \
	"[rol c]\n"

/* [tokens]: the store and phiguardctl's credential; "base" there is not
 * [ldap]'s. */
static void test_tokens(void **state)
{
	conf_defaults(&conf);
	assert_int_equal(conf.store, PG_TOKEN_STORE_FILE);
	assert_string_equal(conf.admin_bind_dn, "");
	assert_int_equal(parse("[ldap]\n"
	                       "uri = ldap://127.0.0.1/\n"
	                       "base = dc=example\n"
	                       "[role r]\n"
	                       "group = g\n"
	                       "scopes = s\n"
	                       "[tokens]\n"
	                       "store = ldap\n"
	                       "base = ou=otp,dc=example\n"
	                       "admin_bind_dn = cn=admin,dc=example\n"
	                       "admin_password_file = /etc/pg/admin.pw\n"),
	                 0);
	assert_int_equal(conf.store, PG_TOKEN_STORE_LDAP);
	assert_string_equal(conf.token_base, "ou=otp,dc=example");
	assert_string_equal(conf.base, "dc=example");
	assert_string_equal(conf.admin_bind_dn, "cn=admin,dc=example");
	assert_string_equal(conf.admin_password_file, "/etc/pg/admin.pw");
	expect_error("[tokens]\nstore = nfs\n",
	             "t.conf:2: store: not one of the allowed words");
	expect_error("[tokens]\nadmin_password_file = admin.pw\n",
	             "t.conf:2: admin_password_file: must be an absolute path");
}

static void test_select_skips_the_rest(void **state)
{
	static struct pg_conf full;
	static const char good[] = "[daemon]\nsocket = /run/x.sock\n"
	                           "user = pg\nmax_clients = 9\n"
	                           "[totp]\ntokens = /t\nwindow = 3\n"
	                           "lockout = 60\n" LDAP_OK ROLE_OK;

	(void)state;
	/* Lines before any header belong to no section read. */
	assert_int_equal(parse_sel("socket = /before\n[daemon]\n"
	                           "socket = /run/x.sock\n" BROKEN_ELSEWHERE,
	                           ctl_keys, 0),
	                 0);
	assert_string_equal(conf.socket, "/run/x.sock");
	assert_int_equal(conf.max_clients, 64);
	assert_string_equal(conf.hostname, "");
	assert_int_equal(conf.ldap, 0);
	assert_int_equal(conf.nroles, 0);
	/* The same with a reader that goes on: nothing to report. */
	assert_int_equal(
	    parse_sel("[daemon]\nsocket = /run/x.sock\n" BROKEN_ELSEWHERE
	              "[push]\nfactors = totp\n",
	              module_keys, 1),
	    0);
	assert_int_equal(warns.n, 0);
	assert_string_equal(conf.socket, "/run/x.sock");
	assert_int_equal(conf.factors, CONF_FACTORS_TOTP);
	/* The daemon refuses it all. */
	expect_error("[daemon]\n" BROKEN_ELSEWHERE,
	             "t.conf:2: max_clients: out of range (1..4096)");
	/* A good file: the keys read are what the whole parse gives. */
	conf_defaults(&full);
	assert_int_equal(
	    conf_parse("t.conf", good, strlen(good), &full, err, sizeof(err)),
	    0);
	assert_int_equal(parse_sel(good, module_keys, 0), 0);
	assert_string_equal(conf.socket, full.socket);
	assert_string_equal(conf.tokens, full.tokens);
	assert_int_equal(conf.window, full.window);
	assert_int_equal(conf.lockout, 900);
	assert_string_equal(conf.user, "");
}

static void test_select_strict(void **state)
{
	(void)state;
	/* An error in a key read still fails a strict reader. */
	assert_int_equal(
	    parse_sel("[daemon]\nsocket = run.sock\n", ctl_keys, 0),
	    PG_ERR_CONFIG);
	assert_string_equal(err, "t.conf:2: socket: must be an absolute path");
	assert_int_equal(
	    parse_sel("[daemon]\nuser = a\nuser = b\n", ctl_keys, 0),
	    PG_ERR_CONFIG);
	assert_string_equal(
	    err, "t.conf:3: user: duplicate key (first set on line 2)");
	assert_int_equal(parse_sel("[daemon]\nsocket /x\n", ctl_keys, 0),
	                 PG_ERR_CONFIG);
	assert_string_equal(err, "t.conf:2: socket: expected \"key = value\"");
	assert_int_equal(parse_sel("[daemon]\nsocket = /x # y\n", ctl_keys, 0),
	                 PG_ERR_CONFIG);
	assert_int_equal(parse_sel("[daemon]\nsocket = /x\x01\n", ctl_keys, 0),
	                 PG_ERR_CONFIG);
	assert_string_equal(err,
	                    "t.conf:2: (line): control character at column 12");
	/* A broken header of a section read is not skipped in silence. */
	assert_int_equal(parse_sel("[daemon\nsocket = /x\n", ctl_keys, 0),
	                 PG_ERR_CONFIG);
	assert_string_equal(err, "t.conf:1: [daemon: missing ']'");
	assert_int_equal(parse_sel("[daemon] # d\n", ctl_keys, 0),
	                 PG_ERR_CONFIG);
	assert_int_equal(parse_sel("[ daemon x]\n", ctl_keys, 0),
	                 PG_ERR_CONFIG);
	assert_string_equal(err,
	                    "t.conf:1: [ daemon x]: [daemon] takes no name");
	/* A section read whole: unknown keys and cross-key rules count. */
	assert_int_equal(parse_sel("[push]\nfailmod = safe\n", module_keys, 0),
	                 PG_ERR_CONFIG);
	assert_string_equal(err, "t.conf:2: failmod: unknown key in [push]");
	assert_int_equal(parse_sel("[push]\nprovider = duo\n", module_keys, 0),
	                 PG_ERR_CONFIG);
	assert_string_equal(
	    err, "t.conf:1: provider: duo needs host, ikey and skey_file");
	/* ... not when only some of its keys are read. */
	{
		static const char *const some_push[] = {"push.factors", NULL};

		assert_int_equal(parse_sel("[push]\nprovider = duo\nfrob = 1\n"
		                           "factors = totp\n",
		                           some_push, 0),
		                 0);
		assert_int_equal(conf.factors, CONF_FACTORS_TOTP);
		assert_int_equal(conf.provider, CONF_PROVIDER_NONE);
	}
	/* [ldap] read without [role]: nothing to check the roles against. */
	{
		static const char *const ldap_only[] = {"ldap", NULL};

		assert_int_equal(parse_sel(LDAP_OK, ldap_only, 0), 0);
		assert_int_equal(conf.ldap, 1);
		assert_int_equal(
		    parse_sel("[ldap]\nbase = dc=x\n", ldap_only, 0),
		    PG_ERR_CONFIG);
		assert_string_equal(err, "t.conf:1: uri: required in [ldap]");
	}
}

static void test_select_bad_lists(void **state)
{
	static const char *const unknown_section[] = {"daemon", "polcy", NULL};
	static const char *const unknown_key[] = {"daemon.sockett", NULL};
	static const char *const role_key[] = {"role.group", NULL};
	static const char *const ldap[] = {"ldap", NULL};
	static const char *const role[] = {"role", NULL};
	static const char *const ldap_key[] = {"ldap.uri", NULL};
	struct conf_select nokeys = {NULL, NULL, NULL};

	(void)state;
	assert_int_equal(parse_sel("", unknown_section, 0), PG_ERR_INVAL);
	assert_int_equal(parse_sel("", unknown_key, 0), PG_ERR_INVAL);
	assert_int_equal(parse_sel("", role_key, 0), PG_ERR_INVAL);
	assert_int_equal(parse_sel("", ldap, 0), 0);
	assert_int_equal(parse_sel("", role, 0), 0);
	/* Falling back to defaults makes no sense for these. */
	assert_int_equal(parse_sel("", ldap, 1), PG_ERR_INVAL);
	assert_int_equal(parse_sel("", role, 1), PG_ERR_INVAL);
	assert_int_equal(parse_sel("", ldap_key, 1), PG_ERR_INVAL);
	assert_int_equal(conf_parse_select("t.conf", "", 0, &nokeys, &conf, err,
	                                   sizeof(err)),
	                 PG_ERR_INVAL);
}

#define DUO_PUSH_KEYS "provider = duo\nhost = h\nikey = i\nskey_file = /k\n"

static void test_select_goes_on(void **state)
{
	(void)state;
	/* Each broken key read is reported and keeps its default. */
	assert_int_equal(parse_sel("[daemon]\nsocket = run.sock\n"
	                           "[totp]\ntokens = /t\nwindow = 99\n"
	                           "[push]\nfailmode = open\nfactors = totp\n"
	                           "frob = 1\n",
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 4);
	assert_string_equal(warns.msg[0],
	                    "t.conf:2: socket: must be an absolute path");
	assert_string_equal(warns.msg[1],
	                    "t.conf:5: window: out of range (0..10)");
	assert_string_equal(warns.msg[2],
	                    "t.conf:7: failmode: not one of the allowed words");
	assert_string_equal(warns.msg[3],
	                    "t.conf:9: frob: unknown key in [push]");
	assert_string_equal(conf.socket, PG_DEFAULT_SOCKET);
	assert_string_equal(conf.tokens, "/t");
	assert_int_equal(conf.window, 1);
	assert_int_equal(conf.failmode, CONF_FAILMODE_SECURE);
	assert_int_equal(conf.factors, CONF_FACTORS_TOTP);
	/* A key set twice, or broken and then set again: the default. */
	assert_int_equal(parse_sel("[totp]\nwindow = 3\nwindow = 4\n"
	                           "[push]\nfailmode = safe # x\n"
	                           "failmode = safe\n",
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 3);
	assert_int_equal(conf.window, 1);
	assert_int_equal(conf.failmode, CONF_FAILMODE_SECURE);
	assert_string_equal(warns.msg[2],
	                    "t.conf:6: failmode: duplicate key (first set on "
	                    "line 5)");
	/* A broken header of a section read: reported, its lines skipped. */
	assert_int_equal(parse_sel("[push] # the phone\nfailmode = safe\n"
	                           "[totp]\nwindow = 2\n",
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 1);
	assert_int_equal(conf.failmode, CONF_FAILMODE_SECURE);
	assert_int_equal(conf.window, 2);
	/* [push] keys that do not fit together: push is switched off. */
	assert_int_equal(parse_sel("[push]\nprovider = duo\nhost = h\n"
	                           "proxy = \"http://a b\"\nfailmode = safe\n",
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 1);
	assert_string_equal(warns.msg[0], "t.conf:1: proxy: must not contain "
	                                  "blanks");
	assert_int_equal(conf.provider, CONF_PROVIDER_NONE);
	assert_string_equal(conf.proxy, "");
	assert_string_equal(conf.host, "h");
	assert_int_equal(conf.failmode, CONF_FAILMODE_SAFE);
	/* So is a [push] with any error: without its CA file the push
	 * would trust every CA of the system store. */
	assert_int_equal(parse_sel("[push]\nca_file = ca.pem\n" DUO_PUSH_KEYS
	                           "[push]\nproxy = http://p:3128\n",
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 1);
	assert_string_equal(warns.msg[0],
	                    "t.conf:2: ca_file: must be an absolute path");
	assert_int_equal(conf.provider, CONF_PROVIDER_NONE);
	assert_string_equal(conf.proxy, "");
	assert_string_equal(conf.ca_file, "");
	/* ... or a broken second [push] header, whose keys were lost. */
	assert_int_equal(parse_sel("[push]\n" DUO_PUSH_KEYS
	                           "[push] ; CA\nca_file = /ca.pem\n",
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 1);
	assert_int_equal(conf.provider, CONF_PROVIDER_NONE);
	/* The same file without the error: push on. */
	assert_int_equal(parse_sel("[push]\nca_file = /ca.pem\n" DUO_PUSH_KEYS,
	                           module_keys, 1),
	                 0);
	assert_int_equal(warns.n, 0);
	assert_int_equal(conf.provider, CONF_PROVIDER_DUO);
	/* [detect] likewise: the webhook is switched off. */
	{
		static const char *const detect[] = {"detect", NULL};

		assert_int_equal(
		    parse_sel("[detect]\nalert_webhook = http://x/\n"
		              "spray_users = 3\n",
		              detect, 1),
		    0);
		assert_int_equal(warns.n, 1);
		assert_string_equal(conf.alert_webhook, "");
		assert_int_equal(conf.spray_users, 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_push),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_quotes_and_comments),
	    cmocka_unit_test(test_no_inline_comments),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_line_handling),
	    cmocka_unit_test(test_error_buffer),
	    cmocka_unit_test(test_dump_round_trip),
	    cmocka_unit_test(test_ldap_and_cache),
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_load_owner),
	    cmocka_unit_test(test_select_skips_the_rest),
	    cmocka_unit_test(test_select_strict),
	    cmocka_unit_test(test_select_bad_lists),
	    cmocka_unit_test(test_select_goes_on),
	};

	return cmocka_run_group_tests(tests, tu_setup_tmpdir,
	                              tu_teardown_tmpdir);
}
