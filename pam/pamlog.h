/* SPDX-License-Identifier: BSD-3-Clause */
/* The module's log lines: pam_syslog (LOG_AUTHPRIV), one fixed-shape line
 * per outcome, values escaped, never a code, an answer or a secret. */
#ifndef PHIGUARD_PAM_PAMLOG_H
#define PHIGUARD_PAM_PAMLOG_H

#include <stddef.h>
#include <security/pam_modules.h>

#include "conv.h"

#define PAMLOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * Log the outcome of one stage as
 *   event; user=U; service=S; rhost=R; tty=T; result=RES; reason=WHY
 * with "; detail=D" (free text, spaces kept) appended when detail is not
 * NULL. Values are escaped (bytes outside 0x21..0x7e, '\\' and ';' as
 * \xNN; "" as "-") and cut to about 250 bytes marked "...", so a hostile
 * user name can neither forge nor split a line.
 */
void pamlog_outcome(pam_handle_t *pamh, int priority, const char *event,
                    const struct pam_items *it, const char *result,
                    const char *reason, const char *detail);

/* A diagnostic line (e.g. skipped token store lines) at priority. */
void pamlog_msg(pam_handle_t *pamh, int priority, const char *fmt, ...)
    PAMLOG_PRINTF(3, 4);

/* A LOG_DEBUG line, only when debug is set. */
void pamlog_debug(pam_handle_t *pamh, int debug, const char *fmt, ...)
    PAMLOG_PRINTF(3, 4);

/*
 * Escape s into out (outsz >= 8 bytes, NUL-terminated) as pamlog_outcome
 * does, keeping spaces if keep_space (for free text such as a detail);
 * returns out. For values put into pamlog_msg lines.
 */
const char *pamlog_escape(const char *s, int keep_space, char *out,
                          size_t outsz);

#endif
