/* SPDX-License-Identifier: BSD-3-Clause */
/* Whom phiguardd runs as, for the files it reads as itself. */
#include "config.h"

#include <unistd.h>

#include "client.h"
#include "err.h"
#include "core/peer.h"
#include "core/runas.h"

int runas_file_owner(const struct pg_conf *conf, struct runas_owner *out)
{
	struct runas_owner o = {geteuid(), 0, NULL, "the user running this"};
	gid_t gid;
	int rc;

	if (o.uid != 0)
		goto done;
	if (conf->user[0] != '\0') {
		if ((rc = peer_user_ids(conf->user, &o.uid, &gid)) != 0)
			return rc;
		o.name = conf->user;
		o.why = "the [daemon] user phiguardd switches to";
		goto done;
	}
	/* Under the shipped unit the daemon is started as this user,
	 * without a [daemon] user; root's own --check-config must not
	 * refuse that setup (nor a daemon root starts by hand). */
	o.name = "root";
	o.why = "no [daemon] user: phiguardd stays as root starts it";
	if (peer_user_ids(PG_DAEMON_USER, &o.uid, &gid) == 0) {
		o.root_too = 1;
		o.name = PG_DAEMON_USER;
		o.why = "no [daemon] user: phiguardd runs as whoever starts "
		        "it, root or (phiguardd.service) " PG_DAEMON_USER;
	}
done:
	*out = o;
	return 0;
}
