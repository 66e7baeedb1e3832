/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the authorization answers (daemon/authz/authz_answer.c):
 * cache rules to answers, and when a client waits for the directory,
 * through fake directory operations. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "daemon/authz/authz_answer.h"
#include "daemon/authz/cache.h"
#include "daemon/authz/policy.h"
#include "err.h"

#define BASE "ou=groups,dc=mercy,dc=example"
#define NOW  100000

static const char policy_text[] = "[role supervisor]\n"
                                  "group = cn=Supervisors, " BASE "\n"
                                  "scopes = phi.read phi.write phi.audit\n"
                                  "[role nurse]\n"
                                  "group = nurses\n"
                                  "scopes = phi.read phi.clinical\n"
                                  "[role breakglass]\n"
                                  "group = breakglass\n"
                                  "scopes = phi.all\n"
                                  "breakglass = yes\n";

/* dir_result holds mutable strings, as the directory client allocates. */
static char g0[] = "cn=nurses," BASE;
static char c0[] = "nurses";
static char g1[] = "cn=breakglass," BASE;
static char c1[] = "breakglass";
static char user_dn[] = "uid=nurse1,ou=people,dc=mercy,dc=example";
static struct dir_group nurse_groups[] = {{g0, c0, 0}};
static struct dir_group bg_groups[] = {{g0, c0, 0}, {g1, c1, 0}};
static struct dir_result nurse = {user_dn, nurse_groups, 1, 1,
                                  "ldap://127.0.0.1:1"};
static struct dir_result bgnurse = {user_dn, bg_groups, 2, 1,
                                    "ldap://127.0.0.1:1"};

/* The fake directory: one cache, and what the builder asked of it. */
struct fake {
	struct pg_cache *cache;
	int wait_rc; /* what wait returns */
	int waits, refreshes;
	int store, wait_ms; /* of the last wait */
	struct pg_conf conf;
	struct authz_view view;
};

static struct cache_entry *fake_find(void *arg, const char *user)
{
	struct fake *f = arg;

	return cache_find(f->cache, user);
}

static int fake_wait(void *arg, const struct authz_query *q, int store,
                     int wait_ms)
{
	struct fake *f = arg;

	(void)q;
	f->waits++;
	f->store = store;
	f->wait_ms = wait_ms;
	return f->wait_rc;
}

static void fake_refresh(void *arg, const char *user)
{
	struct fake *f = arg;

	(void)user;
	f->refreshes++;
}

static int setup(void **state)
{
	static struct fake f;
	char err[PG_CONF_ERRLEN];

	memset(&f, 0, sizeof(f));
	conf_defaults(&f.conf);
	assert_int_equal(conf_parse("t.conf", policy_text, strlen(policy_text),
	                            &f.conf, err, sizeof(err)),
	                 0);
	assert_int_equal(
	    policy_new(&f.conf, "ws1", &f.view.policy, err, sizeof(err)), 0);
	assert_int_equal(cache_new(&f.cache), 0);
	f.view.gen = 1;
	f.view.online = 1;
	f.view.ttls.ttl = 300;
	f.view.ttls.negative_ttl = 15;
	f.view.ttls.login_refresh = 60;
	f.view.ttls.offline_grace = 28800;
	snprintf(f.view.uris[0], sizeof(f.view.uris[0]), "ldap://127.0.0.1:1");
	f.view.nuris = 1;
	f.wait_rc = AUTHZ_PARKED;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	cache_free(f->cache);
	policy_free(f->view.policy);
	return 0;
}

static int ask(struct fake *f, enum authz_kind kind, const char *scope,
               struct pg_msg *resp)
{
	const struct authz_dirops ops = {fake_find, fake_wait, fake_refresh, f};
	struct authz_query q = {kind, "nurse1", scope, NOW, 7};

	proto_msg_init(resp, PG_VERB_OK);
	return authz_answer_query(&f->view, &ops, &q, resp);
}

static void store(struct fake *f, const struct dir_result *r, int64_t age)
{
	assert_int_equal(cache_store(f->cache, "nurse1", r, 0, NOW - age, NULL),
	                 0);
}

static void test_login_from_cache(void **state)
{
	struct fake *f = *state;
	struct pg_msg resp;

	store(f, &nurse, 10);
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "yes");
	assert_string_equal(proto_get(&resp, "role"), "nurse");
	assert_string_equal(proto_get(&resp, "source"), "cache");
	assert_string_equal(proto_get(&resp, "age"), "10");
	assert_null(proto_get(&resp, "breakglass"));
	assert_int_equal(f->waits + f->refreshes, 0);
}

static void test_check(void **state)
{
	struct fake *f = *state;
	struct pg_msg resp;

	store(f, &bgnurse, 10);
	assert_int_equal(ask(f, AUTHZ_CHECK, "phi.read", &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "yes");
	assert_null(proto_get(&resp, "breakglass"));
	assert_int_equal(ask(f, AUTHZ_CHECK, "phi.all", &resp), 0);
	assert_string_equal(proto_get(&resp, "breakglass"), "phi.all");
	assert_int_equal(ask(f, AUTHZ_CHECK, "phi.audit", &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "no");
	assert_string_equal(proto_get(&resp, "reason"), "no-rule");
	assert_int_equal(ask(f, AUTHZ_CHECK, "no.such", &resp), 0);
	assert_string_equal(proto_get(&resp, "reason"), "no-rule");
	/* CHECK never waits: past login_refresh it is answered from the
	 * cache. */
	assert_int_equal(f->waits, 0);
}

static void test_miss_parks(void **state)
{
	struct fake *f = *state;
	struct pg_msg resp;

	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), AUTHZ_PARKED);
	assert_int_equal(f->waits, 1);
	assert_int_equal(f->store, 1);
	assert_int_equal(f->wait_ms, 0);
	/* EXPLAIN of an uncached user does not fill the cache. */
	assert_int_equal(ask(f, AUTHZ_EXPLAIN, NULL, &resp), AUTHZ_PARKED);
	assert_int_equal(f->store, 0);
	/* No lookup could be queued: no memory. */
	f->wait_rc = 0;
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), PG_ERR_NOMEM);
}

static void test_login_refresh(void **state)
{
	struct fake *f = *state;
	struct pg_msg resp;

	/* Past login_refresh: the login waits for the directory, a
	 * little. */
	store(f, &nurse, 90);
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), AUTHZ_PARKED);
	assert_int_equal(f->wait_ms, AUTHZ_LOGIN_REFRESH_MS);
	assert_int_equal(f->store, 1);
	/* It cannot: answered from the cache, refreshed behind. */
	f->wait_rc = 0;
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "source"), "cache");
	assert_int_equal(f->refreshes, 1);
	/* Past ttl, CHECK is answered too and refreshed behind. */
	store(f, &nurse, 400);
	assert_int_equal(ask(f, AUTHZ_CHECK, "phi.read", &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "yes");
	assert_int_equal(f->refreshes, 2);
}

static void test_negative_and_offline(void **state)
{
	struct fake *f = *state;
	struct pg_msg resp;

	assert_int_equal(cache_store_negative(f->cache, "nurse1", NOW - 1,
	                                      CACHE_NEG_AMBIGUOUS),
	                 0);
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "no");
	assert_string_equal(proto_get(&resp, "reason"), "ambiguous-user");
	assert_int_equal(ask(f, AUTHZ_EXPLAIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "found"), "no");
	/* Offline: stale within offline_grace, refused beyond. */
	f->view.online = 0;
	store(f, &nurse, 1000);
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "yes");
	assert_string_equal(proto_get(&resp, "source"), "stale");
	store(f, &nurse, 30000);
	assert_int_equal(ask(f, AUTHZ_LOGIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "allowed"), "no");
	assert_string_equal(proto_get(&resp, "reason"),
	                    "directory-unreachable");
	assert_string_equal(proto_get(&resp, "source"), "stale");
	assert_int_equal(f->waits, 0);
}

static void test_after_lookup(void **state)
{
	struct fake *f = *state;
	struct authz_query q = {AUTHZ_LOGIN, "nurse1", "", NOW, 7};
	struct pg_msg resp;

	/* Found: fresh. */
	store(f, &nurse, 0);
	assert_int_equal(
	    authz_answer_after_lookup(&f->view, &q, 0,
	                              cache_find(f->cache, "nurse1"), &resp),
	    0);
	assert_string_equal(proto_get(&resp, "source"), "fresh");
	/* Failed, nothing cached: unreachable, source none. */
	assert_int_equal(authz_answer_after_lookup(&f->view, &q, PG_ERR_UNAVAIL,
	                                           NULL, &resp),
	                 0);
	assert_string_equal(proto_get(&resp, "reason"),
	                    "directory-unreachable");
	assert_string_equal(proto_get(&resp, "source"), "none");
	/* Failed, an entry within the rules: the cache's. */
	assert_int_equal(
	    authz_answer_after_lookup(&f->view, &q, PG_ERR_TIMEOUT,
	                              cache_find(f->cache, "nurse1"), &resp),
	    0);
	assert_string_equal(proto_get(&resp, "allowed"), "yes");
	assert_string_equal(proto_get(&resp, "source"), "cache");
	/* EXPLAIN with no entry at all. */
	q.kind = AUTHZ_EXPLAIN;
	assert_int_equal(authz_answer_after_lookup(&f->view, &q, PG_ERR_UNAVAIL,
	                                           NULL, &resp),
	                 0);
	assert_string_equal(proto_get(&resp, "found"), "no");
	assert_string_equal(proto_get(&resp, "source"), "none");
}

static void test_explain(void **state)
{
	struct fake *f = *state;
	struct pg_msg resp;

	store(f, &bgnurse, 5);
	assert_int_equal(ask(f, AUTHZ_EXPLAIN, NULL, &resp), 0);
	assert_string_equal(proto_get(&resp, "found"), "yes");
	assert_string_equal(proto_get(&resp, "dn"), user_dn);
	assert_string_equal(proto_get(&resp, "groups"),
	                    "cn=nurses," BASE "\ncn=breakglass," BASE);
	assert_string_equal(proto_get(&resp, "rules"),
	                    "phi.read nurse\nphi.clinical nurse\n"
	                    "phi.all breakglass");
	assert_string_equal(proto_get(&resp, "server"), "ldap://127.0.0.1:1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_login_from_cache, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_miss_parks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_refresh, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_negative_and_offline, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_after_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_explain, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
