/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for daemon/core/peer.c: a name resolves to a uid only if the name
 * service's entry carries that name exactly. getpwnam_r is wrapped
 * (-Wl,--wrap) to play a name service that ignores case. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "daemon/core/peer.h"
#include "err.h"

int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                      size_t size, struct passwd **res);

/* One account, "nobody" (uid 65534), found by any case of its name. */
int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                      size_t size, struct passwd **res)
{
	*res = NULL;
	if (strcasecmp(name, "nobody") != 0)
		return 0;
	if (size < sizeof("nobody"))
		return ERANGE;
	memset(pw, 0, sizeof(*pw));
	memcpy(buf, "nobody", sizeof("nobody"));
	pw->pw_name = buf;
	pw->pw_uid = 65534;
	pw->pw_gid = 65534;
	*res = pw;
	return 0;
}

static void test_exact_name(void **state)
{
	uid_t uid = 1;
	gid_t gid = 1;

	(void)state;
	assert_int_equal(peer_user_ids("nobody", &uid, &gid), 0);
	assert_int_equal(uid, 65534);
	uid = 1;
	assert_int_equal(peer_user_ids("Nobody", &uid, &gid), PG_ERR_NOTFOUND);
	assert_int_equal(peer_user_ids("NOBODY", &uid, &gid), PG_ERR_NOTFOUND);
	assert_int_equal(uid, 1);
}

/* The local nobody may ask about itself, never about "Nobody". */
static void test_may_ask(void **state)
{
	struct pg_peer p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.uid = 65534;
	assert_int_equal(peer_may_ask(&p, "nobody"), 0);
	assert_int_equal(peer_may_ask(&p, "Nobody"), PG_ERR_PERM);
	assert_int_equal(peer_may_ask(&p, "someone"), PG_ERR_PERM);
	p.uid = 0;
	assert_int_equal(peer_may_ask(&p, "Nobody"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_name),
	    cmocka_unit_test(test_may_ask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
