/* SPDX-License-Identifier: BSD-3-Clause */
/* The auth stage of pam_phiguard: the TOTP second factor, end to end. */
#ifndef PHIGUARD_PAM_AUTH_H
#define PHIGUARD_PAM_AUTH_H

#include <security/pam_modules.h>

/*
 * Everything pam_sm_authenticate does: arguments, items, PREAUTH, the
 * user's tokens, one prompt, liboath, CLAIM, REPORT, one log line.
 * Returns PAM_SUCCESS only for a fresh, correct code; PAM_IGNORE only for
 * a user without tokens under no_token=ignore; every other outcome
 * denies (see pam_phiguard(8) for which code when). Every buffer that
 * held the answer or a secret is wiped before returning.
 */
int auth_authenticate(pam_handle_t *pamh, int flags, int argc,
                      const char **argv);

#endif
