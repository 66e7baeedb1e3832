/* SPDX-License-Identifier: BSD-3-Clause */
/* The session stage: tell phiguardd a login session opened or closed. */
#include "config.h"

#include "ask_daemon.h"
#include "err.h"
#include "result.h"
#include "session.h"
#include "stage.h"

int session_report(pam_handle_t *pamh, int flags, int argc, const char **argv,
                   int open)
{
	struct stage st;
	int r;

	stage_init(&st, pamh, flags);
	if ((r = stage_setup(&st, argc, argv)) != 0)
		goto out;
	r = ask_session(&st.daemon, &st.it, open);
	ask_release(&st.daemon);
	if (r != 0) {
		st.reason = "daemon";
		stage_detail(&st, "session: %s", pg_strerror(r));
		goto out;
	}
	st.reason = "ok";
out:
	/* The audit trail has a gap either way; only the admin can say
	 * whether that is worth refusing a login or a logout over. */
	return stage_finish(&st, RESULT_SESSION,
	                    open ? "session-open" : "session-close", r);
}
