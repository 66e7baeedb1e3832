/* SPDX-License-Identifier: BSD-3-Clause */
/* The session stage of pam_phiguard: open and close reported for the audit. */
#ifndef PHIGUARD_PAM_SESSION_H
#define PHIGUARD_PAM_SESSION_H

#include <security/pam_modules.h>

/*
 * What pam_sm_open_session (open != 0) and pam_sm_close_session do:
 * arguments, items, one SESSION request, one log line. Returns
 * PAM_SUCCESS once the daemon acknowledged, PAM_IGNORE if it could not be
 * reached under daemon_down=ignore, else PAM_SESSION_ERR (PAM_BUF_ERR).
 */
int session_report(pam_handle_t *pamh, int flags, int argc, const char **argv,
                   int open);

#endif
