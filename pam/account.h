/* SPDX-License-Identifier: BSD-3-Clause */
/* The account stage of pam_phiguard: role-based PHI access from phiguardd. */
#ifndef PHIGUARD_PAM_ACCOUNT_H
#define PHIGUARD_PAM_ACCOUNT_H

#include <security/pam_modules.h>

/*
 * Everything pam_sm_acct_mgmt does: arguments, items, one AUTHZ request,
 * one log line. Allowed: PAM_SUCCESS with PHIGUARD_SCOPES and
 * PHIGUARD_ROLE set by pam_putenv (both or neither). Refused by the
 * daemon: PAM_PERM_DENIED and a PAM_ERROR_MSG per reason. Daemon not
 * reachable: PAM_AUTHINFO_UNAVAIL, or PAM_IGNORE under daemon_down=ignore.
 * A bad answer denies; the environment is touched only on PAM_SUCCESS.
 */
int account_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
                      const char **argv);

#endif
