/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_phiguard.so's entry points; the work lives in libpgpam (auth.c,
 * account.c, session.c). */
#include "config.h"

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_modules.h>

#include "account.h"
#include "auth.h"
#include "session.h"

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                                   const char **argv)
{
	return auth_authenticate(pamh, flags, argc, argv);
}

/* The second factor establishes no credentials of its own. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
                              const char **argv)
{
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
                                const char **argv)
{
	return account_acct_mgmt(pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
                                   const char **argv)
{
	return session_report(pamh, flags, argc, argv, 1);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
                                    const char **argv)
{
	return session_report(pamh, flags, argc, argv, 0);
}
