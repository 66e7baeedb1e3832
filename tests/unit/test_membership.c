/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for which membership attributes a mode searches
 * (daemon/authz/membership.c) and when a timed search counts as
 * unindexed (daemon/authz/indexprobe.c). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/authz/indexprobe.h"
#include "daemon/authz/membership.h"

#define ALL (MEMBERSHIP_MEMBER | MEMBERSHIP_UNIQUEMEMBER | MEMBERSHIP_MEMBERUID)

static void test_direct(void **state)
{
	(void)state;
	/* auto searches what the groups use, and nothing else. */
	assert_int_equal(membership_direct(CONF_MEMBERSHIP_AUTO, ALL), ALL);
	assert_int_equal(
	    membership_direct(CONF_MEMBERSHIP_AUTO, MEMBERSHIP_MEMBER),
	    MEMBERSHIP_MEMBER);
	assert_int_equal(membership_direct(CONF_MEMBERSHIP_AUTO, 0), 0);
	/* member: the DN-valued ones found. */
	assert_int_equal(membership_direct(CONF_MEMBERSHIP_MEMBER, ALL),
	                 MEMBERSHIP_BY_DN);
	assert_int_equal(
	    membership_direct(CONF_MEMBERSHIP_MEMBER, MEMBERSHIP_UNIQUEMEMBER),
	    MEMBERSHIP_UNIQUEMEMBER);
	/* memberuid is configured: searched even if not found. */
	assert_int_equal(membership_direct(CONF_MEMBERSHIP_MEMBERUID, 0),
	                 MEMBERSHIP_MEMBERUID);
	assert_int_equal(membership_direct(CONF_MEMBERSHIP_MEMBEROF, ALL), 0);
}

static void test_nested(void **state)
{
	(void)state;
	assert_int_equal(membership_nested(CONF_MEMBERSHIP_AUTO, ALL),
	                 MEMBERSHIP_BY_DN);
	assert_int_equal(
	    membership_nested(CONF_MEMBERSHIP_MEMBERUID, MEMBERSHIP_MEMBER),
	    MEMBERSHIP_MEMBER);
	assert_int_equal(
	    membership_nested(CONF_MEMBERSHIP_AUTO, MEMBERSHIP_MEMBERUID), 0);
	assert_int_equal(membership_nested(CONF_MEMBERSHIP_MEMBEROF, ALL), 0);
	assert_false(membership_needs_discovery(CONF_MEMBERSHIP_MEMBEROF));
	assert_true(membership_needs_discovery(CONF_MEMBERSHIP_AUTO));
}

static void test_describe(void **state)
{
	char buf[64], small[8];

	(void)state;
	membership_describe(ALL, buf, sizeof buf);
	assert_string_equal(buf, "member,uniqueMember,memberUid");
	membership_describe(MEMBERSHIP_UNIQUEMEMBER, buf, sizeof buf);
	assert_string_equal(buf, "uniqueMember");
	membership_describe(0, buf, sizeof buf);
	assert_string_equal(buf, "none");
	membership_describe(ALL, small, sizeof small);
	assert_true(strlen(small) < sizeof small);
}

static void test_slow(void **state)
{
	(void)state;
	/* Both the ratio and the floor must hold. */
	assert_true(indexprobe_slow(200, 32000));
	assert_true(indexprobe_slow(200, 200 + INDEXPROBE_FLOOR_US));
	assert_false(indexprobe_slow(200, 200 + INDEXPROBE_FLOOR_US - 1));
	/* A slow server: every search slow, none far slower. */
	assert_false(indexprobe_slow(5000, 20000));
	assert_true(indexprobe_slow(5000, 5000 * INDEXPROBE_RATIO));
	/* A small directory: 5x a fast round trip, under the floor. */
	assert_false(indexprobe_slow(50, 900));
	assert_true(indexprobe_slow(0, 2000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_direct),
	    cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_slow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
