/* SPDX-License-Identifier: BSD-3-Clause */
/* Mapping phiguard error codes to PAM return codes, failing closed. */
#include "config.h"

#include <security/pam_modules.h>

#include "err.h"
#include "result.h"

/* The code that denies in stage when nothing more specific applies. */
static int deny_code(enum result_stage stage)
{
	switch (stage) {
	case RESULT_ACCOUNT:
		return PAM_PERM_DENIED;
	case RESULT_SESSION:
		return PAM_SESSION_ERR;
	case RESULT_AUTH:
	default:
		return PAM_AUTH_ERR;
	}
}

int result_to_pam_stage(enum result_stage stage, int err)
{
	if (err == PG_OK)
		return PAM_SUCCESS;
	if (err == PG_ERR_NOMEM)
		return PAM_BUF_ERR;
	/* pam_open_session(3) and pam_close_session(3) know one failure. */
	if (stage == RESULT_SESSION)
		return PAM_SESSION_ERR;
	switch (err) {
	/* The second factor was not proven; in the account stage: the
	 * daemon refused this user here. */
	case PG_ERR_AUTH:
	case PG_ERR_REPLAY:
	case PG_ERR_LOCKED:
	case PG_ERR_AMBIGUOUS:
		return deny_code(stage);
	/* A name that can never be enrolled; nothing was asked of anyone. */
	case PG_ERR_BAD_USER:
		return PAM_USER_UNKNOWN;
	/*
	 * The information needed to decide is not available: the daemon,
	 * the token store or the config file cannot be used. Stacks may
	 * treat this differently from a refusal (e.g. to alert), with
	 * [authinfo_unavail=...] in either stage.
	 */
	case PG_ERR_UNAVAIL:
	case PG_ERR_TIMEOUT:
	case PG_ERR_CRED:
	case PG_ERR_IO:
	case PG_ERR_PROTO:
	case PG_ERR_TOOLONG:
	case PG_ERR_BUSY:
	case PG_ERR_VERSION:
	case PG_ERR_UNKNOWN_VERB:
	case PG_ERR_MISSING:
	case PG_ERR_PERM:
	case PG_ERR_NOTFOUND:
	case PG_ERR_UNSAFE_FILE:
	case PG_ERR_CONFIG:
		return PAM_AUTHINFO_UNAVAIL;
	/* A bad module argument in the PAM stack itself. */
	case PG_ERR_INVAL:
	case PG_ERR_INTERNAL:
		return PAM_SERVICE_ERR;
	default:
		return deny_code(stage);
	}
}

int result_to_pam(int err)
{
	return result_to_pam_stage(RESULT_AUTH, err);
}
