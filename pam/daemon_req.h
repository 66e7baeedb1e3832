/* SPDX-License-Identifier: BSD-3-Clause */
/* The module's requests to phiguardd (PREAUTH, CLAIM, REPORT; see
 * common/proto.h), each on its own connection and within one deadline. */
#ifndef PHIGUARD_PAM_DAEMON_REQ_H
#define PHIGUARD_PAM_DAEMON_REQ_H

#include <stdint.h>
#include <sys/types.h>

#include "conv.h"

#define DAEMON_REQ_USER                                                        \
	"phiguard" /* the unprivileged uid phiguardd may run as */

/* How to reach the daemon, and whom to believe is the daemon. */
struct daemon_req {
	const char *socket; /* borrowed */
	int timeout_ms;     /* bound on one whole request, connect included */
	uid_t trusted[2];
	size_t n_trusted;
};

/*
 * Set up *d. The daemon's peer uid must be root or, if the user exists,
 * DAEMON_REQ_USER. socket is borrowed and must outlive *d.
 */
void daemon_req_init(struct daemon_req *d, const char *socket, int timeout_ms);

/*
 * PREAUTH: is the user locked out? Returns 0 and sets *locked_until to 0
 * (not locked) or to the end of the lockout (unix seconds). Errors: the
 * pg_client ones (PG_ERR_UNAVAIL, PG_ERR_TIMEOUT, PG_ERR_CRED, ...), or
 * the ERR code the daemon answered with.
 */
int daemon_preauth(const struct daemon_req *d, const struct pam_items *it,
                   int64_t *locked_until);

/*
 * CLAIM the step starting at unix time step_start for the user. Returns 0 if claimed, PG_ERR_REPLAY, or
 * PG_ERR_LOCKED with *locked_until set (0 if the daemon gave no time);
 * else the transport or daemon errors as for daemon_preauth().
 */
int daemon_claim(const struct daemon_req *d, const struct pam_items *it,
                 uint64_t step_start, int64_t *locked_until);

/*
 * REPORT the outcome of one attempt (factor "totp"; reason a short token
 * such as "bad-code", never a secret). Returns 0 and sets *locked_until
 * as for daemon_preauth() (a failure may just have locked the user), or
 * the errors of daemon_preauth().
 */
int daemon_report(const struct daemon_req *d, const struct pam_items *it,
                  const char *factor, int success, const char *reason,
                  int64_t *locked_until);

#endif
