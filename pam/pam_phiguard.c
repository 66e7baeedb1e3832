/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_phiguard.so's entry points; the work lives in libpgpam (auth.c). */
#include "config.h"

#define PAM_SM_AUTH
#include <security/pam_modules.h>

#include "auth.h"

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
