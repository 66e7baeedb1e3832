/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the directory cache (daemon/authz/cache.c): storage, flushes,
 * growth, memory per entry and the ttl / grace rules. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/authz/cache.h"
#include "err.h"

/* dir_result holds mutable strings, as the directory client allocates. */
static char g0[] = "cn=nurses,ou=groups,dc=mercy,dc=example";
static char c0[] = "nurses";
static char g1[] = "cn=clinical-staff,ou=groups,dc=mercy,dc=example";
static char c1[] = "clinical-staff";
static char g2[] = "cn=odd,ou=groups,dc=mercy,dc=example";
static char user_dn[] = "uid=nurse1,ou=people,dc=mercy,dc=example";

static struct dir_group nurse_groups[] = {
    {g0, c0, 0},
    {g1, c1, 1},
    {g2, NULL, 1},
};

static struct dir_result nurse = {user_dn, nurse_groups, 3, 2,
                                  "ldap://127.0.0.1:1"};

static const struct cache_ttls ttls = {300, 15, 60, 28800};

static void test_store_find(void **state)
{
	struct pg_cache *c = NULL;
	struct cache_entry *e = NULL;
	struct policy_group g[4];

	(void)state;
	assert_int_equal(cache_new(&c), 0);
	assert_null(cache_find(c, "nurse1"));
	assert_int_equal(cache_store(c, "nurse1", &nurse, 1, 1000, &e), 0);
	assert_ptr_equal(cache_find(c, "nurse1"), e);
	assert_string_equal(e->dn, nurse.user_dn);
	assert_int_equal(e->server, 1);
	assert_int_equal(e->fetched_at, 1000);
	assert_int_equal(cache_groups(e, g, 4), 3);
	assert_string_equal(g[1].dn, nurse_groups[1].dn);
	assert_string_equal(g[1].cn, "clinical-staff");
	assert_null(g[2].cn);
	assert_int_equal(cache_groups(e, g, 2), 2);

	/* A refresh replaces the groups but remembers when it was asked. */
	e->seen_at = 1100;
	nurse.ngroups = 1;
	assert_int_equal(cache_store(c, "nurse1", &nurse, 0, 2000, &e), 0);
	nurse.ngroups = 3;
	assert_int_equal(cache_count(c), 1);
	assert_int_equal(e->ngroups, 1);
	assert_int_equal(e->seen_at, 1100);
	assert_int_equal(e->fetched_at, 2000);

	assert_int_equal(
	    cache_store_negative(c, "ghost", 2000, CACHE_NEG_UNKNOWN), 0);
	assert_true(cache_find(c, "ghost")->negative);
	assert_null(cache_find(c, "ghost")->dn);
	assert_int_equal(cache_count(c), 2);
	assert_int_equal(cache_flush_negative(c), 1);
	assert_null(cache_find(c, "ghost"));
	assert_int_equal(cache_flush(c, "nobody"), 0);
	assert_int_equal(cache_flush(c, "nurse1"), 1);
	assert_int_equal(cache_count(c), 0);
	cache_free(c);
	cache_free(NULL);
}

static int count_one(struct cache_entry *e, void *arg)
{
	(void)e;
	++*(size_t *)arg;
	return 0;
}

/* Many users: growth keeps every entry findable, and an entry of a
 * typical agent stays far below the 1 KiB per user target. */
static void test_many(void **state)
{
	struct pg_cache *c = NULL;
	char user[32];
	size_t i, seen = 0, base;

	(void)state;
	assert_int_equal(cache_new(&c), 0);
	base = cache_bytes(c);
	for (i = 0; i < 10000; i++) {
		snprintf(user, sizeof(user), "agent%zu", i);
		assert_int_equal(cache_store(c, user, &nurse, 0, 1, NULL), 0);
	}
	assert_int_equal(cache_count(c), 10000);
	/* Every entry, found under its own name (the stored hash survives
	 * each growth), and not under a name one byte off. */
	for (i = 0; i < 10000; i++) {
		snprintf(user, sizeof(user), "agent%zu", i);
		assert_non_null(cache_find(c, user));
		assert_string_equal(cache_find(c, user)->user, user);
		user[strlen(user) - 1] ^= 0x40;
		assert_null(cache_find(c, user));
	}
	assert_null(cache_find(c, "agent10000"));
	assert_null(cache_find(c, "agent"));
	cache_each(c, count_one, &seen);
	assert_int_equal(seen, 10000);
	assert_true((cache_bytes(c) - base) / 10000 < 512);
	assert_int_equal(cache_flush(c, NULL), 10000);
	assert_int_equal(cache_count(c), 0);
	cache_each(c, count_one, &seen);
	assert_int_equal(seen, 10000);
	cache_free(c);
}

static void test_judge(void **state)
{
	struct cache_entry e;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(cache_judge(NULL, 0, &ttls, 1, 1), CACHE_MISS);
	e.fetched_at = 1000;
	/* Online: fresh, then refreshed at login, then by ttl. */
	assert_int_equal(cache_judge(&e, 1059, &ttls, 1, 1), CACHE_SERVE);
	assert_int_equal(cache_judge(&e, 1060, &ttls, 1, 1), CACHE_REFRESH);
	assert_int_equal(cache_judge(&e, 1299, &ttls, 1, 0), CACHE_SERVE);
	assert_int_equal(cache_judge(&e, 1300, &ttls, 1, 0), CACHE_REFRESH);
	/* A clock stepped back does not make an entry unusable. */
	assert_int_equal(cache_judge(&e, 10, &ttls, 1, 1), CACHE_SERVE);
	/* Offline: stale for offline_grace from the fetch, then nothing. */
	assert_int_equal(cache_judge(&e, 1001, &ttls, 0, 1), CACHE_STALE);
	assert_int_equal(cache_judge(&e, 1000 + 28799, &ttls, 0, 0),
	                 CACHE_STALE);
	assert_int_equal(cache_judge(&e, 1000 + 28800, &ttls, 0, 0),
	                 CACHE_EXPIRED);
	/* Negative entries: negative_ttl, online or not. */
	e.negative = 1;
	assert_int_equal(cache_judge(&e, 1014, &ttls, 1, 1), CACHE_SERVE);
	assert_int_equal(cache_judge(&e, 1014, &ttls, 0, 1), CACHE_SERVE);
	assert_int_equal(cache_judge(&e, 1015, &ttls, 1, 1), CACHE_MISS);
	assert_int_equal(cache_judge(&e, 1015, &ttls, 0, 0), CACHE_MISS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_find),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_judge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
