/* SPDX-License-Identifier: BSD-3-Clause */
/* The one mapping from phiguard error codes to PAM return codes. */
#ifndef PHIGUARD_PAM_RESULT_H
#define PHIGUARD_PAM_RESULT_H

/*
 * PAM return code for err (0 or a negative enum pg_err). 0 is the only
 * value that yields PAM_SUCCESS; a value this function does not know
 * denies with PAM_AUTH_ERR.
 */
int result_to_pam(int err);

#endif
