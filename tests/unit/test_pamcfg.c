/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for pam/pamcfg.c: every module argument, its bad values, and
 * the merge with phiguard.conf. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"
#include "conf.h"
#include "err.h"
#include "pam/pamcfg.h"
#include "testutil.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parse argv on top of the defaults; returns the pg_err. */
static int parse(struct pamcfg *cfg, int argc, const char **argv, char *err,
                 size_t errlen)
{
	pamcfg_defaults(cfg);
	return pamcfg_parse_args(cfg, argc, argv, err, errlen);
}

/* Assert that the single argument arg is refused, naming its option. */
static void refuse(const char *arg, const char *name)
{
	struct pamcfg cfg, before;
	const char *argv[] = {"debug", arg};
	char err[256] = "";

	pamcfg_defaults(&cfg);
	before = cfg;
	assert_int_equal(
	    pamcfg_parse_args(&cfg, ARGC(argv), argv, err, sizeof(err)),
	    PG_ERR_INVAL);
	/* Nothing is applied from a rejected argument list, not even the
	 * good arguments before the bad one. */
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	assert_non_null(strstr(err, name));
	assert_true(strncmp(err, name, strlen(name)) == 0);
}

static void test_defaults(void **state)
{
	struct pamcfg cfg;
	char err[256];

	assert_int_equal(parse(&cfg, 0, NULL, err, sizeof(err)), 0);
	assert_string_equal(cfg.config, PG_DEFAULT_CONFIG);
	assert_false(cfg.config_set);
	assert_string_equal(cfg.tokens, "");
	assert_string_equal(cfg.socket, "");
	assert_int_equal(cfg.window, -1);
	assert_string_equal(cfg.prompt, "Verification code: ");
	assert_int_equal(cfg.no_token, PAMCFG_NO_TOKEN_DENY);
	assert_int_equal(cfg.authtok, PAMCFG_AUTHTOK_PROMPT);
	assert_int_equal(cfg.daemon_down, PAMCFG_DAEMON_DOWN_DENY);
	assert_int_equal(cfg.timeout_ms, 5000);
	assert_false(cfg.debug);
	assert_int_equal(cfg.n_unknown, 0);
}

static void test_every_option(void **state)
{
	const char *argv[] = {
	    "config=/etc/pg.conf",    "tokens=/etc/pg.tokens",
	    "socket=/run/pg.sock",    "window=3",
	    "prompt=One-time code: ", "no_token=ignore",
	    "daemon_timeout=0.5",     "daemon_down=ignore",
	    "try_first_pass",         "debug",
	};
	struct pamcfg cfg;
	char err[256] = "";

	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(cfg.config, "/etc/pg.conf");
	assert_true(cfg.config_set);
	assert_string_equal(cfg.tokens, "/etc/pg.tokens");
	assert_string_equal(cfg.socket, "/run/pg.sock");
	assert_int_equal(cfg.window, 3);
	assert_string_equal(cfg.prompt, "One-time code: ");
	assert_int_equal(cfg.no_token, PAMCFG_NO_TOKEN_IGNORE);
	assert_int_equal(cfg.timeout_ms, 500);
	assert_int_equal(cfg.daemon_down, PAMCFG_DAEMON_DOWN_IGNORE);
	assert_int_equal(cfg.authtok, PAMCFG_AUTHTOK_TRY);
	assert_true(cfg.debug);
	assert_int_equal(cfg.n_unknown, 0);
}

static void test_later_wins(void **state)
{
	const char *argv[] = {"window=1", "no_token=ignore", "window=4",
	                      "no_token=deny"};
	struct pamcfg cfg;
	char err[256];

	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(cfg.window, 4);
	assert_int_equal(cfg.no_token, PAMCFG_NO_TOKEN_DENY);
}

static void test_use_first_pass_wins(void **state)
{
	const char *a1[] = {"use_first_pass", "try_first_pass"};
	const char *a2[] = {"try_first_pass", "use_first_pass"};
	struct pamcfg cfg;
	char err[256];

	assert_int_equal(parse(&cfg, ARGC(a1), a1, err, sizeof(err)), 0);
	assert_int_equal(cfg.authtok, PAMCFG_AUTHTOK_USE);
	assert_int_equal(parse(&cfg, ARGC(a2), a2, err, sizeof(err)), 0);
	assert_int_equal(cfg.authtok, PAMCFG_AUTHTOK_USE);
}

static void test_window(void **state)
{
	static const char *good[] = {"window=0", "window=10", "window=007"};
	static const long want[] = {0, 10, 7};
	struct pamcfg cfg;
	char err[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(parse(&cfg, 1, &good[i], err, sizeof(err)), 0);
		assert_int_equal(cfg.window, want[i]);
	}
	refuse("window=11", "window");
	refuse("window=-1", "window");
	refuse("window=+1", "window");
	refuse("window= 1", "window");
	refuse("window=abc", "window");
	refuse("window=1x", "window");
	refuse("window=", "window");
	refuse("window=99999999999999999999999", "window");
}

static void test_daemon_timeout(void **state)
{
	static const struct {
		const char *arg;
		int ms;
	} good[] = {
	    {"daemon_timeout=2", 2000},    {"daemon_timeout=0.5", 500},
	    {"daemon_timeout=1.25", 1250}, {"daemon_timeout=0.1", 100},
	    {"daemon_timeout=30", 30000},  {"daemon_timeout=30.000", 30000},
	    {"daemon_timeout=02.5", 2500}, {"daemon_timeout=1.001", 1001},
	};
	struct pamcfg cfg;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *argv[1] = {good[i].arg};

		assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
		assert_int_equal(cfg.timeout_ms, good[i].ms);
	}
	refuse("daemon_timeout=0", "daemon_timeout");
	refuse("daemon_timeout=0.05", "daemon_timeout");
	refuse("daemon_timeout=30.001", "daemon_timeout");
	refuse("daemon_timeout=31", "daemon_timeout");
	refuse("daemon_timeout=1.2345", "daemon_timeout");
	refuse("daemon_timeout=.5", "daemon_timeout");
	refuse("daemon_timeout=1.", "daemon_timeout");
	refuse("daemon_timeout=-1", "daemon_timeout");
	refuse("daemon_timeout=1s", "daemon_timeout");
	refuse("daemon_timeout=", "daemon_timeout");
	refuse("daemon_timeout=99999999999999999999", "daemon_timeout");
}

static void test_prompt(void **state)
{
	char arg[8 + PAMCFG_MAX_PROMPT + 2];
	const char *argv[1] = {arg};
	struct pamcfg cfg;
	char err[256];

	snprintf(arg, sizeof(arg), "prompt=%s", "");
	memset(arg + 7, 'x', PAMCFG_MAX_PROMPT);
	arg[7 + PAMCFG_MAX_PROMPT] = '\0';
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.prompt), PAMCFG_MAX_PROMPT);
	arg[7 + PAMCFG_MAX_PROMPT] = 'x';
	arg[8 + PAMCFG_MAX_PROMPT] = '\0';
	refuse(arg, "prompt");
	refuse("prompt=", "prompt");
	refuse("prompt=code\033[2J: ", "prompt");
	refuse("prompt=code\n", "prompt");
	refuse("prompt=\x7f", "prompt");
}

static void test_paths(void **state)
{
	char arg[PG_CONF_MAX_PATH + 16];

	refuse("config=etc/phiguard.conf", "config");
	refuse("tokens=tokens", "tokens");
	refuse("socket=", "socket");
	snprintf(arg, sizeof(arg), "tokens=/");
	memset(arg + 8, 'a', PG_CONF_MAX_PATH);
	arg[7 + PG_CONF_MAX_PATH] = '\0'; /* exactly PG_CONF_MAX_PATH bytes */
	refuse(arg, "tokens");
}

static void test_no_token(void **state)
{
	refuse("no_token=allow", "no_token");
	refuse("no_token=", "no_token");
	refuse("no_token=DENY", "no_token");
}

static void test_daemon_down(void **state)
{
	const char *argv[] = {"daemon_down=ignore", "daemon_down=deny"};
	struct pamcfg cfg;
	char err[256];

	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(cfg.daemon_down, PAMCFG_DAEMON_DOWN_DENY);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(cfg.daemon_down, PAMCFG_DAEMON_DOWN_IGNORE);
	refuse("daemon_down=allow", "daemon_down");
	refuse("daemon_down=", "daemon_down");
	refuse("daemon_down=Ignore", "daemon_down");
}

static void test_unknown(void **state)
{
	/* Near misses of real options are unknown, not silently taken. */
	const char *argv[] = {"bogus", "window",    "debug=1",   "config",
	                      "Debug", "use_first", "window:=1", "x=y",
	                      "nine",  "ten",       "window=2"};
	struct pamcfg cfg;
	char err[256];

	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_unknown, 10);
	assert_string_equal(cfg.unknown[0], "bogus");
	assert_string_equal(cfg.unknown[1], "window");
	assert_string_equal(cfg.unknown[7], "x=y");
	assert_false(cfg.debug);
	assert_int_equal(cfg.window, 2);
}

static void test_null_argv_entry(void **state)
{
	const char *argv[] = {NULL, "debug"};
	struct pamcfg cfg;
	char err[256];

	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_true(cfg.debug);
	assert_int_equal(cfg.n_unknown, 0);
}

static void test_factors_failmode(void **state)
{
	struct pamcfg cfg;
	char err[256];
	const char *a1[] = {"factors=totp", "failmode=safe"};
	const char *a2[] = {"factors=push,totp", "failmode=secure"};
	const char *a3[] = {"factors=push"};

	assert_int_equal(parse(&cfg, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(cfg.factors, 0);
	assert_int_equal(cfg.failmode, PAMCFG_FAILMODE_UNSET);
	assert_int_equal(parse(&cfg, ARGC(a1), a1, err, sizeof(err)), 0);
	assert_int_equal(cfg.factors, PAMCFG_FACTOR_TOTP);
	assert_int_equal(cfg.failmode, PAMCFG_FAILMODE_SAFE);
	assert_int_equal(parse(&cfg, ARGC(a2), a2, err, sizeof(err)), 0);
	assert_int_equal(cfg.factors, PAMCFG_FACTOR_TOTP | PAMCFG_FACTOR_PUSH);
	assert_int_equal(cfg.failmode, PAMCFG_FAILMODE_SECURE);
	assert_int_equal(parse(&cfg, ARGC(a3), a3, err, sizeof(err)), 0);
	assert_int_equal(cfg.factors, PAMCFG_FACTOR_PUSH);
	refuse("factors=sms", "factors");
	refuse("factors=", "factors");
	refuse("factors=totp,", "factors");
	refuse("failmode=open", "failmode");
	refuse("failmode=", "failmode");
}

/* ---- pamcfg_resolve: needs root-owned files, as the module does. */

/* The config's path in tu_tmpdir; set by setup_dir(). */
static char conf_path[128];

static int setup_dir(void **state)
{
	if (tu_setup_tmpdir(state) != 0)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s", tu_path("phiguard.conf"));
	return 0;
}

static void need_root(void)
{
	/* conf_load insists on a root-owned file, as it must in sshd. */
	if (geteuid() != 0)
		skip();
}

static void test_resolve_missing_default(void **state)
{
	struct pamcfg cfg;
	char err[256];

	pamcfg_defaults(&cfg);
	/* As if the default path held no file. */
	snprintf(cfg.config, sizeof(cfg.config), "%s/absent.conf", tu_tmpdir);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.tokens, SYSCONFDIR "/phiguard/tokens");
	assert_string_equal(cfg.socket, PG_DEFAULT_SOCKET);
	assert_int_equal(cfg.window, 1);
	assert_string_equal(cfg.key_file, "");
}

static void test_resolve_missing_explicit(void **state)
{
	struct pamcfg cfg, before;
	char arg[160], err[256] = "";
	const char *argv[1] = {arg};

	snprintf(arg, sizeof(arg), "config=%s/absent.conf", tu_tmpdir);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	before = cfg;
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)),
	                 PG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "absent.conf"));
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static void test_resolve_from_file(void **state)
{
	struct pamcfg cfg;
	char arg[160], err[256] = "";
	const char *argv[1] = {arg};

	need_root();
	tu_write_file(conf_path,
	              "[daemon]\nsocket = /run/x.sock\n"
	              "[totp]\ntokens = /etc/x.tokens\nwindow = 4\n"
	              "[tokens]\nkey_file = /etc/x.key\n",
	              0644);
	snprintf(arg, sizeof(arg), "config=%s", conf_path);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.socket, "/run/x.sock");
	assert_string_equal(cfg.tokens, "/etc/x.tokens");
	assert_int_equal(cfg.window, 4);
	assert_string_equal(cfg.key_file, "/etc/x.key");
}

static void test_resolve_args_win(void **state)
{
	struct pamcfg cfg;
	char arg[160], err[256] = "";
	const char *argv[] = {arg, "tokens=/a/tokens", "socket=/a/sock",
	                      "window=0"};

	need_root();
	tu_write_file(conf_path,
	              "[daemon]\nsocket = /run/x.sock\n"
	              "[totp]\ntokens = /etc/x.tokens\nwindow = 4\n",
	              0600);
	snprintf(arg, sizeof(arg), "config=%s", conf_path);
	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.socket, "/a/sock");
	assert_string_equal(cfg.tokens, "/a/tokens");
	assert_int_equal(cfg.window, 0);
}

static void test_resolve_push(void **state)
{
	struct pamcfg cfg;
	char arg[160], err[256] = "";
	const char *argv[] = {arg, "failmode=safe"};
	const char *only_push[] = {arg, "factors=push"};

	need_root();
	/* No provider: push is not offered, whatever factors says. */
	tu_write_file(conf_path, "[push]\nfailmode = secure\n", 0644);
	snprintf(arg, sizeof(arg), "config=%s", conf_path);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.factors, PAMCFG_FACTOR_TOTP);
	assert_int_equal(cfg.failmode, PAMCFG_FAILMODE_SECURE);
	assert_int_equal(cfg.push.provider, CONF_PROVIDER_NONE);
	/* ... and push alone cannot work: a config error. */
	assert_int_equal(
	    parse(&cfg, ARGC(only_push), only_push, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), PG_ERR_CONFIG);
	assert_non_null(strstr(err, "factors=push"));
	/* A provider: the file's settings, the arguments on top. */
	tu_write_file(conf_path,
	              "[push]\nprovider = duo\nhost = localhost:8443\n"
	              "ikey = DIX\nskey_file = /etc/k\nfactors = push\n"
	              "push_timeout = 7\nconnect_timeout = 2\n",
	              0644);
	assert_int_equal(parse(&cfg, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.factors, PAMCFG_FACTOR_PUSH);
	assert_int_equal(cfg.failmode, PAMCFG_FAILMODE_SAFE);
	assert_int_equal(cfg.push.provider, CONF_PROVIDER_DUO);
	assert_int_equal(cfg.push.timeout_ms, 7000);
	assert_int_equal(cfg.push.connect_timeout_ms, 2000);
	assert_string_equal(cfg.push.host, "localhost:8443");
	assert_string_equal(cfg.push.skey_file, "/etc/k");
}

static void test_resolve_bad_file(void **state)
{
	struct pamcfg cfg, before;
	char arg[160], link[160], err[256] = "";
	const char *argv[1] = {arg};

	need_root();
	snprintf(arg, sizeof(arg), "config=%s", conf_path);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	before = cfg;

	/* Anyone who can write the file could point the module at their
	 * own daemon socket. */
	tu_write_file(conf_path, "[totp]\nwindow = 2\n", 0666);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
	assert_memory_equal(&cfg, &before, sizeof(cfg));

	tu_write_file(conf_path, "[totp]\nwindow = 2\n", 0644);
	snprintf(link, sizeof(link), "%s/link.conf", tu_tmpdir);
	assert_int_equal(symlink(conf_path, link), 0);
	snprintf(cfg.config, sizeof(cfg.config), "%s", link);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)),
	                 PG_ERR_UNSAFE_FILE);
}

/*
 * A typo in the file costs no login: the daemon's sections are not read,
 * and a broken key of the module's own falls back to its default, with
 * the error kept for the log.
 */
static void test_resolve_broken_keys(void **state)
{
	struct pamcfg cfg;
	char arg[160], want[256], err[256] = "";
	const char *argv[1] = {arg};

	need_root();
	snprintf(arg, sizeof(arg), "config=%s", conf_path);
	/* Before the fix, this refused every login: PG_ERR_CONFIG. */
	tu_write_file(conf_path,
	              "[daemon]\nsocket = /run/x.sock\nmax_clients = 0\n"
	              "[ldap]\nuri = ldap://a\nfrob = 1\n"
	              "[role nurse]\ngroup = Team #5\n"
	              "[totp]\nfrobnicate = 1\nwindow = 2\n",
	              0644);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_conf_errors, 0);
	assert_string_equal(cfg.socket, "/run/x.sock");
	assert_int_equal(cfg.window, 2);

	tu_write_file(conf_path,
	              "[totp]\nwindow = 99\ntokens = /t\n[daemon]\n"
	              "socket = run.sock\n",
	              0644);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.window, 1);
	assert_string_equal(cfg.tokens, "/t");
	assert_string_equal(cfg.socket, PG_DEFAULT_SOCKET);
	assert_int_equal(cfg.n_conf_errors, 2);
	snprintf(want, sizeof(want), "%s:2: window: out of range (0..10)",
	         conf_path);
	assert_string_equal(cfg.conf_errors[0], want);
	snprintf(want, sizeof(want), "%s:5: socket: must be an absolute path",
	         conf_path);
	assert_string_equal(cfg.conf_errors[1], want);

	/* All are counted, the first ones kept. */
	tu_write_file(conf_path,
	              "[totp]\nwindow = a\nwindow = b\nwindow = c\n"
	              "window = d\nwindow = e\nwindow = f\n",
	              0644);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_conf_errors, 6);
	assert_non_null(strstr(cfg.conf_errors[3], ":5: window: duplicate"));
}

static void test_resolve_broken_push(void **state)
{
	struct pamcfg cfg, before;
	char arg[160], err[256] = "";
	const char *argv[1] = {arg};
	const char *only_push[] = {arg, "factors=push"};

	need_root();
	snprintf(arg, sizeof(arg), "config=%s", conf_path);
	/* A [push] with an error is off; TOTP goes on. */
	tu_write_file(conf_path,
	              "[push]\nprovider = duo\nhost = localhost:8443\n"
	              "ikey = DIX\nskey_file = /etc/k\nca_file = ca.pem\n"
	              "failmode = safe\n",
	              0644);
	assert_int_equal(parse(&cfg, 1, argv, err, sizeof(err)), 0);
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_conf_errors, 1);
	assert_int_equal(cfg.push.provider, CONF_PROVIDER_NONE);
	assert_int_equal(cfg.factors, PAMCFG_FACTOR_TOTP);
	assert_int_equal(cfg.failmode, PAMCFG_FAILMODE_SAFE);
	/* Push alone then has nothing to offer: refused, as without a
	 * provider, and *cfg untouched. */
	assert_int_equal(
	    parse(&cfg, ARGC(only_push), only_push, err, sizeof(err)), 0);
	before = cfg;
	assert_int_equal(pamcfg_resolve(&cfg, err, sizeof(err)), PG_ERR_CONFIG);
	assert_non_null(strstr(err, "factors=push"));
	assert_memory_equal(&cfg, &before, sizeof(cfg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_option),
	    cmocka_unit_test(test_later_wins),
	    cmocka_unit_test(test_use_first_pass_wins),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_daemon_timeout),
	    cmocka_unit_test(test_prompt),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_no_token),
	    cmocka_unit_test(test_daemon_down),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_null_argv_entry),
	    cmocka_unit_test(test_factors_failmode),
	    cmocka_unit_test_setup_teardown(test_resolve_push, setup_dir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_broken_keys, setup_dir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_broken_push, setup_dir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_missing_default,
	                                    setup_dir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_missing_explicit,
	                                    setup_dir, tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_from_file, setup_dir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_args_win, setup_dir,
	                                    tu_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_resolve_bad_file, setup_dir,
	                                    tu_teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
