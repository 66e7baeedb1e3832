/* SPDX-License-Identifier: BSD-3-Clause */
/* The one mapping from phiguard error codes to PAM return codes. */
#ifndef PHIGUARD_PAM_RESULT_H
#define PHIGUARD_PAM_RESULT_H

/* The PAM stage a code is returned from: each has its own vocabulary. */
enum result_stage {
	RESULT_AUTH = 0,
	RESULT_ACCOUNT,
	RESULT_SESSION,
};

/*
 * PAM return code for err (0 or a negative enum pg_err) in stage. 0 is
 * the only value that yields PAM_SUCCESS, and no value yields PAM_IGNORE
 * (daemon_down=ignore is the caller's decision). In the account stage
 * PG_ERR_AUTH means "the daemon answered allowed=no" (PAM_PERM_DENIED);
 * a daemon that cannot be asked or answers wrongly is
 * PAM_AUTHINFO_UNAVAIL, as in the auth stage. The session stage answers
 * PAM_SESSION_ERR for every failure but PG_ERR_NOMEM. A value this
 * function does not know denies: PAM_AUTH_ERR, PAM_PERM_DENIED or
 * PAM_SESSION_ERR.
 */
int result_to_pam_stage(enum result_stage stage, int err);

/* result_to_pam_stage(RESULT_AUTH, err). */
int result_to_pam(int err);

#endif
